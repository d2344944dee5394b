package checker_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestLabsRoundTrip(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := checker.OpenStore(ctx, db)
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
		s, err := checker.OpenStore(ctx, db)
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
		s, err := checker.OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		lab := func(seq int, code, unit string) clinical.LabResult {
			return clinical.LabResult{Study: "S", USUBJID: "A", Seq: seq, TestCode: code, Test: code + " test", Category: "CHEMISTRY", Unit: unit, Date: "2014-01-02"}
		}
		first := []clinical.LabResult{lab(1, "ALT", "U/L"), lab(2, "AST", "U/L")}
		second := []clinical.LabResult{lab(3, "BILI", "umol/L"), lab(4, "ALT", "U/L"), lab(5, "ALT", "ukat/L")}
		rows := checker.NewLabRows(first)
		rows.Append(checker.NewLabRows(second))
		err = s.InTx(ctx, func(tx *sql.Tx) error {
			_, err := s.PutLabRowsTx(ctx, tx, "S", rows, time.Now())
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

func sig(subject, site, key string, sev clinical.Severity) clinical.Signal {
	return clinical.Signal{Study: "S", Site: site, USUBJID: subject, Rule: clinical.RuleLabOutOfRange, Severity: sev,
		Key: key, Evidence: map[string]any{"lbseq": key}, Message: "m " + key}
}

func TestSignalsAreStoredOnceAndListed(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := checker.OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		first := []clinical.Signal{sig("A", "701", "LB:1", clinical.SeverityHigh), sig("A", "701", "LB:2", clinical.SeverityLow), sig("B", "702", "LB:1", clinical.SeverityCritical)}
		if err := s.SaveSignals(ctx, first, t0); err != nil {
			t.Fatal(err)
		}
		again := []clinical.Signal{sig("A", "701", "LB:1", clinical.SeverityCritical)}
		if err := s.SaveSignals(ctx, again, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if again[0].ID != first[0].ID || !again[0].Created.Equal(t0) {
			t.Errorf("re-raised signal got ID %d created %v, want the original %d created %v", again[0].ID, again[0].Created, first[0].ID, t0)
		}
		all, next, err := s.Signals(ctx, checker.SignalFilter{Study: "S", Limit: 10})
		if err != nil || len(all) != 3 || next != 0 {
			t.Fatalf("all: %d signals, next %d, err %v; want 3, 0, nil", len(all), next, err)
		}
		if all[2].Severity != clinical.SeverityCritical || all[2].Evidence["lbseq"] != "LB:1" {
			t.Errorf("refreshed signal reads back as %+v", all[2])
		}
		cases := []struct {
			name string
			f    checker.SignalFilter
			want []int64
		}{
			{"site", checker.SignalFilter{Site: "702"}, []int64{first[2].ID}},
			{"subject", checker.SignalFilter{USUBJID: "A"}, []int64{first[1].ID, first[0].ID}},
			{"min severity", checker.SignalFilter{MinSeverity: clinical.SeverityHigh}, []int64{first[2].ID, first[0].ID}},
			{"other study", checker.SignalFilter{Study: "T"}, nil},
		}
		for _, c := range cases {
			f := c.f
			if f.Study == "" {
				f.Study = "S"
			}
			f.Limit = 10
			got, _, err := s.Signals(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, g := range got {
				ids = append(ids, g.ID)
			}
			if !reflect.DeepEqual(ids, c.want) {
				t.Errorf("%s: ids %v, want %v", c.name, ids, c.want)
			}
		}
		// Paging walks every signal once, newest first.
		var seen []int64
		var before int64
		for {
			page, next, err := s.Signals(ctx, checker.SignalFilter{Study: "S", Limit: 2, BeforeID: before})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range page {
				seen = append(seen, p.ID)
			}
			if next == 0 {
				break
			}
			before = next
		}
		if want := []int64{first[2].ID, first[1].ID, first[0].ID}; !reflect.DeepEqual(seen, want) {
			t.Errorf("paged ids %v, want %v", seen, want)
		}
	})
}

func TestSignalsAPIValidatesQuery(t *testing.T) {
	store, err := checker.OpenStore(context.Background(), sqldbtest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	checker.NewAPI(checker.New(checker.Sources{}, store, store), store, nil).Register(mux)
	for query, wantCode := range map[string]int{
		"":                       200,
		"?severity=high&limit=5": 200,
		"?severity=severe":       400,
		"?limit=0":               400,
		"?limit=501":             400,
		"?limit=ten":             400,
		"?page_token=abc":        400,
		"?site=701&subject=X":    200,
	} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/studies/S/signals"+query, nil))
		if rec.Code != wantCode {
			t.Errorf("%q: %d, want %d: %s", query, rec.Code, wantCode, rec.Body)
		}
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Errorf("%q: body is not JSON: %s", query, rec.Body)
		}
		if wantCode == 400 && body["error"] == "" {
			t.Errorf("%q: 400 without an error message", query)
		}
	}
}
