package ctcae

import (
	"fmt"
	"strings"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae/criteria"
)

// subgroupFor picks the subgroup of the subject's age at the record's
// collection and sex. With a full birth date (BRTHDTC) the age is known to
// the day; otherwise it is a range: a partial birth date is the whole
// month or year, AGE is whole years at RFSTDTC (so at collection the
// subject is AGE to AGE+1 years old plus the time since RFSTDTC), and both
// known narrow each other. A range that spans two subgroups is not
// gradable.
func subgroupFor(t *criteria.Term, lab clinical.LabResult, s *clinical.Subject) (*criteria.Subgroup, string) {
	lo, hi, source, why := ageAt(s, lab.Date)
	if why != "" {
		return nil, fmt.Sprintf("%s: the criteria differ by age (%s), and %s", t.Name, subgroupNames(t), why)
	}
	var match *criteria.Subgroup
	for i := range t.Subgroups {
		g := &t.Subgroups[i]
		if !g.Overlaps(lo, hi) {
			continue
		}
		if g.Sex != "" {
			switch sex := strings.ToUpper(strings.TrimSpace(s.Sex)); {
			case sex != "M" && sex != "F":
				return nil, fmt.Sprintf("%s: the criteria differ by sex at this age, and SEX is %q", t.Name, s.Sex)
			case sex != g.Sex:
				continue
			}
		}
		if match != nil {
			return nil, fmt.Sprintf("%s: age at collection %.4g to %.4g years (%s) spans the criteria's subgroups %q and %q",
				t.Name, lo/criteria.Year, hi/criteria.Year, source, match.Name, g.Name)
		}
		match = g
	}
	if match == nil {
		return nil, fmt.Sprintf("%s: no criteria for age %.4g to %.4g years (%s)", t.Name, lo/criteria.Year, hi/criteria.Year, source)
	}
	return match, ""
}

func subgroupNames(t *criteria.Term) string {
	names := make([]string, len(t.Subgroups))
	for i, g := range t.Subgroups {
		names[i] = g.Name
	}
	return strings.Join(names, "; ")
}

// ageAt is the range [lo, hi) of the subject's age, in days, on date d,
// and what it was read from.
func ageAt(s *clinical.Subject, d clinical.Date) (lo, hi float64, source, why string) {
	if s == nil {
		return 0, 0, "", "the subject (DM) is not known"
	}
	if d == "" {
		return 0, 0, "", "the record has no collection date (LBDTC)"
	}
	blo, bhi, exact, byBirth := ageFromBirth(s.BirthDate, d)
	if exact {
		return blo, bhi, "BRTHDTC", ""
	}
	alo, ahi, why := ageFromAGE(s, d)
	switch {
	case why == "" && byBirth && max(alo, blo) < min(ahi, bhi):
		return max(alo, blo), min(ahi, bhi), "BRTHDTC and AGE at RFSTDTC", ""
	case byBirth:
		return blo, bhi, "BRTHDTC", ""
	case why == "":
		return alo, ahi, "AGE at RFSTDTC", ""
	}
	return 0, 0, "", why
}

// ageFromBirth is the age on d from birth date b. With both full dates it
// is exact: whole years by the calendar (a year of age starts on the
// birthday), then the days into the next as a fraction of it, in the
// 365.25-day years the subgroups are written in; the result spans the one
// day of collection. With either partial, it is every age the two spans
// allow. ok is false when b or d is not a date, or d is before b.
func ageFromBirth(b, d clinical.Date) (lo, hi float64, exact, ok bool) {
	bd, ok1 := b.Day()
	dd, ok2 := d.Day()
	if ok1 && ok2 {
		if dd.Before(bd) {
			return 0, 0, false, false
		}
		y := dd.Year() - bd.Year()
		if bd.AddDate(y, 0, 0).After(dd) {
			y--
		}
		from, to := bd.AddDate(y, 0, 0), bd.AddDate(y+1, 0, 0)
		age := (float64(y) + float64(dd.Sub(from))/float64(to.Sub(from))) * criteria.Year
		return age, age + 0.5*criteria.Day, true, true
	}
	b0, b1, ok1 := b.Span()
	d0, d1, ok2 := d.Span()
	if !ok1 || !ok2 || !d1.After(b0) {
		return 0, 0, false, false
	}
	return max(0, d0.Sub(b1).Hours()/24), d1.Sub(b0).Hours() / 24, false, true
}

// ageFromAGE is the range of the subject's age on d from AGE, whole years
// at RFSTDTC.
func ageFromAGE(s *clinical.Subject, d clinical.Date) (lo, hi float64, why string) {
	if s.Age <= 0 {
		return 0, 0, "the subject's AGE is not recorded, nor BRTHDTC"
	}
	ref, ok := s.RefStart.Time()
	if !ok {
		return 0, 0, "the subject's RFSTDTC is not recorded, nor BRTHDTC"
	}
	at, ok := d.Time()
	if !ok {
		return 0, 0, "the record has no collection date (LBDTC)"
	}
	lo = float64(s.Age)*criteria.Year + at.Sub(ref).Hours()/24
	return lo, lo + criteria.Year, ""
}
