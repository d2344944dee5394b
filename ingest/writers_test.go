package ingest_test

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// largeStudy is a DM file of subjects subjects and an LB file of perSubject
// results each.
func largeStudy(subjects, perSubject int) (dm, lb string) {
	var d, l strings.Builder
	d.WriteString(`"STUDYID","DOMAIN","USUBJID","SITEID","SEX","AGE","RFICDTC","RFXSTDTC"` + "\n")
	l.WriteString(lbHeader)
	for s := range subjects {
		fmt.Fprintf(&d, `"S1","DM","S1-%05d","701","F",63,"2014-01-01","2014-01-02"`+"\n", s)
		for seq := 1; seq <= perSubject; seq++ {
			fmt.Fprintf(&l, `"S1","LB","S1-%05d",%d,"ALT","Alanine Aminotransferase",%d,"U/L",6,34,"2014-01-16","WEEK 2"`+"\n", s, seq, 10+seq%50)
		}
	}
	return d.String(), l.String()
}

// A large upload takes the database's write lock a chunk at a time: other
// writes — a check's findings, a status change, a login — complete while
// it is stored rather than after it (on SQLite they waited for all of it,
// and failed once it took longer than their deadline), and no reader sees
// any of it until all of it is there.
func TestShortWritesGoOnDuringALargeUpload(t *testing.T) {
	subjects, perSubject := 1000, 300 // 300,000 lab results: seconds to store
	if testing.Short() || raceEnabled {
		subjects = 250
	}
	dmCSV, lbCSV := largeStudy(subjects, perSubject)
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		local := openLocal(t, db)
		if _, err := db.ExecContext(ctx, `CREATE TABLE probe_writes (n INTEGER NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		type outcome struct {
			res ingest.Result
			err error
		}
		uploaded := make(chan outcome, 1)
		started := time.Now()
		go func() { // ends when the upload is stored or fails; the loop below waits for it
			res, err := ingest.IngestFiles(auth.WithSystem(ctx), local, "S1",
				[]ingest.File{memFile("dm.csv", dmCSV), memFile("lb.csv", lbCSV)}, ingest.DefaultChunk, time.Now())
			uploaded <- outcome{res, err}
		}()
		var during, slowest time.Duration
		var writes int
		var out outcome
	probing:
		for n := 0; ; n++ {
			select {
			case out = <-uploaded:
				break probing
			default:
			}
			// A short write. Its deadline only ends the test: what it
			// shows is how long the write waited, against the upload's
			// time (the race detector slows SQLite's chunks to seconds).
			began := time.Now()
			wctx, cancel := context.WithTimeout(ctx, time.Minute)
			err := db.InTx(wctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(wctx, `INSERT INTO probe_writes (n) VALUES ($1)`, n)
				return err
			})
			cancel()
			if err != nil {
				t.Fatalf("a short write %v into the upload: %v", time.Since(started), err)
			}
			slowest = max(slowest, time.Since(began))
			writes++
			// Nothing of the upload shows before all of it does.
			var visible int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM lab_results_view WHERE study = 'S1'`).Scan(&visible); err != nil {
				t.Fatal(err)
			}
			select {
			case out = <-uploaded:
				break probing
			default:
			}
			if visible != 0 {
				t.Fatalf("%d of the upload's lab results visible before it was stored", visible)
			}
			during = time.Since(started)
		}
		if out.err != nil {
			t.Fatal(out.err)
		}
		took := time.Since(started)
		if got := out.res.Domains["LB"].Inserted; got != subjects*perSubject {
			t.Fatalf("upload stored %d lab results, want %d", got, subjects*perSubject)
		}
		var visible int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM lab_results_view WHERE study = 'S1'`).Scan(&visible); err != nil || visible != subjects*perSubject {
			t.Fatalf("%d lab results visible once stored (%v), want %d", visible, err, subjects*perSubject)
		}
		t.Logf("upload of %d lab results took %v; %d short writes completed within its first %v, the slowest in %v",
			subjects*perSubject, took.Round(time.Millisecond), writes, during.Round(time.Millisecond), slowest.Round(time.Millisecond))
		// Completed while the upload was stored, not queued behind it: a
		// write that waited for an upload stored in one transaction took about
		// as long as the upload.
		if writes < 5 || slowest > took/2 {
			t.Errorf("%d short writes completed during an upload of %v, the slowest in %v; want them to go on beside it", writes, took, slowest)
		}
	})
}
