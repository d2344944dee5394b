package sdtm

import (
	"fmt"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sdtm/internal/source"
)

// columnIndex maps a file's column names, as the conversion looks them up,
// to their places. A name given twice (whatever its case) makes the file
// ambiguous, and is refused.
func columnIndex(file string, header []string, lines bool) (map[string]int, error) {
	cols := make(map[string]int, len(header))
	for i, h := range header {
		name := source.ColumnName(h)
		j, dup := cols[name]
		switch {
		case !dup:
			cols[name] = i
		case name != "": // R writes an unnamed first column for row names
			pos := source.Position{}
			if lines {
				pos.Line = 1
			}
			return nil, pos.Error(file, name, fmt.Sprintf("the file has this column twice (columns %d and %d)", j+1, i+1))
		}
	}
	return cols, nil
}

// valueRange is two columns of a record the first of which may not be
// after the second: a normal range, or a start and an end date.
type valueRange struct {
	lo, hi column
	dates  bool
}

var ranges = map[string][]valueRange{
	"DM": {{cRFSTDTC, cRFENDTC, true}, {cRFXSTDTC, cRFXENDTC, true}},
	"EX": {{cEXSTDTC, cEXENDTC, true}},
	"AE": {{cAESTDTC, cAEENDTC, true}},
	"LB": {{cLBSTNRLO, cLBSTNRHI, false}},
	"CM": {{cCMSTDTC, cCMENDTC, true}},
}

// checkRanges refuses a record whose range is inverted, once both its ends
// are valid. Partial dates are compared to the precision they share, so
// 2014-03 ends after 2014-03-15 but not after 2014-04; dates with a time
// zone offset are compared in UTC.
func (r *row) checkRanges(domain string) {
	for _, rg := range ranges[domain] {
		if r.failed(rg.lo) || r.failed(rg.hi) {
			continue
		}
		if !rg.dates {
			low, _, _, okLo := r.number(rg.lo)
			high, _, _, okHi := r.number(rg.hi)
			if okLo && okHi && high < low {
				lo, hi := cellString(r.cell(rg.lo)), cellString(r.cell(rg.hi))
				r.fail(rg.hi.String(), fmt.Sprintf("%s is below %s %s: the range is inverted", quoted(hi), rg.lo, quoted(lo)))
			}
			continue
		}
		lo, hi := cellString(r.cell(rg.lo)), cellString(r.cell(rg.hi))
		if endsBefore(clinical.Date(hi), clinical.Date(lo)) {
			r.fail(rg.hi.String(), fmt.Sprintf("%s is before %s %s", quoted(hi), rg.lo, quoted(lo)))
		}
	}
}

// endsBefore reports whether every instant end can mean precedes every
// instant start can mean; false when either is empty.
func endsBefore(end, start clinical.Date) bool {
	_, endTo, ok1 := end.Span()
	startFrom, _, ok2 := start.Span()
	return ok1 && ok2 && !endTo.After(startFrom)
}
