package criteria_test

import (
	"fmt"
	"slices"
	"sort"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/clinical/ctcae/criteria"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var tables = map[string]map[string][]criteria.Term{
	"V403": criteria.V403, "V50": criteria.V50, "V60": criteria.V60, "DAIDS21": criteria.DAIDS21,
}

func TestNormUnit(t *testing.T) {
	for in, want := range map[string]string{
		"µmol/L":           "umol/l", // micro sign
		"μmol/L":           "umol/l", // Greek mu
		" umol / L ":       "umol/l",
		"10*9/L":           "10^9/l",
		"K/uL":             "10^9/l",
		"cells/mm3":        "/ul",
		"IU/L":             "u/l",
		"mL/min/1.73m²":    "ml/min/1.73m2",
		"mg/dL":            "mg/dl",
		"mg/100mL":         "mg/dl",
		"":                 "",
		"an unknown unit!": "anunknownunit!",
	} {
		// Twice: the second answer comes from the cache.
		for range 2 {
			if got := criteria.NormUnit(in); got != want {
				t.Errorf("NormUnit(%q) = %q, want %q", in, got, want)
			}
		}
	}
}

// TestNormUnitPastCache checks units past the cache's bound still fold.
func TestNormUnitPastCache(t *testing.T) {
	for i := range 5000 {
		if got, want := criteria.NormUnit(fmt.Sprintf("X%d µG/L", i)), fmt.Sprintf("x%dug/l", i); got != want {
			t.Fatalf("NormUnit #%d = %q, want %q", i, got, want)
		}
	}
	if got := criteria.NormUnit("µmol/L"); got != "umol/l" {
		t.Errorf("after 5000 units, NormUnit(µmol/L) = %q", got)
	}
}

func TestOverlaps(t *testing.T) {
	child := criteria.Subgroup{To: 13 * criteria.Year}
	teen := criteria.Subgroup{From: 13 * criteria.Year, To: 18 * criteria.Year}
	adult := criteria.Subgroup{From: 18 * criteria.Year}
	// An age known to the day is the half-day range package ctcae passes.
	birthday13 := [2]float64{13 * criteria.Year, 13*criteria.Year + 0.5*criteria.Day}
	for _, tc := range []struct {
		g      criteria.Subgroup
		lo, hi float64
		want   bool
	}{
		{teen, birthday13[0], birthday13[1], true}, // From belongs to the subgroup
		{child, birthday13[0], birthday13[1], false},
		{teen, 14 * criteria.Year, 15 * criteria.Year, true},
		{teen, 10 * criteria.Year, 13 * criteria.Year, false}, // To of the range is open
		{teen, 10 * criteria.Year, 13*criteria.Year + criteria.Day, true},
		{teen, 18 * criteria.Year, 20 * criteria.Year, false}, // To of the subgroup is open
		{adult, 80 * criteria.Year, 90 * criteria.Year, true}, // no upper bound
		{adult, 0, 18 * criteria.Year, false},
	} {
		if got := tc.g.Overlaps(tc.lo, tc.hi); got != tc.want {
			t.Errorf("[%g, %g) Overlaps(%g, %g) = %v, want %v", tc.g.From, tc.g.To, tc.lo, tc.hi, got, tc.want)
		}
	}
}

// TestBoundarySemantics checks the example of the package doc against
// the table: ">3.0 - 5.0 x ULN" is grade 2, so 3.0 x ULN itself is grade 1.
func TestBoundarySemantics(t *testing.T) {
	alt := criteria.V403["ALT"]
	if len(alt) != 1 || len(alt[0].Scales) != 1 {
		t.Fatalf("V403 ALT = %+v, want one term of one scale", alt)
	}
	want := criteria.Band{Grade: 2, Op: criteria.GT, Ref: criteria.ULN, K: 3}
	if !slices.Contains(alt[0].Scales[0].Bands, want) {
		t.Errorf("V403 ALT bands %+v lack %+v", alt[0].Scales[0].Bands, want)
	}
}

