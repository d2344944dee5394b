package ingest_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker/labs"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/pilotdata"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// sameLabs fails unless the lab results the upload's checker store gives
// for each subject, from its snapshots, are those a store that holds none
// reads from the database.
func sameLabs(t *testing.T, db *sqldb.DB, store *labs.Store, study string, subjects ...string) {
	t.Helper()
	ctx := auth.WithSystem(context.Background())
	fresh, err := labs.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range subjects {
		got, err := store.Labs(ctx, study, id)
		if err != nil {
			t.Fatal(err)
		}
		want, err := fresh.Labs(ctx, study, id)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("subject %s: the checks get\n%+v\nthe database holds\n%+v", id, got, want)
		}
	}
}

func snapshotStats(t *testing.T, store *labs.Store, wantHits, wantMisses int64) {
	t.Helper()
	if hits, misses := store.SnapshotStats(); hits != wantHits || misses != wantMisses {
		t.Errorf("%d snapshot hits and %d misses, want %d and %d", hits, misses, wantHits, wantMisses)
	}
}

// An upload giving subjects their first lab results hands them to the
// checks it queues, which read none back; once another upload or another
// process changes them, the checks read them again.
func TestUploadHandsFirstLabsToChecks(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := auth.WithSystem(context.Background())
		local := openLocal(t, db)
		local.HandOffLabs = true
		store := local.Labs()
		// Rows alternate between the two subjects, over parts of 10 rows.
		if _, err := ingest.IngestFiles(ctx, local, "S1", []ingest.File{memFile("dm.csv", dm), memFile("lb.csv", lbFile(40, nil))}, 40, time.Now()); err != nil {
			t.Fatal(err)
		}
		sameLabs(t, db, store, "S1", "S1-001", "S1-002")
		snapshotStats(t, store, 2, 0)

		// A later upload changes a row of a subject with lab results: it
		// hands nothing over, and the checks read the subject's anew.
		changed := lbFile(40, func(i int, row []string) {
			if i == 33 {
				row[6] = "250"
			}
		})
		if _, err := ingest.IngestFiles(ctx, local, "S1", []ingest.File{memFile("lb.csv", changed)}, 40, time.Now()); err != nil {
			t.Fatal(err)
		}
		sameLabs(t, db, store, "S1", "S1-002", "S1-001")
		snapshotStats(t, store, 3, 1)
		got, _ := store.Labs(ctx, "S1", "S1-002")
		if got[16].Value != 250 {
			t.Errorf("S1-002's LBSEQ 17 after the change: %+v", got[16])
		}

		// Another process changes a row (its store is not this one).
		other, err := labs.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		first, _ := other.Labs(ctx, "S1", "S1-001")
		edited := first[0]
		edited.Value = 99
		if _, err := other.PutLabs(ctx, "S1", []clinical.LabResult{edited}, time.Now()); err != nil {
			t.Fatal(err)
		}
		sameLabs(t, db, store, "S1", "S1-001")
		if got, _ := store.Labs(ctx, "S1", "S1-001"); got[0].Value != 99 {
			t.Errorf("S1-001's first result after another process changed it: %+v", got[0])
		}
	})
}

// The same LBSEQ in two files of one upload: the last counts, in the
// table and in what the checks are handed.
func TestHandedLabsKeepTheLastOfAnLBSEQ(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := auth.WithSystem(context.Background())
		local := openLocal(t, db)
		local.HandOffLabs = true
		again := lbFile(6, func(i int, row []string) { row[6] = "21" })
		files := []ingest.File{memFile("dm.csv", dm), memFile("lb.csv", lbFile(6, nil)), memFile("lb2.csv", again)}
		if _, err := ingest.IngestFiles(ctx, local, "S1", files, 40, time.Now()); err != nil {
			t.Fatal(err)
		}
		sameLabs(t, db, local.Labs(), "S1", "S1-001", "S1-002")
		snapshotStats(t, local.Labs(), 2, 0)
		if got, _ := local.Labs().Labs(ctx, "S1", "S1-001"); len(got) != 3 || got[0].Value != 21 {
			t.Errorf("S1-001's labs: %+v; want 3, of value 21", got)
		}
	})
}

// What the pilot's upload hands over is, subject by subject, what the
// database holds: partial dates, missing values and ranges, baselines.
func TestPilotHandedLabsMatchTheDatabase(t *testing.T) {
	if testing.Short() {
		t.Skip("stores the whole pilot")
	}
	db := sqldbtest.SQLite(t)
	local := openLocal(t, db)
	local.HandOffLabs = true
	if _, err := ingest.IngestFiles(auth.WithSystem(context.Background()), local, pilotdata.Study, ingest.PilotFiles(), ingest.DefaultChunk, time.Now()); err != nil {
		t.Fatal(err)
	}
	b, err := pilotdata.Load()
	if err != nil {
		t.Fatal(err)
	}
	var subjects []string
	for _, s := range b.Subjects {
		subjects = append(subjects, s.USUBJID)
	}
	sameLabs(t, db, local.Labs(), pilotdata.Study, subjects...)
	snapshotStats(t, local.Labs(), 254, 0) // the 52 subjects without lab results have none to read
}

// Without workers to hand them to (`trialwatch import`), an upload keeps
// no lab results: the checks, wherever they run, read them.
func TestNoHandOffUnlessAsked(t *testing.T) {
	db := sqldbtest.SQLite(t)
	local := openLocal(t, db)
	if _, err := ingest.IngestFiles(auth.WithSystem(context.Background()), local, "S1", []ingest.File{memFile("dm.csv", dm), memFile("lb.csv", lbFile(40, nil))}, 40, time.Now()); err != nil {
		t.Fatal(err)
	}
	sameLabs(t, db, local.Labs(), "S1", "S1-001", "S1-002")
	snapshotStats(t, local.Labs(), 0, 2)
}
