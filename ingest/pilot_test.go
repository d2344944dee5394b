package ingest_test

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/checker/queue"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/ingest"
	alldb "github.com/trialwatch/trialwatch/ingest/local"
	"github.com/trialwatch/trialwatch/internal/gctune"
	"github.com/trialwatch/trialwatch/pilotdata"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

var update = flag.Bool("update", false, "rewrite golden files")

// pilotStores are the checker's stores a pilot test checks through.
type pilotStores struct {
	target  *alldb.Target
	signals *signals.Store
}

// pilotChecker loads the whole pilot through the ingest path into db and
// returns a checker reading the data services' stores in process.
func pilotChecker(tb testing.TB, db *sqldb.DB, criteria ctcae.Criteria) (*checker.Checker, pilotStores) {
	return openPilot(tb, db).load(tb, criteria)
}

// openPilot opens (and migrates) the stores a pilot test checks through.
func openPilot(tb testing.TB, db *sqldb.DB) pilotStores {
	ctx := auth.WithSystem(context.Background())
	local, err := alldb.Open(ctx, db)
	if err != nil {
		tb.Fatal(err)
	}
	local.HandOffLabs = true // as in all-in-one mode, where workers check what uploads queue
	sigs, err := signals.Open(ctx, db)
	if err != nil {
		tb.Fatal(err)
	}
	return pilotStores{local, sigs}
}

// load loads the whole pilot through the ingest path into s and returns a
// checker reading the data services' stores in process.
func (s pilotStores) load(tb testing.TB, criteria ctcae.Criteria) (*checker.Checker, pilotStores) {
	ctx := auth.WithSystem(context.Background())
	// The path `trialwatch import` takes: streamed, staged, published in one transaction.
	if _, err := ingest.IngestFiles(ctx, s.target, pilotdata.Study, ingest.PilotFiles(), ingest.DefaultChunk, time.Now()); err != nil {
		tb.Fatal(err)
	}
	if err := s.signals.PutSettings(ctx, pilotdata.Study, rules.Config{Criteria: criteria}, time.Now()); err != nil {
		tb.Fatal(err)
	}
	c := checker.New(checker.Sources{Subjects: s.target.Subjects(), Exposure: s.target.Exposure(), Events: s.target.Events()}, s.target.Labs(), s.signals,
		checker.WithStudyData(s.signals), checker.WithDeadline(time.Minute))
	return c, s
}

// drain runs the queued checks to the end with a worker pool checking in
// batches, as the binary's do.
func drain(tb testing.TB, c *checker.Checker, s pilotStores) {
	q := s.target.Queue()
	w := queue.NewWorkers(c, q, queue.WithWorkers(4), queue.WithPoll(10*time.Millisecond),
		queue.WithBatches(q, s.target.Labs(), s.signals, queue.DefaultBatch))
	w.Start(context.Background())
	defer w.Stop()
	deadline := time.Now().Add(5 * time.Minute)
	for {
		n, err := q.QueueDepth(context.Background())
		if err != nil {
			tb.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("%d queued checks left after 5 minutes", n)
		}
		// Polled often: the time measured is the checks', not this wait's.
		time.Sleep(2 * time.Millisecond)
	}
}

// The pilot study end to end: every domain through the upload path, every
// subject's queued check through the fan-out and the rules, every signal
// stored. The counts per rule and severity are the golden file the
// README's validation section explains.
func TestPilotEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("checks all 306 pilot subjects; skipped with -short")
	}
	var out strings.Builder
	for _, crit := range []ctcae.Criteria{ctcae.V50, ctcae.V403} {
		db := sqldbtest.SQLite(t)
		c, store := pilotChecker(t, db, crit)
		drain(t, c, store)
		rows, err := db.QueryContext(context.Background(), `SELECT rule, severity, COUNT(*) FROM signals GROUP BY rule, severity ORDER BY rule, severity`)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "# stored signals per rule and severity, CDISC pilot (306 subjects), %s\n", crit)
		for rows.Next() {
			var rule string
			var sev, n int
			if err := rows.Scan(&rule, &sev, &n); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&out, "%-22s %-8s %5d\n", rule, severityName(sev), n)
		}
		rows.Close()
		var edish int
		db.QueryRowContext(context.Background(), `SELECT COUNT(*) FROM edish_points`).Scan(&edish)
		fmt.Fprintf(&out, "eDISH points           %5d\n\n", edish)
	}
	golden := "testdata/pilot-end-to-end.golden"
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if out.String() != string(want) {
		t.Errorf("pilot signals changed; got:\n%s\nwant:\n%s", out.String(), want)
	}
}

func severityName(s int) string {
	return []string{"info", "low", "medium", "high", "critical"}[s]
}

