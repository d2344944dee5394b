package signals_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/checker/checkertest"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestReviewLifecycle(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := signals.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		sigs := []clinical.Signal{checkertest.Signal("A", "701", "LB:1", clinical.SeverityHigh)}
		t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
		if err := s.SaveSignals(ctx, sigs, t0); err != nil {
			t.Fatal(err)
		}
		id := sigs[0].ID
		if sigs[0].Status != clinical.StatusNew {
			t.Fatalf("raised signal has status %q, want new", sigs[0].Status)
		}
		if _, err := s.SetStatus(ctx, "S", id, clinical.StatusClosed, "dr.who", "", t0); !errors.Is(err, signals.ErrTransition) {
			t.Errorf("closing without a reason: err = %v, want ErrTransition", err)
		}
		if _, err := s.SetStatus(ctx, "S", id, clinical.StatusAcknowledged, "dr.who", "looking", t0.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		got, err := s.SetStatus(ctx, "S", id, clinical.StatusClosed, "dr.no", "AE reported at site", t0.Add(2*time.Minute))
		if err != nil || got.Status != clinical.StatusClosed || got.Reason != "AE reported at site" {
			t.Fatalf("close: %+v, %v", got, err)
		}
		if _, err := s.SetStatus(ctx, "S", id, clinical.StatusAcknowledged, "dr.who", "", t0); !errors.Is(err, signals.ErrTransition) {
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
		again := []clinical.Signal{checkertest.Signal("A", "701", "LB:1", clinical.SeverityCritical)}
		if err := s.SaveSignals(ctx, again, t0.Add(time.Hour)); err != nil || again[0].Status != clinical.StatusClosed {
			t.Errorf("re-raised closed signal: status %q, %v; want it to stay closed", again[0].Status, err)
		}
		if _, err := db.ExecContext(ctx, "DELETE FROM signal_history"); err == nil {
			t.Error("signal history deleted; it must be append-only")
		}
		closed, _, err := s.Signals(ctx, signals.Filter{Study: "S", Statuses: []clinical.SignalStatus{clinical.StatusClosed}, Limit: 10})
		if err != nil || len(closed) != 1 {
			t.Errorf("status filter: %d signals, %v; want 1", len(closed), err)
		}
	})
}