// eachScale calls f with every scale of every term of every table.
func eachScale(f func(where string, term criteria.Term, s criteria.Scale)) {
	for name, table := range tables {
		for code, terms := range table {
			for _, term := range terms {
				where := fmt.Sprintf("%s %s %q", name, code, term.Name)
				for _, s := range slices.Concat(term.Scales, term.Worst) {
					f(where, term, s)
				}
				for _, g := range term.Subgroups {
					for _, s := range slices.Concat(g.Scales, g.Worst) {
						f(where+" "+g.Name, term, s)
					}
				}
			}
		}
	}
}

// TestTables checks the tables are well formed: every term grades
// something or says why not, its scales' units are folded, its grades are
// 1-5 on the side of normal the term grades, and, within one reference, a
// higher grade starts further from normal.
func TestTables(t *testing.T) {
	for name, table := range tables {
		if len(table) == 0 {
			t.Errorf("%s is empty", name)
		}
		for code, terms := range table {
			for _, term := range terms {
				if term.Dir != criteria.High && term.Dir != criteria.Low {
					t.Errorf("%s %s %q: direction %q", name, code, term.Name, term.Dir)
				}
				if len(term.Scales) == 0 && len(term.Subgroups) == 0 && term.NotGradable == "" {
					t.Errorf("%s %s %q grades nothing and says not why", name, code, term.Name)
				}
			}
		}
	}
	scales := 0
	eachScale(func(where string, term criteria.Term, s criteria.Scale) {
		scales++
		if s.Norm() != criteria.NormUnit(s.Unit) {
			t.Errorf("%s: scale %q folded to %q, want %q", where, s.Unit, s.Norm(), criteria.NormUnit(s.Unit))
		}
		for _, bands := range [][]criteria.Band{s.Bands, s.IfBaselineHigh, s.IfBaselineLow} {
			byRef := map[criteria.Ref][]criteria.Band{}
			for _, b := range bands {
				if b.Grade < 1 || b.Grade > 5 {
					t.Errorf("%s: band %+v of grade outside 1-5", where, b)
				}
				up := b.Op == criteria.GT || b.Op == criteria.GE
				if up != (term.Dir == criteria.High) {
					t.Errorf("%s: band %+v points away from the term's direction %s", where, b, term.Dir)
				}
				if b.Needs == "" {
					byRef[b.Ref] = append(byRef[b.Ref], b)
				}
			}
			for _, bs := range byRef {
				sort.SliceStable(bs, func(i, j int) bool { return bs[i].Grade < bs[j].Grade })
				for i := 1; i < len(bs); i++ {
					lo, hi := bs[i-1], bs[i]
					if lo.Grade == hi.Grade {
						continue
					}
					if (term.Dir == criteria.High && hi.K < lo.K) || (term.Dir == criteria.Low && hi.K > lo.K) {
						t.Errorf("%s: grade %d starts at %g, nearer normal than grade %d at %g", where, hi.Grade, hi.K, lo.Grade, lo.K)
					}
				}
			}
		}
	})
	if scales < 100 {
		t.Errorf("the tables hold %d scales, want over 100", scales)
	}
}

// TestSubgroupsCoverAges checks a term split by age covers every age at
// collection, for either sex, with exactly one subgroup.
func TestSubgroupsCoverAges(t *testing.T) {
	split := 0
	defer func() {
		if split == 0 {
			t.Error("no term is split by age")
		}
	}()
	for name, table := range tables {
		for code, terms := range table {
			for _, term := range terms {
				if len(term.Subgroups) == 0 {
					continue
				}
				split++
				for _, sex := range []string{"M", "F"} {
					for _, age := range []float64{0, 1, 7, 28, 29, 2 * criteria.Month, 6 * criteria.Month, criteria.Year, 2 * criteria.Year, 13 * criteria.Year, 17 * criteria.Year, 18 * criteria.Year, 60 * criteria.Year} {
						n := 0
						for _, g := range term.Subgroups {
							if (g.Sex == "" || g.Sex == sex) && g.From <= age && (g.To == 0 || age < g.To) {
								n++
							}
						}
						if n != 1 {
							t.Errorf("%s %s %q: %d subgroups for sex %s at %g days, want 1", name, code, term.Name, n, sex, age)
						}
					}
				}
			}
		}
	}
}
