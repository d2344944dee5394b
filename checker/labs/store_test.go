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
