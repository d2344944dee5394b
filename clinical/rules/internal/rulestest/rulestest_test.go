package rulestest_test

import (
	"slices"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae/criteria"
	"github.com/trialwatch/trialwatch/clinical/rules/internal/rulestest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestLabUnits checks the doc's promise that the fixtures' results are in
// units the CTCAE tables read: each test's unit is one of its scales',
// unless the tables grade it relative to the limits only.
func TestLabUnits(t *testing.T) {
	for _, test := range []string{"ALT", "AST", "ALP", "BILI", "HGB", "K"} {
		l := rulestest.Lab(1, test, 1, 0, 2, "2014-01-24")
		if l.Unit == "" {
			t.Errorf("%s: no unit", test)
			continue
		}
		relativeOnly, read := true, false
		for _, term := range criteria.V50[test] {
			for _, s := range term.Scales {
				relativeOnly = relativeOnly && s.Unit == ""
				read = read || s.Norm() == criteria.NormUnit(l.Unit)
			}
		}
		if len(criteria.V50[test]) == 0 || (!relativeOnly && !read) {
			t.Errorf("%s in %s: CTCAE v5.0 grades it in none of its scales' units", test, l.Unit)
		}
	}
}

func TestLabs(t *testing.T) {
	alt := rulestest.ALT(3, 120, "2014-01-24")
	if alt.Seq != 3 || alt.Value != 120 || !alt.HasValue || alt.High != 40 || !alt.HasHigh || alt.USUBJID != rulestest.Subject().USUBJID || alt.Baseline {
		t.Errorf("ALT = %+v, want seq 3, 120 U/L of ULN 40 for the fixtures' subject", alt)
	}
	if b := rulestest.Bili(1, 30, "2014-01-24"); b.High != 20 || b.Unit != "umol/L" {
		t.Errorf("Bili = %+v, want ULN 20 umol/L", b)
	}
	base := rulestest.BaselineLab(1, "HGB", 130, 120, 160, "2014-01-09")
	if !base.Baseline || base.Visit != "BASELINE" || rulestest.Lab(1, "HGB", 130, 120, 160, "2014-01-09").Visit != "WEEK 2" {
		t.Errorf("BaselineLab = %+v, want the baseline flag and visit", base)
	}
}

func TestSignalLookups(t *testing.T) {
	sigs := []clinical.Signal{
		{Rule: clinical.RuleLabOutOfRange, Key: "a"},
		{Rule: "HYS_LAW", Key: "b"},
		{Rule: clinical.RuleLabOutOfRange, Key: "c"},
	}
	if got := rulestest.KeysOf(clinical.RuleLabOutOfRange, sigs); !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("KeysOf = %v, want [a c]", got)
	}
	if got := rulestest.Only("NONE", sigs); got != nil {
		t.Errorf("Only(NONE) = %v, want none", got)
	}
	if got := rulestest.WantOne(t, "HYS_LAW", sigs); got.Key != "b" {
		t.Errorf("WantOne = %+v, want b", got)
	}
}
