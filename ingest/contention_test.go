package ingest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/checker/api"
	"github.com/trialwatch/trialwatch/checker/checkertest"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// eventStudy is a DM file of subjects subjects, an LB file with one ALT
// far out of range for each (so that a check finds something to store),
// and an AE file of perSubject adverse events each.
func eventStudy(subjects, perSubject int) (dm, lb, ae string) {
	var d, l, a strings.Builder
	d.WriteString(`"STUDYID","DOMAIN","USUBJID","SITEID","SEX","AGE","RFICDTC","RFXSTDTC"` + "\n")
	l.WriteString(lbHeader)
	a.WriteString(`"STUDYID","DOMAIN","USUBJID","AESEQ","AETERM","AEDECOD","AEBODSYS","AESEV","AESER","AESTDTC","AEENDTC"` + "\n")
	for s := range subjects {
		fmt.Fprintf(&d, `"S1","DM","S1-%05d","701","F",63,"2014-01-01","2014-01-02"`+"\n", s)
		fmt.Fprintf(&l, `"S1","LB","S1-%05d",1,"ALT","Alanine Aminotransferase",400,"U/L",6,34,"2014-01-16","WEEK 2"`+"\n", s)
		for seq := 1; seq <= perSubject; seq++ {
			fmt.Fprintf(&a, `"S1","AE","S1-%05d",%d,"HEADACHE %d","HEADACHE","NERVOUS SYSTEM DISORDERS","MILD","N","2014-02-%02d","2014-02-%02d"`+"\n",
				s, seq, seq, 1+seq%27, 2+seq%27)
		}
	}
	return d.String(), l.String(), a.String()
}

// publishLog keeps how long each upload's publishing transaction took,
// from the target's log.
type publishLog struct {
	mu    sync.Mutex
	times []time.Duration
}

func (p *publishLog) Enabled(context.Context, slog.Level) bool { return true }
func (p *publishLog) WithAttrs([]slog.Attr) slog.Handler       { return p }
func (p *publishLog) WithGroup(string) slog.Handler            { return p }
func (p *publishLog) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "publish" {
			p.mu.Lock()
			p.times = append(p.times, a.Value.Duration())
			p.mu.Unlock()
		}
		return true
	})
	return nil
}

func (p *publishLog) last() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.times) == 0 {
		return 0
	}
	return p.times[len(p.times)-1]
}

