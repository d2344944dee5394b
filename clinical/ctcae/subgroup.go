package ctcae

import (
	"fmt"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
)

// Ages are in days: a year is 365.25 days, a month 30.4375.
const (
	days   = 1.0
	months = 30.4375
	years  = 365.25
)

// subgroup is the criteria of a term for one age range (and sex), as
// DAIDS splits its tables.
type subgroup struct {
	name string // as the criteria write it, e.g. "≥ 13 years of age (male only)"
	// from ≤ age at collection < to, in days; to 0 is no upper bound.
	from, to float64
	sex      string // "M" or "F"; "" for both
	scales   []scale
	worst    []scale
	// notGradable, when set, says why the criteria grade nothing for
	// this subgroup.
	notGradable string
}

func ageRange(name string, from, to float64) subgroup {
	return subgroup{name: name, from: from, to: to}
}

func (g subgroup) with(scales ...scale) subgroup { g.scales = scales; return g }

func (g subgroup) male() subgroup   { g.sex = "M"; return g }
func (g subgroup) female() subgroup { g.sex = "F"; return g }

func (g subgroup) none(why string) subgroup { g.notGradable = why; return g }

func (g subgroup) overlaps(lo, hi float64) bool { return g.from < hi && (g.to == 0 || lo < g.to) }

// subgroupFor picks the subgroup of the subject's age at the record's
// collection and sex. The age is known as a range: AGE is whole years at
// RFSTDTC, so at collection the subject is AGE to AGE+1 years old plus the
// time since RFSTDTC. A range that spans two subgroups is not gradable.
func (t *term) subgroupFor(lab clinical.LabResult, s *clinical.Subject) (*subgroup, string) {
	lo, hi, why := ageAt(s, lab.Date)
	if why != "" {
		return nil, fmt.Sprintf("%s: the criteria differ by age (%s), and %s", t.name, t.subgroupNames(), why)
	}
	var match *subgroup
	for i := range t.subgroups {
		g := &t.subgroups[i]
		if !g.overlaps(lo, hi) {
			continue
		}
		if g.sex != "" {
			switch sex := strings.ToUpper(strings.TrimSpace(s.Sex)); {
			case sex != "M" && sex != "F":
				return nil, fmt.Sprintf("%s: the criteria differ by sex at this age, and SEX is %q", t.name, s.Sex)
			case sex != g.sex:
				continue
			}
		}
		if match != nil {
			return nil, fmt.Sprintf("%s: age at collection %.4g to %.4g years (AGE at RFSTDTC) spans the criteria's subgroups %q and %q",
				t.name, lo/years, hi/years, match.name, g.name)
		}
		match = g
	}
	if match == nil {
		return nil, fmt.Sprintf("%s: no criteria for age %.4g to %.4g years", t.name, lo/years, hi/years)
	}
	return match, ""
}

func (t *term) subgroupNames() string {
	names := make([]string, len(t.subgroups))
	for i, g := range t.subgroups {
		names[i] = g.name
	}
	return strings.Join(names, "; ")
}

// ageAt is the range of the subject's age, in days, on date d.
func ageAt(s *clinical.Subject, d clinical.Date) (lo, hi float64, why string) {
	if s == nil {
		return 0, 0, "the subject (DM) is not known"
	}
	if s.Age <= 0 {
		return 0, 0, "the subject's AGE is not recorded"
	}
	ref, ok := s.RefStart.Time()
	if !ok {
		return 0, 0, "the subject's RFSTDTC is not recorded"
	}
	at, ok := d.Time()
	if !ok {
		return 0, 0, "the record has no collection date (LBDTC)"
	}
	lo = float64(s.Age)*years + at.Sub(ref).Hours()/24
	return lo, lo + years, ""
}
