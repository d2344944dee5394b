package checker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestReviewLifecycle(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := checker.OpenStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		sigs := []clinical.Signal{sig("A", "701", "LB:1", clinical.SeverityHigh)}
		t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		if err := s.SaveSignals(ctx, sigs, t0); err != nil {
			t.Fatal(err)
		}
		id := sigs[0].ID
		if sigs[0].Status != clinical.StatusNew {
			t.Fatalf("raised signal has status %q, want new", sigs[0].Status)
		}
		if _, err := s.SetStatus(ctx, "S", id, clinical.StatusClosed, "dr.who", "", t0); !errors.Is(err, checker.ErrTransition) {
			t.Errorf("closing without a reason: err = %v, want ErrTransition", err)
		}
		if _, err := s.SetStatus(ctx, "S", id, clinical.StatusAcknowledged, "dr.who", "looking", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, err := s.SetStatus(ctx, "S", id, clinical.StatusClosed, "dr.no", "AE reported at site", t0.Add(2*time.Minute))
		if err != nil || got.Status != clinical.StatusClosed || got.Reason != "AE reported at site" {
			t.Fatalf("close: %+v, %v", got, err)
		}
		if _, err := s.SetStatus(ctx, "S", id, clinical.StatusAcknowledged, "dr.who", "", t0); !errors.Is(err, checker.ErrTransition) {
			t.Errorf("reopening a closed signal: err = %v, want ErrTransition", err)
		}
		if _, err := s.SetStatus(ctx, "OTHER", id, clinical.StatusAcknowledged, "x", "", t0); !errors.Is(err, clinical.ErrNotFound) {
			t.Errorf("signal of another study: err = %v, want ErrNotFound", err)
		}
		hist, err := s.History(ctx, id)
		if err != nil || len(hist) != 2 {
			t.Fatalf("history: %+v, %v; want 2 entries", hist, err)
		}
		if hist[0].Actor != "dr.who" || hist[0].From != "new" || hist[0].To != "acknowledged" ||
			hist[1].Actor != "dr.no" || hist[1].To != "closed" || !hist[1].At.Equal(t0.Add(2*time.Minute)) {
			t.Errorf("history %+v", hist)
		}
		// A re-check raising the same finding does not reopen it.
		again := []clinical.Signal{sig("A", "701", "LB:1", clinical.SeverityCritical)}
		if err := s.SaveSignals(ctx, again, t0.Add(time.Hour)); err != nil || again[0].Status != clinical.StatusClosed {
			t.Errorf("re-raised closed signal: status %q, %v; want it to stay closed", again[0].Status, err)
		}
		if _, err := db.ExecContext(ctx, "DELETE FROM signal_history"); err == nil {
			t.Error("signal history deleted; it must be append-only")
		}
		closed, _, err := s.Signals(ctx, checker.SignalFilter{Study: "S", Status: clinical.StatusClosed, Limit: 10})
		if err != nil || len(closed) != 1 {
			t.Errorf("status filter: %d signals, %v; want 1", len(closed), err)
		}
	})
}

func TestPatchSignalAPI(t *testing.T) {
	store, err := checker.OpenStore(context.Background(), sqldbtest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	sigs := []clinical.Signal{sig("A", "701", "LB:1", clinical.SeverityHigh)}
	if err := store.SaveSignals(context.Background(), sigs, time.Now()); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	checker.NewAPI(checker.New(checker.Sources{}, store, store), store, nil).Register(mux)
	url := "/api/v1/studies/S/signals/" + strconv.FormatInt(sigs[0].ID, 10)
	monitor := auth.Identity{Name: "monitor1", Role: auth.RoleMonitor, Grants: []auth.Grant{{Study: "S", Site: auth.AllSites}}}
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
		History []checker.StatusChange `json:"history"`
	}
	json.Unmarshal(rec.Body.Bytes(), &got)
	if got.Status != "closed" || len(got.History) != 1 || got.History[0].Actor != "monitor1" {
		t.Errorf("PATCH answer %s", rec.Body)
	}
	rec = httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/studies/S/signals/999", nil))
	if rec.Code != http.StatusNotFound {
		t.Errorf("GET unknown signal: %d, want 404", rec.Code)
	}
}
