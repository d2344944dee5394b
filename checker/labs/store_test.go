package labs_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/checker/labs"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLabsRoundTrip(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := labs.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		want := []clinical.LabResult{
			{Study: "S", USUBJID: "A", Seq: 2, TestCode: "ALB", Test: "Albumin", Category: "CHEMISTRY", Value: 38, HasValue: true, Unit: "g/L", Low: 33, HasLow: true, High: 49, HasHigh: true, Baseline: true, Date: "2013-12-26T14:45", Visit: "SCREENING 1"},
			{Study: "S", USUBJID: "A", Seq: 1, TestCode: "ALT", Unit: "U/L", High: 34, HasHigh: true, Date: "2014-01-16"},
		}
		if _, err := s.PutLabs(ctx, "S", want, time.Now()); err != nil {
			t.Fatal(err)
		}
		got, err := s.Labs(ctx, "S", "A")
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Labs = %+v, %v\nwant %+v", got, err, want)
		}
	})
}

// A lab result refers to its test by id; the change history still
// records the test itself, as lab_results held it before lab_tests.
func TestLabHistoryRecordsTheTest(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := labs.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		lab := clinical.LabResult{Study: "S", USUBJID: "A", Seq: 1, TestCode: "ALB", Test: "Albumin", Category: "CHEMISTRY", Value: 38, HasValue: true, Unit: "g/L", Date: "2014-01-02", Visit: "WEEK 2"}
		if _, err := s.PutLabs(ctx, "S", []clinical.LabResult{lab}, time.Now()); err != nil {
			t.Fatal(err)
		}
		fixed := lab
		fixed.Test, fixed.Value = "Albumin, serum", 3.8
		if sum, err := s.PutLabs(ctx, "S", []clinical.LabResult{fixed}, time.Now()); err != nil || sum.Updated != 1 {
			t.Fatalf("PutLabs of a changed row: %+v, %v; want one updated", sum, err)
		}
		var before, after string
		if err := db.QueryRowContext(ctx, `SELECT before, after FROM lab_results_history`).Scan(&before, &after); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			json string
			want map[string]string
		}{{before, map[string]string{"test_code": "ALB", "test": "Albumin", "category": "CHEMISTRY", "unit": "g/L", "value": "38"}},
			{after, map[string]string{"test_code": "ALB", "test": "Albumin, serum", "category": "CHEMISTRY", "unit": "g/L", "value": "3.8"}}} {
			var got map[string]string
			if err := json.Unmarshal([]byte(c.json), &got); err != nil {
				t.Fatal(err)
			}
			if _, ok := got["test_id"]; ok {
				t.Errorf("history record %s has test_id; want the test's columns", c.json)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("history record %s: %s = %q, want %q", c.json, k, got[k], v)
				}
			}
		}
		if got, err := s.Labs(ctx, "S", "A"); err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], fixed) {
			t.Errorf("Labs = %+v, %v; want %+v", got, err, fixed)
		}
	})
}

