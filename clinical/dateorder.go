package clinical

import "time"

// SDTM dates may be partial ("2014", "2014-01") or carry a time, with
// fractional seconds and a time zone offset; dates with an offset are
// compared in UTC, and those without are read as UTC. A partial date is
// not a point but a stretch of time (Date.Span), so rules never compare
// them as strings or as their earliest instant: "2014-01" vs "2014-01-15"
// cannot say which came first, and a protocol-deviation signal raised on
// such a guess would be a false accusation against a site.

// Order is how two possibly partial dates compare.
type Order int

const (
	// OrderUnknown: a date is missing or not ISO 8601.
	OrderUnknown Order = iota
	// OrderBefore: every instant the first date can mean precedes every
	// instant the second can mean.
	OrderBefore
	// OrderSame: the dates agree at the precision both have ("2014-01" and
	// "2014-01-15", or "2014-01-15T08:00" and "2014-01-15"), so neither can
	// be said to come first.
	OrderSame
	// OrderAfter: the first date certainly follows the second.
	OrderAfter
)

var orderNames = [...]string{"unknown", "before", "same", "after"}

func (o Order) String() string { return orderNames[o] }

// CompareDates says whether a certainly precedes or follows b, comparing
// only at the precision both dates have.
func CompareDates(a, b Date) Order {
	aFrom, aTo, ok1 := a.Span()
	bFrom, bTo, ok2 := b.Span()
	switch {
	case !ok1 || !ok2:
		return OrderUnknown
	case !aTo.After(bFrom):
		return OrderBefore
	case !aFrom.Before(bTo):
		return OrderAfter
	}
	// ISO 8601 truncations nest, so spans that are not disjoint share the
	// coarser one: the dates are equal at the common precision.
	return OrderSame
}

// DaysBetween gives the range of whole calendar days from a to b that the
// two dates allow: min == max when both are full dates, a wider range when
// either is partial ("2014-01" to "2014-02-10" is 10 to 40 days). ok is
// false when either date is missing or not ISO 8601.
func DaysBetween(a, b Date) (min, max int, ok bool) {
	af, al, ok1 := a.DayRange()
	bf, bl, ok2 := b.DayRange()
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	return bf - al, bl - af, true
}

// MayBeWithin reports whether b can fall lo to hi days (inclusive) after a,
// and known whether both dates could be placed at all.
func MayBeWithin(a, b Date, lo, hi int) (within, known bool) {
	min, max, ok := DaysBetween(a, b)
	if !ok {
		return false, false
	}
	return max >= lo && min <= hi, true
}

// DayRange gives the first and last calendar day (UTC) the date's span
// touches, as day numbers (days since 1970-01-01), so day windows ignore
// clock times. ok is false when the date is missing or not ISO 8601.
func (d Date) DayRange() (first, last int, ok bool) {
	from, to, ok := d.Span()
	if !ok {
		return 0, 0, false
	}
	return dayNumber(from), dayNumber(to.Add(-time.Nanosecond)), true
}

func dayNumber(t time.Time) int {
	y, m, d := t.Date()
	return int(time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}