// BenchmarkPilotImportGradeSignal is the whole path for the pilot's
// 59,580 lab rows (plus DM, EX, AE, DS, CM): validate and store, queue, check all
// 306 subjects with every rule, store the signals, on each backend, with
// Go's default collector settings and with those the trialwatch binary
// runs with (gctune). lbrows/s counts LB rows.
//
// Each iteration of backend/gc runs on a database of its own, opened
// cold: new connections (on PostgreSQL a server process each, its
// statements prepared anew), new SQLite page caches. warm/backend/gc
// runs on one database opened once, as a server's, its tables emptied
// between iterations (untimed; on SQLite the file compacted as
// PostgreSQL's TRUNCATE leaves its tables): the same upload and checks
// on connections already open, after a first load and check not
// measured. Run it with -bench 'PilotImportGradeSignal/warm/'.
func BenchmarkPilotImportGradeSignal(b *testing.B) {
	gcs := []struct {
		name  string
		apply func() (restore func())
	}{{"gc=go-default", func() func() { return func() {} }}, {"gc=trialwatch", gctune.Apply}}
	for _, backend := range sqldbtest.Backends() {
		for _, gc := range gcs {
			b.Run(backend.Name+"/"+gc.name, func(b *testing.B) {
				defer gc.apply()()
				var p pilotRuns
				for b.Loop() {
					b.StopTimer()
					// Each iteration gets a fresh schema, whose migrations
					// (about 0.1 s of DDL on PostgreSQL, 0.01 s on SQLite)
					// a server runs once, not per upload: they are set up
					// untimed, so that the benchmark measures the data path.
					db := backend.Open(b)
					stores := openPilot(b, db)
					b.StartTimer()
					p.run(b, stores)
					b.StopTimer()
					// Closed now, not when the benchmark ends: on PostgreSQL
					// each iteration's connections would pile up past the
					// server's max_connections (about 15 iterations).
					if err := db.Close(); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				p.report(b)
			})
		}
	}
	for _, backend := range sqldbtest.Backends() {
		for _, gc := range gcs {
			b.Run("warm/"+backend.Name+"/"+gc.name, func(b *testing.B) {
				defer gc.apply()()
				db := backend.Open(b)
				var p pilotRuns
				p.run(b, openPilot(b, db)) // connections opened, statements prepared: not measured
				p = pilotRuns{}
				for b.Loop() {
					b.StopTimer()
					emptyTables(b, db)
					// Stores of their own (migrated already): the lab
					// store's snapshots are not to carry over.
					stores := openPilot(b, db)
					b.StartTimer()
					p.run(b, stores)
				}
				p.report(b)
			})
		}
	}
}

// pilotRuns times the phases of a pilot benchmark's iterations.
type pilotRuns struct{ importing, checking time.Duration }

// run loads the pilot into stores and checks every subject, timing each.
func (p *pilotRuns) run(b *testing.B, stores pilotStores) {
	start := time.Now()
	c, store := stores.load(b, ctcae.V50)
	loaded := time.Now()
	drain(b, c, store)
	p.importing += loaded.Sub(start)
	p.checking += time.Since(loaded)
}

func (p *pilotRuns) report(b *testing.B) {
	b.ReportMetric(float64(59580*b.N)/b.Elapsed().Seconds(), "lbrows/s")
	b.ReportMetric(p.importing.Seconds()/float64(b.N), "import-s/op")
	b.ReportMetric(p.checking.Seconds()/float64(b.N), "check-s/op")
}

// emptyTables deletes every row of db's tables but the migrations'
// records, as if newly migrated: PostgreSQL's are truncated (new, empty
// files; identities restarted); SQLite's rows are deleted, the
// append-only tables' triggers put aside meanwhile, and the file
// compacted.
func emptyTables(tb testing.TB, db *sqldb.DB) {
	ctx := context.Background()
	var tables []string
	list := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%'`
	if db.Dialect == sqldb.Postgres {
		list = `SELECT tablename FROM pg_tables WHERE schemaname = current_schema()`
	}
	err := db.Each(ctx, nil, list, nil, func(rows *sql.Rows) error {
		var name string
		err := rows.Scan(&name)
		if !strings.HasSuffix(name, "_schema_version") {
			tables = append(tables, name)
		}
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	if db.Dialect == sqldb.Postgres {
		if _, err := db.ExecContext(ctx, `TRUNCATE `+strings.Join(tables, ", ")+` RESTART IDENTITY`); err != nil {
			tb.Fatal(err)
		}
		return
	}
	err = db.InTx(ctx, func(tx *sql.Tx) error {
		var triggers []string
		if err := db.Each(ctx, tx, `SELECT name, sql FROM sqlite_master WHERE type = 'trigger'`, nil, func(rows *sql.Rows) error {
			var name, def string
			err := rows.Scan(&name, &def)
			triggers = append(triggers, def)
			if err == nil {
				_, err = tx.ExecContext(ctx, `DROP TRIGGER `+name)
			}
			return err
		}); err != nil {
			return err
		}
		for _, t := range tables {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+t); err != nil {
				return err
			}
		}
		for _, def := range triggers {
			if _, err := tx.ExecContext(ctx, def); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		_, err = db.ExecContext(ctx, `VACUUM`)
	}
	if err == nil {
		_, err = db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	}
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkPilotRecheck re-checks every pilot subject with its findings
// stored: the work after a settings change, where each check compares
// its findings with the stored ones and writes only what changed. The
// ratio is against the first check of the same subjects in the same run
// (findings all new), which must not be faster.
func BenchmarkPilotRecheck(b *testing.B) {
	for _, backend := range sqldbtest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			ctx := context.Background()
			db := backend.Open(b)
			c, s := openPilot(b, db).load(b, ctcae.V50)
			start := time.Now()
			drain(b, c, s)
			first := time.Since(start)
			q := s.target.Queue()
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				if err := db.InTx(ctx, func(tx *sql.Tx) error { return q.EnqueueStudyTx(ctx, tx, pilotdata.Study, time.Now()) }); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				drain(b, c, s)
			}
			b.ReportMetric(first.Seconds(), "first-check-s")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "recheck-s/op")
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N)/first.Seconds(), "recheck/first")
		})
	}
}
