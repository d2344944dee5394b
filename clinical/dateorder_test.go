package clinical

import (
	"testing"
)

func TestCompareDates(t *testing.T) {
	tests := []struct {
		a, b Date
		want Order
	}{
		{"2014-01-10", "2014-01-15", OrderBefore},
		{"2014-01-15", "2014-01-10", OrderAfter},
		{"2014-01-15", "2014-01-15", OrderSame},
		// Partial dates compare only at the precision both have.
		{"2014-01", "2014-01-15", OrderSame},
		{"2014-01-15", "2014-01", OrderSame},
		{"2014", "2014-06-01", OrderSame},
		{"2013-12", "2014-01-01", OrderBefore},
		{"2014-02", "2014-01-31", OrderAfter},
		{"2013", "2014-01", OrderBefore},
		// A time is compared with a date at day precision.
		{"2014-01-15T08:00", "2014-01-15", OrderSame},
		{"2014-07-02T11:45", "2014-07-02", OrderSame},
		{"2014-01-15T23:59:59", "2014-01-16", OrderBefore},
		{"2014-01-15T08:00", "2014-01-15T09", OrderBefore},
		{"2014-01-15T09:30", "2014-01-15T09", OrderSame},
		{"2014-01-15T09:30", "2014-01-15T09:29", OrderAfter},
		{"2014-01-15T09:30:00", "2014-01-15T09:30:01", OrderBefore},
		// Offsets are compared in UTC: 09:30+01:00 is 08:30Z.
		{"2014-01-15T09:30+01:00", "2014-01-15T09:00Z", OrderBefore},
		{"2014-01-15T09:30+01:00", "2014-01-15T08:30", OrderSame},
		{"2014-01-15T09:30+01:00", "2014-01-15T08:29:59.999", OrderAfter},
		{"2014-01-15T23:30-05:00", "2014-01-16", OrderSame}, // 04:30Z the next day
		{"2014-01-15T23:30-05:00", "2014-01-15", OrderAfter},
		// Fractional seconds are a precision of their own.
		{"2014-01-15T09:30:00.5", "2014-01-15T09:30:00", OrderSame},
		{"2014-01-15T09:30:00.25", "2014-01-15T09:30:00.5", OrderBefore},
		{"2014-01-15T09:30:00,75Z", "2014-01-15T09:30:00.5", OrderAfter},
		// Nothing can be said without both dates.
		{"", "2014-01-15", OrderUnknown},
		{"2014-01-15", "", OrderUnknown},
		{"2014-13-01", "2014-01-15", OrderUnknown},
		{"2014---15", "2014-01-15", OrderUnknown},
	}
	for _, tt := range tests {
		if got := CompareDates(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareDates(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestDaysBetween(t *testing.T) {
	tests := []struct {
		a, b     Date
		min, max int
		ok       bool
	}{
		{"2014-01-10", "2014-01-24", 14, 14, true},
		{"2014-01-24", "2014-01-10", -14, -14, true},
		{"2014-01-10", "2014-01-10", 0, 0, true},
		// Calendar days, not 24-hour periods.
		{"2014-01-10T23:00", "2014-01-11T01:00", 1, 1, true},
		{"2014-01-10T01:00", "2014-01-10T23:00", 0, 0, true},
		{"2016-02-28", "2016-03-01", 2, 2, true},
		// Calendar days in UTC: 22:00-05:00 on the 10th is the 11th.
		{"2014-01-10T22:00-05:00", "2014-01-11", 0, 0, true},
		{"2014-01-10T22:00:00.000-05:00", "2014-01-12T01:00+02:00", 0, 0, true},
		// Partial dates widen the range to every day they can mean.
		{"2014-01", "2014-02-10", 10, 40, true},
		{"2014-01-31", "2014-01", -30, 0, true},
		{"2014", "2014-01-01", -364, 0, true},
		{"", "2014-01-01", 0, 0, false},
		{"2014-01-01", "not a date", 0, 0, false},
	}
	for _, tt := range tests {
		min, max, ok := DaysBetween(tt.a, tt.b)
		if min != tt.min || max != tt.max || ok != tt.ok {
			t.Errorf("DaysBetween(%q, %q) = %d, %d, %v; want %d, %d, %v", tt.a, tt.b, min, max, ok, tt.min, tt.max, tt.ok)
		}
	}
}

func TestMayBeWithin(t *testing.T) {
	tests := []struct {
		a, b          Date
		within, known bool
	}{
		{"2014-01-10", "2014-01-10", true, true},
		{"2014-01-10", "2014-01-24", true, true},  // day 14: the last day in
		{"2014-01-10", "2014-01-25", false, true}, // day 15
		{"2014-01-10", "2014-01-09", false, true}, // the day before
		{"2014-01-10T23:59", "2014-01-24T00:01", true, true},
		{"2014-02-20", "2014-02", true, true}, // February may include the days after the 20th
		{"2014-02-20", "2014-01", false, true},
		{"", "2014-01-10", false, false},
	}
	for _, tt := range tests {
		within, known := MayBeWithin(tt.a, tt.b, 0, 14)
		if within != tt.within || known != tt.known {
			t.Errorf("MayBeWithin(%q, %q, 0, 14) = %v, %v; want %v, %v", tt.a, tt.b, within, known, tt.within, tt.known)
		}
	}
}