// While a large AE upload is stored, monitors check subjects (each check
// stores what it found) and change signals' statuses over the API: every
// request is answered, none with a 5xx, and nothing of the upload is
// visible until all of it is. Before uploads of the other domains were
// staged, their rows were written in the upload's final transaction,
// which on SQLite held the write lock for seconds.
func TestMonitorsWorkDuringALargeEventUpload(t *testing.T) {
	subjects, perSubject := 2000, 100 // 200,000 adverse events
	chunk, statuses := ingest.DefaultChunk, 4000
	if testing.Short() || raceEnabled {
		subjects, chunk, statuses = 300, 2_500, 500 // twelve chunks
	}
	dmCSV, lbCSV, aeCSV := eventStudy(subjects, perSubject)
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		local := openLocal(t, db)
		published := &publishLog{}
		local.Log = slog.New(published)
		sys := auth.WithSystem(ctx)
		if _, err := ingest.IngestFiles(sys, local, "S1", []ingest.File{memFile("dm.csv", dmCSV), memFile("lb.csv", lbCSV)},
			ingest.DefaultChunk, time.Now()); err != nil {
			t.Fatal(err)
		}
		sigStore, err := signals.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		// Signals for the monitors to acknowledge and then close, enough
		// for the whole upload.
		sigs := make([]clinical.Signal, statuses)
		for i := range sigs {
			sigs[i] = clinical.Signal{Study: "S1", Site: "701", USUBJID: fmt.Sprintf("S1-%05d", i%subjects), Rule: "MONITOR_TEST",
				Severity: clinical.SeverityLow, Key: fmt.Sprintf("K:%d", i), Evidence: map[string]any{"k": i}, Message: "m"}
		}
		if err := sigStore.SaveSignals(ctx, sigs, time.Now()); err != nil {
			t.Fatal(err)
		}
		st := checkertest.Stores{Labs: local.Labs(), Signals: sigStore, Queue: local.Queue()}
		src := checker.Sources{Subjects: local.Subjects(), Exposure: local.Exposure(), Events: local.Events()}
		mux := st.MuxWith(st.Checker(src), api.Sources{Subjects: local.Subjects(), Exposure: local.Exposure(), Events: local.Events()})
		srv := httptest.NewServer(checkertest.As(checkertest.Monitor("monitor", "S1"), mux))
		defer srv.Close()
		client := &http.Client{Timeout: time.Minute} // a request not answered in a minute fails the test

		type outcome struct {
			res ingest.Result
			err error
		}
		uploaded := make(chan outcome, 1)
		started := time.Now()
		go func() { // ends when the upload is stored or fails; the monitors below run until then, and the test waits for it
			res, err := ingest.IngestFiles(sys, local, "S1", []ingest.File{memFile("dm.csv", dmCSV), memFile("ae.csv", aeCSV)},
				chunk, time.Now())
			uploaded <- outcome{res, err}
		}()
		done := make(chan struct{})
		var checks, changes atomic.Int64
		var slowest, slowestChange atomic.Int64 // nanoseconds
		var next atomic.Int64                   // the next status change: signal next % len(sigs), acknowledged then closed
		var mu sync.Mutex
		var failures []string
		fail := func(format string, args ...any) {
			mu.Lock()
			failures = append(failures, fmt.Sprintf(format, args...))
			mu.Unlock()
		}
		request := func(method, path, body string, slowest *atomic.Int64) bool {
			req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			began := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				fail("%s %s %v into the upload: %v", method, path, time.Since(started), err)
				return false
			}
			defer resp.Body.Close()
			var b bytes.Buffer
			b.ReadFrom(resp.Body)
			took := time.Since(began)
			for old := slowest.Load(); took.Nanoseconds() > old && !slowest.CompareAndSwap(old, took.Nanoseconds()); old = slowest.Load() {
			}
			if resp.StatusCode != http.StatusOK {
				fail("%s %s %v into the upload: %d %.200s", method, path, time.Since(started), resp.StatusCode, b.String())
				return false
			}
			return true
		}
		var monitors sync.WaitGroup
		for m := range 4 {
			monitors.Go(func() { // ends once the upload is stored (done), or at its first failure
				for i := m; ; i += 4 {
					select {
					case <-done:
						return
					default:
					}
					if !request(http.MethodPost, fmt.Sprintf("/api/v1/studies/S1/subjects/S1-%05d/checks", i%subjects), "", &slowest) {
						return
					}
					checks.Add(1)
					if n := next.Add(1) - 1; n < int64(2*len(sigs)) {
						to := "acknowledged"
						if n >= int64(len(sigs)) {
							to = "closed"
						}
						if !request(http.MethodPatch, fmt.Sprintf("/api/v1/studies/S1/signals/%d", sigs[n%int64(len(sigs))].ID),
							`{"status": "`+to+`", "reason": "monitor test"}`, &slowestChange) {
							return
						}
						changes.Add(1)
					}
				}
			})
		}
		// The upload shows all at once: none of it, then all of it.
		var out outcome
		deadline := time.After(10 * time.Minute)
	watching:
		for {
			var visible int
			if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM adverse_events WHERE study = 'S1'`).Scan(&visible); err != nil {
				t.Error(err)
			}
			if visible != 0 && visible != subjects*perSubject {
				t.Errorf("%d of the upload's %d adverse events visible", visible, subjects*perSubject)
			}
			select {
			case out = <-uploaded:
				break watching
			case <-time.After(50 * time.Millisecond): // the next look
			case <-deadline:
				close(done)
				monitors.Wait()
				t.Fatalf("the upload had not ended after %v", time.Since(started))
			}
		}
		took := time.Since(started)
		close(done)
		monitors.Wait()
		if out.err != nil {
			t.Fatal(out.err)
		}
		for _, f := range failures {
			t.Error(f)
		}
		if got := out.res.Domains["AE"].Inserted; got != subjects*perSubject {
			t.Fatalf("upload stored %d adverse events, want %d", got, subjects*perSubject)
		}
		var visible int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM adverse_events WHERE study = 'S1'`).Scan(&visible); err != nil || visible != subjects*perSubject {
			t.Fatalf("%d adverse events visible once stored (%v), want %d", visible, err, subjects*perSubject)
		}
		longestChange := time.Duration(slowestChange.Load())
		t.Logf("upload of %d adverse events took %v, its publishing transaction %v; %d checks and %d status changes answered meanwhile, the slowest check in %v, the slowest status change in %v",
			subjects*perSubject, took.Round(time.Millisecond), published.last().Round(time.Millisecond), checks.Load(), changes.Load(),
			time.Duration(slowest.Load()).Round(time.Millisecond), longestChange.Round(time.Millisecond))
		if checks.Load() < 4 {
			t.Errorf("%d checks answered during an upload of %v; want the monitors to go on beside it", checks.Load(), took)
		}
		// A status change is a write: on SQLite one that waited for the
		// upload's rows to be written in one transaction took a good part
		// of the upload's time (at 200,000 rows 2.1 s of 5.0 s, 3.4 s of
		// 5.7 s); now it waits for a chunk or the publishing at most.
		if longestChange > took/3 {
			t.Errorf("a status change took %v during an upload of %v; want it to wait for a chunk or the publishing at most", longestChange, took)
		}
	})
}

