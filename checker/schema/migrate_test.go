package schema_test

import (
	"context"
	"io/fs"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pressly/goose/v3"
	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/checker/labs"
	"github.com/trialwatch/trialwatch/checker/schema"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// Lab results stored before lab_tests existed keep every value when the
// migration moves their tests into lab_tests, and can still be updated.
func TestLabTestsMigrationKeepsResults(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		dialect, before := goose.DialectSQLite3, int64(6)
		if db.Dialect == sqldb.Postgres {
			dialect, before = goose.DialectPostgres, 5
		}
		sub, err := fs.Sub(schema.Migrations, "migrations/"+string(db.Dialect))
		if err != nil {
			t.Fatal(err)
		}
		p, err := goose.NewProvider(dialect, db.DB, sub, goose.WithTableName("checker_schema_version"), goose.WithDisableGlobalRegistry(true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.UpTo(ctx, before); err != nil {
			t.Fatal(err)
		}
		// As the store wrote them before: two subjects sharing a test, and
		// the same code with another unit.
		if _, err := db.ExecContext(ctx, `INSERT INTO lab_results (study, usubjid, seq, test_code, test, category, value, unit, low, high, baseline, lab_date, visit) VALUES
			('S', 'A', 1, 'ALT', 'Alanine Aminotransferase', 'CHEMISTRY', 40, 'U/L', 6, 34, TRUE, '2014-01-02', 'SCREENING 1'),
			('S', 'A', 2, 'ALT', 'Alanine Aminotransferase', 'CHEMISTRY', 0.5, 'ukat/L', NULL, NULL, FALSE, '2014-02-02', 'WEEK 4'),
			('S', 'B', 1, 'ALT', 'Alanine Aminotransferase', 'CHEMISTRY', NULL, 'U/L', 6, 34, FALSE, '2014-01-03', '')`); err != nil {
			t.Fatal(err)
		}
		s, err := labs.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		alt := func(subject string, seq int, unit, date string) clinical.LabResult {
			return clinical.LabResult{Study: "S", USUBJID: subject, Seq: seq, TestCode: "ALT", Test: "Alanine Aminotransferase",
				Category: "CHEMISTRY", Unit: unit, Date: clinical.Date(date)}
		}
		a1, a2, b1 := alt("A", 1, "U/L", "2014-01-02"), alt("A", 2, "ukat/L", "2014-02-02"), alt("B", 1, "U/L", "2014-01-03")
		a1.Value, a1.HasValue, a1.Low, a1.HasLow, a1.High, a1.HasHigh, a1.Baseline, a1.Visit = 40, true, 6, true, 34, true, true, "SCREENING 1"
		a2.Value, a2.HasValue, a2.Visit = 0.5, true, "WEEK 4"
		b1.Low, b1.HasLow, b1.High, b1.HasHigh = 6, true, 34, true
		want := map[string][]clinical.LabResult{"A": {a1, a2}, "B": {b1}}
		for id, w := range want {
			got, err := s.Labs(ctx, "S", id)
			if err != nil || !reflect.DeepEqual(got, w) {
				t.Errorf("subject %s after the migration: %+v, %v\nwant %+v", id, got, err, w)
			}
		}
		var tests int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM lab_tests`).Scan(&tests); err != nil || tests != 2 {
			t.Errorf("%d lab tests (%v), want 2", tests, err)
		}
		// Storing the same rows again finds them unchanged.
		if sum, err := s.PutLabs(ctx, "S", append(want["A"], want["B"]...), time.Now()); err != nil || sum.Unchanged != 3 {
			t.Errorf("storing the migrated rows again: %+v, %v; want 3 unchanged", sum, err)
		}
	})
}

// A study's CTCAE version and AE terms, stored before settings were one
// document, read back after the migration, with every other field at its
// default, and a study that had stored nothing still has the defaults.
func TestSettingsDocumentMigrationKeepsSettings(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		dialect, before := goose.DialectSQLite3, int64(9)
		if db.Dialect == sqldb.Postgres {
			dialect, before = goose.DialectPostgres, 8
		}
		sub, err := fs.Sub(schema.Migrations, "migrations/"+string(db.Dialect))
		if err != nil {
			t.Fatal(err)
		}
		p, err := goose.NewProvider(dialect, db.DB, sub, goose.WithTableName("checker_schema_version"), goose.WithDisableGlobalRegistry(true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.UpTo(ctx, before); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `INSERT INTO study_settings (study, criteria, ae_terms, updated_at) VALUES
			('S', 'ctcae-v4.03', '{"ALT":["DRUG-INDUCED LIVER INJURY"],"HGB:low":["BLOOD LOSS ANAEMIA"]}', 1),
			('T', 'ctcae-v5.0', '{}', 1)`); err != nil {
			t.Fatal(err)
		}
		s, err := signals.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		want := rules.DefaultConfig()
		want.Criteria = ctcae.V403
		want.AETerms = map[string][]string{"ALT": {"DRUG-INDUCED LIVER INJURY"}, "HGB:low": {"BLOOD LOSS ANAEMIA"}}
		if got, err := s.Settings(ctx, "S"); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("migrated settings: %+v, %v\nwant %+v", got, err, want)
		}
		want = rules.DefaultConfig()
		want.AETerms = map[string][]string{}
		if got, err := s.Settings(ctx, "T"); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("migrated settings with no terms: %+v, %v\nwant %+v", got, err, want)
		}
		if got, err := s.Settings(ctx, "U"); err != nil || !reflect.DeepEqual(got, rules.DefaultConfig()) {
			t.Errorf("settings of a study that stored none: %+v, %v", got, err)
		}
		// And down again: the old columns hold them.
		if _, err := p.DownTo(ctx, before); err != nil {
			t.Fatal(err)
		}
		var crit, terms string
		if err := db.QueryRowContext(ctx, `SELECT criteria, ae_terms FROM study_settings WHERE study = 'S'`).Scan(&crit, &terms); err != nil ||
			crit != "ctcae-v4.03" || !strings.Contains(terms, "BLOOD LOSS ANAEMIA") {
			t.Errorf("after the down migration: %q %q %v", crit, terms, err)
		}
	})
}

// Lab results stored before stored_day existed keep every value, have no
// entry lag, and are still updated as before; those stored after have one.
// (On SQLite the migration rebuilds the table.)
func TestStoredDayMigrationKeepsResults(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		dialect, before := goose.DialectSQLite3, int64(11)
		if db.Dialect == sqldb.Postgres {
			dialect, before = goose.DialectPostgres, 10
		}
		sub, err := fs.Sub(schema.Migrations, "migrations/"+string(db.Dialect))
		if err != nil {
			t.Fatal(err)
		}
		p, err := goose.NewProvider(dialect, db.DB, sub, goose.WithTableName("checker_schema_version"), goose.WithDisableGlobalRegistry(true))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.UpTo(ctx, before); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{
			`INSERT INTO lab_subjects (study, usubjid, version) VALUES ('S', 'A', 1)`,
			`INSERT INTO lab_tests (study, test_code, test, category, unit) VALUES ('S', 'ALT', 'Alanine Aminotransferase', 'CHEMISTRY', 'U/L')`,
			`INSERT INTO lab_results (subject_id, seq, test_id, value, low, high, baseline, lab_date, visit)
				SELECT s.id, 1, t.id, 40, 6, 34, TRUE, '2014-01-02', 'SCREENING 1' FROM lab_subjects s, lab_tests t`,
		} {
			if _, err := db.ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		s, err := labs.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		old := clinical.LabResult{Study: "S", USUBJID: "A", Seq: 1, TestCode: "ALT", Test: "Alanine Aminotransferase", Category: "CHEMISTRY",
			Unit: "U/L", Value: 40, HasValue: true, Low: 6, HasLow: true, High: 34, HasHigh: true, Baseline: true, Date: "2014-01-02", Visit: "SCREENING 1"}
		if got, err := s.Labs(ctx, "S", "A"); err != nil || !reflect.DeepEqual(got, []clinical.LabResult{old}) {
			t.Fatalf("after the migration: %+v, %v; want %+v", got, err, old)
		}
		fixed, added := old, old
		fixed.Value = 41
		added.Seq = 2
		if sum, err := s.PutLabs(ctx, "S", []clinical.LabResult{fixed, added}, time.Now()); err != nil || sum.Updated != 1 || sum.Inserted != 1 {
			t.Fatalf("storing after the migration: %+v, %v; want 1 updated, 1 inserted", sum, err)
		}
		lags, err := s.EntryLags(ctx, "S")
		if err != nil || lags["A"] != (labs.EntryLag{Late: 1, Dated: 1}) {
			t.Errorf("EntryLags = %+v, %v; want only the result stored after the migration dated (and late)", lags, err)
		}
	})
}
