package signals_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/checker/checkertest"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSignalsAreStoredOnceAndListed(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := signals.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		first := []clinical.Signal{checkertest.Signal("A", "701", "LB:1", clinical.SeverityHigh), checkertest.Signal("A", "701", "LB:2", clinical.SeverityLow), checkertest.Signal("B", "702", "LB:1", clinical.SeverityCritical)}
		if err := s.SaveSignals(ctx, first, t0); err != nil {
			t.Fatal(err)
		}
		again := []clinical.Signal{checkertest.Signal("A", "701", "LB:1", clinical.SeverityCritical)}
		if err := s.SaveSignals(ctx, again, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if again[0].ID != first[0].ID || !again[0].Created.Equal(t0) {
			t.Errorf("re-raised signal got ID %d created %v, want the original %d created %v", again[0].ID, again[0].Created, first[0].ID, t0)
		}
		all, next, err := s.Signals(ctx, signals.Filter{Study: "S", Limit: 10})
		if err != nil || len(all) != 3 || next != 0 {
			t.Fatalf("all: %d signals, next %d, err %v; want 3, 0, nil", len(all), next, err)
		}
		if all[2].Severity != clinical.SeverityCritical || all[2].Evidence["lbseq"] != "LB:1" {
			t.Errorf("refreshed signal reads back as %+v", all[2])
		}
		cases := []struct {
			name string
			f    signals.Filter
			want []int64
		}{
			{"site", signals.Filter{Site: "702"}, []int64{first[2].ID}},
			{"subject", signals.Filter{USUBJID: "A"}, []int64{first[1].ID, first[0].ID}},
			{"min severity", signals.Filter{MinSeverity: clinical.SeverityHigh}, []int64{first[2].ID, first[0].ID}},
			{"other study", signals.Filter{Study: "T"}, nil},
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
			page, next, err := s.Signals(ctx, signals.Filter{Study: "S", Limit: 2, BeforeID: before})
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