// leftStaged counts what uploads left staged in the data services'
// tables: generations out of readers' sight, their rows, staged DM rows
// and history records waiting.
func leftStaged(t *testing.T, db *sqldb.DB) int {
	t.Helper()
	total := 0
	for _, table := range []string{"adverse_events", "doses", "con_meds", "dispositions"} {
		var n int
		if err := db.QueryRowContext(context.Background(), `SELECT
			(SELECT count(*) FROM `+table+`_subjects WHERE substr(study, 1, 1) = $1) +
			(SELECT count(*) FROM `+table+`_rows r JOIN `+table+`_subjects s ON s.id = r.subject_id WHERE substr(s.study, 1, 1) = $1) +
			(SELECT count(*) FROM `+table+`_staged_history)`, "\x1f").Scan(&n); err != nil {
			t.Fatal(err)
		}
		total += n
	}
	var n int
	if err := db.QueryRowContext(context.Background(), `SELECT (SELECT count(*) FROM subjects_staged) + (SELECT count(*) FROM subjects_staged_history)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return total + n
}

// An upload refused after chunks of it were staged — a bad row in its
// third chunk of adverse events — leaves nothing visible and nothing
// staged.
func TestUploadRefusedAfterChunksWereStagedLeavesNothing(t *testing.T) {
	dmCSV, _, aeCSV := eventStudy(250, 100)                             // 25,000 AEs: three chunks
	aeCSV = strings.Replace(aeCSV, `"S1-00220",1,`, `"S1-00220",x,`, 1) // in the third
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		local := openLocal(t, db)
		_, err := ingest.IngestFiles(auth.WithSystem(context.Background()), local, "S1",
			[]ingest.File{memFile("dm.csv", dmCSV), memFile("ae.csv", aeCSV)}, ingest.DefaultChunk, time.Now())
		if err == nil || !strings.Contains(err.Error(), "AESEQ") {
			t.Fatalf("upload with a bad AESEQ: %v, want it refused", err)
		}
		s := &server{db: db}
		for _, table := range []string{"subjects", "adverse_events", "check_jobs"} {
			if n := s.count(t, table); n != 0 {
				t.Errorf("%d rows in %s after a refused upload", n, table)
			}
		}
		if n := leftStaged(t, db); n != 0 {
			t.Errorf("%d rows left staged by a refused upload", n)
		}
	})
}

// Another write of a subject's adverse events between the upload staging
// them and publishing them: the upload answers a conflict and stores
// nothing of any domain, rather than lose that write's change.
func TestUploadMeetingAnotherWriteStoresNothing(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := auth.WithSystem(context.Background())
		local := openLocal(t, db)
		if _, err := ingest.IngestFiles(ctx, local, "S1", []ingest.File{memFile("dm.csv", dm)}, ingest.DefaultChunk, time.Now()); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		ae := func(seq int, term string) clinical.AdverseEvent {
			return clinical.AdverseEvent{Study: "S1", USUBJID: "S1-001", Seq: seq, Term: term, Severity: "MILD", Start: "2014-02-01"}
		}
		moved := clinical.Subject{Study: "S1", USUBJID: "S1-002", Site: "702", Sex: "M", Age: 71, ConsentDate: "2014-01-01", FirstDose: "2014-01-03"}
		_, err := local.Store(ctx, "S1", []string{"ae.csv"}, now, func(u ingest.Upload) error {
			if err := u.Write(ctx, ingest.Part{Subjects: []clinical.Subject{moved}, Events: []clinical.AdverseEvent{ae(1, "HEADACHE")}}); err != nil {
				return err
			}
			_, err := local.Events().Put(ctx, "S1", []clinical.AdverseEvent{ae(2, "NAUSEA")}, now) // another writer, meanwhile
			return err
		})
		if !errors.Is(err, clinical.ErrConflict) {
			t.Fatalf("upload meeting another write: %v, want ErrConflict", err)
		}
		evs, err := local.Events().AdverseEvents(ctx, "S1", "S1-001")
		if err != nil || len(evs) != 1 || evs[0].Term != "NAUSEA" {
			t.Errorf("S1-001's events %+v (%v); want the other write's alone", evs, err)
		}
		if sub, err := local.Subjects().Subject(ctx, "S1", "S1-002"); err != nil || sub.Age != 70 {
			t.Errorf("S1-002 %+v (%v): want the DM change not stored", sub, err)
		}
		if n := leftStaged(t, db); n != 0 {
			t.Errorf("%d rows left staged", n)
		}
	})
}
