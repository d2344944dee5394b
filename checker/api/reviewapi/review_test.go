package reviewapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/checker/checkertest"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSignalsAPIValidatesQuery(t *testing.T) {
	st := checkertest.Open(t, sqldbtest.SQLite(t))
	h := checkertest.As(checkertest.Monitor("monitor1", "S"), st.Mux(st.Checker(checker.Sources{}), nil))
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
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/studies/S/signals"+query, nil))
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

func TestPatchSignalAPI(t *testing.T) {
	st := checkertest.Open(t, sqldbtest.SQLite(t))
	store := st.Signals
	sigs := []clinical.Signal{checkertest.Signal("A", "701", "LB:1", clinical.SeverityHigh)}
	if err := store.SaveSignals(context.Background(), sigs, time.Now()); err != nil {
		t.Fatal(err)
	}
	mux := st.Mux(st.Checker(checker.Sources{}), nil)
	url := "/api/v1/studies/S/signals/" + strconv.FormatInt(sigs[0].ID, 10)
	monitor := checkertest.Monitor("monitor1", "S")
	patchAs := func(id *auth.Identity, body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPatch, url, bytes.NewBufferString(body))
		if id != nil {
			req = req.WithContext(auth.NewContext(req.Context(), *id))
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		return rec
	}
	patch := func(body string) *httptest.ResponseRecorder { return patchAs(&monitor, body) }
	for body, want := range map[string]int{
		`{"status":"open"}`:                           400,
		`{"status":"acknowledged","colour":"x"}`:      400,
		`{"status":"acknowledged","actor":"mallory"}`: 400, // who acts is the caller, not the body
		`not json`:            400,
		`{"status":"closed"}`: 409, // no reason
	} {
		if rec := patch(body); rec.Code != want {
			t.Errorf("PATCH %s: %d, want %d: %s", body, rec.Code, want, rec.Body)
		}
	}
	if rec := patchAs(nil, `{"status":"acknowledged"}`); rec.Code != http.StatusUnauthorized {
		t.Errorf("PATCH with no caller: %d, want 401", rec.Code)
	}
	otherSite := auth.Identity{Name: "site702", Role: auth.RoleSite, Grants: []auth.Grant{{Study: "S", Site: "702"}}}
	if rec := patchAs(&otherSite, `{"status":"acknowledged"}`); rec.Code != http.StatusNotFound {
		t.Errorf("PATCH of a site 701 signal by a site 702 user: %d, want 404", rec.Code)
	}
	rec := patch(`{"status":"closed","reason":"lab error, re-drawn"}`)
	if rec.Code != http.StatusOK {
		t.Fatalf("PATCH close: %d %s", rec.Code, rec.Body)
	}
	var got struct {
		Status  string                 `json:"status"`
		History []signals.StatusChange `json:"history"`
	}
	json.Unmarshal(rec.Body.Bytes(), &got)
	if got.Status != "closed" || len(got.History) != 1 || got.History[0].Actor != "monitor1" {
		t.Errorf("PATCH answer %s", rec.Body)
	}
	rec = httptest.NewRecorder()
	checkertest.As(monitor, mux).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/studies/S/signals/999", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET unknown signal: %d, want 404", rec.Code)
	}
}