// Rows made apart and appended (as a streamed upload gathers its parts)
// keep each row's own test, whichever part first named it.
func TestLabRowsAppendKeepsTests(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := labs.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		lab := func(seq int, code, unit string) clinical.LabResult {
			return clinical.LabResult{Study: "S", USUBJID: "A", Seq: seq, TestCode: code, Test: code + " test", Category: "CHEMISTRY", Unit: unit, Date: "2014-01-02"}
		}
		first := []clinical.LabResult{lab(1, "ALT", "U/L"), lab(2, "AST", "U/L")}
		second := []clinical.LabResult{lab(3, "BILI", "umol/L"), lab(4, "ALT", "U/L"), lab(5, "ALT", "ukat/L")}
		rows := labs.NewRows(first)
		rows.Append(labs.NewRows(second))
		err = s.InTx(ctx, func(tx *sql.Tx) error {
			_, err := s.PutRowsTx(ctx, tx, "S", rows, time.Now())
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Labs(ctx, "S", "A")
		if want := append(first, second...); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Labs = %+v, %v\nwant %+v", got, err, want)
		}
		var tests int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM lab_tests`).Scan(&tests); err != nil || tests != 4 {
			t.Errorf("%d lab tests stored (%v), want 4", tests, err)
		}
	})
}

// Each lab result is stored with the day the database first stored it,
// kept through updates; EntryLags counts per subject those entered more
// than 10 days after their date among those with a full date and a known
// day. The writes are large enough for PostgreSQL's COPY paths (new rows
// copied, changed ones merged) and small enough for the statement path.
func TestEntryLags(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := labs.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		dayQuery := `SELECT unixepoch() / 86400`
		if db.Dialect == sqldb.Postgres {
			dayQuery = `SELECT (now() AT TIME ZONE 'UTC')::date - DATE '1970-01-01'`
		}
		dbDay := func() int {
			var d int
			if err := db.QueryRowContext(ctx, dayQuery).Scan(&d); err != nil {
				t.Fatal(err)
			}
			return d
		}
		today := dbDay()
		date := func(daysAgo int) clinical.Date {
			return clinical.Date(time.Unix(int64(today-daysAgo)*86400, 0).UTC().Format("2006-01-02"))
		}
		exec := func(q string, args ...any) {
			if _, err := db.ExecContext(ctx, q, args...); err != nil {
				t.Fatal(err)
			}
		}
		var all []clinical.LabResult
		add := func(subject string, n int, date clinical.Date) {
			for range n {
				all = append(all, clinical.LabResult{Study: "S", USUBJID: subject, Seq: len(all) + 1, TestCode: "ALT", Unit: "U/L", Date: date})
			}
		}
		add("A", 100, date(10))         // 10 days: on time
		add("B", 40, date(28))          // late
		add("B", 20, date(0)[:7])       // partial: unknown
		add("B", 20, date(11)+"T10:00") // 11 days: late
		add("D", 5, date(40))           // stored before stored_day was recorded (below)
		if _, err := s.PutLabs(ctx, "S", all, time.Now()); err != nil {
			t.Fatal(err)
		}
		exec(`UPDATE lab_results SET stored_day = NULL WHERE subject_id = (SELECT id FROM lab_subjects WHERE usubjid = 'D')`)
		one := []clinical.LabResult{{Study: "S", USUBJID: "C", Seq: 1, TestCode: "ALT", Unit: "U/L", Date: date(59)}}
		if _, err := s.PutLabs(ctx, "S", one, time.Now()); err != nil { // late
			t.Fatal(err)
		}
		// As if A's results had been first stored 30 days ago: an update
		// keeps that day, and they count from it (20 days before their date).
		exec(`UPDATE lab_results SET stored_day = stored_day - 30 WHERE subject_id = (SELECT id FROM lab_subjects WHERE usubjid = 'A')`)
		for i := range all {
			all[i].Value, all[i].HasValue = 1, true
		}
		add("A", 1, date(11)) // new: late
		sum, err := s.PutLabs(ctx, "S", all, time.Now())
		if err != nil || sum.Updated != len(all)-1 || sum.Inserted != 1 {
			t.Fatalf("second put: %+v, %v; want %d updated, 1 inserted", sum, err, len(all)-1)
		}
		var kept, unknown int
		if err := db.QueryRowContext(ctx, `SELECT
				COALESCE(SUM(CASE WHEN stored_day = $1 THEN 1 ELSE 0 END), 0),
				COALESCE(SUM(CASE WHEN stored_day IS NULL THEN 1 ELSE 0 END), 0) FROM lab_results`, today-30).Scan(&kept, &unknown); err != nil {
			t.Fatal(err)
		}
		if kept != 100 || unknown != 5 {
			t.Errorf("after the update %d rows keep the day they were first stored, %d none; want 100 and 5", kept, unknown)
		}
		got, err := s.EntryLags(ctx, "S")
		if err != nil {
			t.Fatal(err)
		}
		if dbDay() != today {
			t.Skip("the day changed (UTC midnight) while the test ran; its dates are reckoned from the day it began")
		}
		want := map[string]labs.EntryLag{"A": {Late: 1, Dated: 101}, "B": {Late: 60, Dated: 60}, "C": {Late: 1, Dated: 1}, "D": {}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("EntryLags = %+v\nwant %+v", got, want)
		}
		if got, err := s.EntryLags(ctx, "other"); err != nil || len(got) != 0 {
			t.Errorf("EntryLags of a study without labs = %v, %v; want none", got, err)
		}
	})
}
