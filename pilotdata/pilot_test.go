package pilotdata

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The counts are those the shared data's README documents for the pilot.
func TestLoadReadsEveryRow(t *testing.T) {
	b, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for name, got := range map[string][2]int{
		"DM": {len(b.Subjects), 306}, "AE": {len(b.Events), 1191}, "EX": {len(b.Doses), 591}, "LB": {len(b.Labs), 59580},
		"DS": {len(b.Dispositions), 850}, "CM": {len(b.ConMeds), 7510},
	} {
		if got[0] != got[1] {
			t.Errorf("%s: %d rows, want %d", name, got[0], got[1])
		}
	}
	sites := map[string]bool{}
	for _, s := range b.Subjects {
		sites[s.Site] = true
	}
	if len(sites) != 17 {
		t.Errorf("%d sites, want 17", len(sites))
	}
}
