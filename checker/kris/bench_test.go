package kris_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/checker/kris"
	"github.com/trialwatch/trialwatch/checker/kris/kristest"
	"github.com/trialwatch/trialwatch/checker/labs"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/kri"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// BenchmarkRecomputePilot recomputes the pilot's KRIs as the service does
// after its checks: DM, DS and AE from memory (what the data services
// answer), each subject's lab grades and findings from the checker's
// tables, the snapshot and its findings written, on SQLite.
func BenchmarkRecomputePilot(b *testing.B) {
	in := loadPilot(b)
	ctx := context.Background()
	db := sqldbtest.SQLite(b)
	store, err := kris.Open(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	sigs, err := signals.Open(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	site := map[string]string{}
	for _, s := range in.Subjects {
		site[s.USUBJID] = s.Site
	}
	var grades [][]any
	for id, g := range in.LabGrades {
		grades = append(grades, []any{"CDISCPILOT01", id, site[id], g.Graded, g.Grade3Plus, 0})
	}
	if err := db.InTx(ctx, func(tx *sql.Tx) error { return writeGrades(ctx, db, tx, grades) }); err != nil {
		b.Fatal(err)
	}
	study := &kristest.Study{}
	study.Set(in.Subjects, in.Dispositions, in.Events, in.LabLags)
	svc := kris.NewService(study.Sources(), store, sigs)
	b.ResetTimer()
	for b.Loop() {
		if _, err := svc.Recompute(ctx, "CDISCPILOT01"); err != nil {
			b.Fatal(err)
		}
	}
}

func writeGrades(ctx context.Context, db *sqldb.DB, tx *sql.Tx, rows [][]any) error {
	return db.WriteRows(ctx, tx, `INSERT INTO subject_lab_grades (study, usubjid, site, graded, grade3plus, updated_at) VALUES `, "", 6, rows)
}

// Size of the generated study.
const (
	genSites          = 1000
	genSubjects       = 20000
	genLabsPerSubject = 500 // 10,000,000 lab results
	genAEsPerSubject  = 10
)

// genDB is the generated study's checker database: 10,000,000 lab
// results with their entry lags, 20,000 subjects' grade counts and a
// finding each. It is built once (about a minute) and kept in
// $TMPDIR/trialwatch-kri-bench-v2.db for later runs.
func genDB(b *testing.B) *sqldb.DB {
	b.Helper()
	ctx := context.Background()
	path := filepath.Join(os.TempDir(), "trialwatch-kri-bench-v2.db")
	_, statErr := os.Stat(path)
	db, err := sqldb.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := labs.Open(ctx, db); err != nil {
		b.Fatal(err)
	}
	if _, err := kris.Open(ctx, db); err != nil {
		b.Fatal(err)
	}
	var n int
	if statErr == nil {
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM lab_subjects WHERE study = 'GEN'`).Scan(&n); err != nil {
			b.Fatal(err)
		}
	}
	if n == genSubjects {
		return db
	}
	b.Logf("building %s: %d subjects, %d lab results", path, genSubjects, genSubjects*genLabsPerSubject)
	start := time.Now()
	steps := []string{
		`DELETE FROM lab_results`, `DELETE FROM lab_subjects`, `DELETE FROM lab_tests`, `DELETE FROM subject_lab_grades`, `DELETE FROM signals`,
		`INSERT INTO lab_tests (id, study, test_code, test, category, unit)
			WITH RECURSIVE t(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM t WHERE i < 20)
			SELECT i, 'GEN', 'T' || i, 'Test ' || i, 'CHEMISTRY', 'U/L' FROM t`,
		fmt.Sprintf(`INSERT INTO lab_subjects (id, study, usubjid, version)
			WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d)
			SELECT i, 'GEN', printf('GEN-%%05d', i), 1 FROM s`, genSubjects),
		// One in seven results first stored 15 days after its date
		// (2024-01-01, day 19723 since 1970), the rest 2.
		fmt.Sprintf(`INSERT INTO lab_results (subject_id, seq, test_id, value, low, high, baseline, lab_date, visit, stored_day)
			WITH RECURSIVE r(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM r WHERE i < %d)
			SELECT i / %d + 1, i %% %d + 1, i %% 20 + 1, 1.0, 0.5, 2.0, FALSE, '2024-01-01', 'V', 19723 + CASE WHEN i %% 7 = 0 THEN 15 ELSE 2 END FROM r`,
			genSubjects*genLabsPerSubject-1, genLabsPerSubject, genLabsPerSubject),
		// What checks of 500 results each would have counted: about 1% of
		// grade 3 or more, more at every 97th subject.
		fmt.Sprintf(`INSERT INTO subject_lab_grades (study, usubjid, site, graded, grade3plus, updated_at)
			WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d)
			SELECT 'GEN', printf('GEN-%%05d', i), printf('%%04d', (i - 1) %% %d + 1), 400, CASE WHEN i %% 97 = 0 THEN 20 ELSE i %% 6 END, 0 FROM s`,
			genSubjects, genSites),
		fmt.Sprintf(`INSERT INTO signals (study, site, usubjid, rule, severity, evidence_key, evidence, message, created_at)
			WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d)
			SELECT 'GEN', printf('%%04d', (i - 1) %% %d + 1), printf('GEN-%%05d', i), CASE WHEN i %% 3 = 0 THEN 'SAE_LATE' ELSE 'LAB_AE_UNRECONCILED' END,
				2, 'K:1', '{}', 'm', 0 FROM s`, genSubjects, genSites),
	}
	for _, q := range steps {
		if _, err := db.ExecContext(ctx, q); err != nil {
			b.Fatalf("%v\n%s", err, q)
		}
	}
	b.Logf("built in %v", time.Since(start).Round(time.Second))
	return db
}

// genStudy is the generated study's DM, DS and AE: 20 subjects per site,
// one in ten a screen failure, one in five of the rest discontinued, ten
// AEs each (one serious), entered 3 days after onset.
func genStudy() *kristest.Study {
	var subs []clinical.Subject
	var ds []clinical.Disposition
	var evs []clinical.AdverseEvent
	for i := 1; i <= genSubjects; i++ {
		id, site := fmt.Sprintf("GEN-%05d", i), fmt.Sprintf("%04d", (i-1)%genSites+1)
		s := clinical.Subject{Study: "GEN", USUBJID: id, Site: site}
		if i%10 == 0 {
			subs = append(subs, s)
			ds = append(ds, clinical.Disposition{Study: "GEN", USUBJID: id, Seq: 1, Decoded: "SCREEN FAILURE", Category: "DISPOSITION EVENT"})
			continue
		}
		s.RefStart, s.RefEnd = "2024-01-01", clinical.Date(fmt.Sprintf("2024-%02d-15", i%12+1))
		subs = append(subs, s)
		ds = append(ds, clinical.Disposition{Study: "GEN", USUBJID: id, Seq: 1, Decoded: "RANDOMIZED", Category: "PROTOCOL MILESTONE", Start: "2024-01-01"})
		end := "COMPLETED"
		if i%5 == 0 {
			end = "ADVERSE EVENT"
		}
		ds = append(ds, clinical.Disposition{Study: "GEN", USUBJID: id, Seq: 2, Decoded: end, Category: "DISPOSITION EVENT"})
		for k := range genAEsPerSubject {
			evs = append(evs, clinical.AdverseEvent{Study: "GEN", USUBJID: id, Seq: k + 1, Serious: k == 0 && i%3 == 0,
				Start: "2024-02-01", EntryLag: 3 + (i+k)%13, HasEntryLag: true})
		}
	}
	st := &kristest.Study{}
	st.Set(subs, ds, evs, nil)
	return st
}

// BenchmarkRecomputeGenerated recomputes the KRIs of a generated study of
// 1,000 sites, 20,000 subjects and 10,000,000 lab results on SQLite: DM,
// DS and AE (200,000 events) from memory; the lab entry lags counted over
// the 10,000,000 lab_results rows by the lab store; grade counts and
// findings from the checker's tables; the snapshot (11,000 site rows) and
// its findings written. EntryLags alone is the aggregate's share.
func BenchmarkRecomputeGenerated(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a 10,000,000-row database")
	}
	ctx := context.Background()
	db := genDB(b)
	labStore, err := labs.Open(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	store, err := kris.Open(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	sigs, err := signals.Open(ctx, db)
	if err != nil {
		b.Fatal(err)
	}
	study := genStudy()
	src := study.Sources()
	src.LabLags = labStore
	svc := kris.NewService(src, store, sigs)
	recompute := func(b *testing.B, svc *kris.Service) {
		snap, err := svc.Recompute(ctx, "GEN")
		if err != nil {
			b.Fatal(err)
		}
		if len(snap.RiskScores) != genSites {
			b.Fatalf("%d sites scored, want %d", len(snap.RiskScores), genSites)
		}
	}
	// A service of its own each time: the lab entry lags are counted
	// over every lab row, as after a lab upload.
	b.Run("Recompute", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			recompute(b, kris.NewService(src, store, sigs))
		}
	})
	// One service: no lab results were written since its last recompute,
	// so the lags it counted then are reused (after an upload of DM, DS
	// or AE, or a recompute on demand).
	b.Run("RecomputeLabsUnchanged", func(b *testing.B) {
		recompute(b, svc)
		b.ResetTimer()
		defer reportCPU(b)()
		for b.Loop() {
			recompute(b, svc)
		}
	})
	b.Run("EntryLags", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			lags, err := labStore.EntryLags(ctx, "GEN")
			if err != nil || len(lags) != genSubjects {
				b.Fatalf("%d subjects' lags, %v", len(lags), err)
			}
		}
	})
	b.Run("Compute", func(b *testing.B) {
		in, err := svc.Inputs(ctx, "GEN", time.Now())
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			kri.Compute(kri.Settings{}, in)
		}
	})
}

// reportCPU reports the process's CPU time (user and system) per
// operation, from now until the returned function runs: on a machine
// other work keeps busy, wall time says little, CPU time still says what
// a recompute costs.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() { b.ReportMetric((cpuTime()-start).Seconds()/float64(b.N), "cpu-s/op") }
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
