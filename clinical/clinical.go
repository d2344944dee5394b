// Package clinical holds trialwatch's domain: the study data a monitor looks
// at (subjects, doses, adverse events, lab results) and the signals raised
// from it. It is pure code: no I/O, no transport, no storage.
package clinical

import (
	"errors"
	"strings"
	"time"
)

// ErrNotFound is returned by any source or store when the requested study
// or subject does not exist.
var ErrNotFound = errors.New("not found")

// Study identifies a clinical trial (SDTM STUDYID).
type Study struct {
	ID    string
	Title string
}

// Subject is one enrolled participant (SDTM DM).
type Subject struct {
	Study       string
	USUBJID     string
	Site        string
	Sex         string
	Age         int // years; 0 when not recorded
	Arm         string
	ConsentDate Date // RFICDTC
	// RefStart and RefEnd are the subject's reference period (RFSTDTC,
	// RFENDTC): days on study for site key risk indicators.
	RefStart   Date
	RefEnd     Date
	FirstDose  Date // RFXSTDTC
	LastDose   Date // RFXENDTC
	EndOfStudy Date // RFPENDTC
	DeathDate  Date // DTHDTC
	// BirthDate (BRTHDTC) is often partial or not collected; with it, age
	// at a collection is known to the day (DAIDS's neonatal subgroups).
	BirthDate Date
}

// Dose is one exposure record (SDTM EX).
type Dose struct {
	Study     string
	USUBJID   string
	Seq       int
	Treatment string
	Dose      float64
	HasDose   bool // EXDOSE may be missing; zero is a real placebo dose
	Unit      string
	Route     string
	Start     Date
	End       Date
}

// AdverseEvent is one reported event (SDTM AE).
type AdverseEvent struct {
	Study      string
	USUBJID    string
	Seq        int
	Term       string // AETERM, as reported
	Decoded    string // AEDECOD, MedDRA preferred term
	BodySystem string
	Severity   string // AESEV: MILD, MODERATE, SEVERE
	Serious    bool   // AESER = Y
	Start      Date
	End        Date
	Recorded   Date // AEDTC: when the event was recorded
	// EntryLag is how many days after its onset the record was first
	// stored; HasEntryLag is false when the onset is partial or missing,
	// or the source does not know (data entered late, a site KRI).
	EntryLag    int
	HasEntryLag bool
}

// ConMed is one concomitant medication (SDTM CM).
type ConMed struct {
	Study   string
	USUBJID string
	Seq     int
	Term    string // CMTRT, as reported
	Decoded string // CMDECOD, standardized (WHO Drug) name
	Start   Date
	End     Date
}

// Disposition is one disposition event (SDTM DS): randomization,
// completion, discontinuation and why.
type Disposition struct {
	Study    string
	USUBJID  string
	Seq      int
	Term     string // DSTERM, as reported
	Decoded  string // DSDECOD, e.g. RANDOMIZED, COMPLETED, ADVERSE EVENT
	Category string // DSCAT, e.g. DISPOSITION EVENT, PROTOCOL MILESTONE
	Epoch    string // EPOCH, e.g. TREATMENT; empty when the study has none
	Start    Date   // DSSTDTC
}

// LabResult is one lab measurement (SDTM LB) in standardised units.
type LabResult struct {
	Study    string
	USUBJID  string
	Seq      int
	TestCode string // LBTESTCD
	Test     string // LBTEST
	Category string
	Value    float64 // LBSTRESN
	HasValue bool
	Unit     string  // LBSTRESU
	Low      float64 // LBSTNRLO
	HasLow   bool
	High     float64 // LBSTNRHI
	HasHigh  bool
	Baseline bool // LBBLFL = Y
	Date     Date
	Visit    string
}

// Date is an ISO 8601 date as SDTM records it: possibly partial ("2014",
// "2014-01") or with a time, which may carry fractional seconds and a
// time zone offset ("2014-01-15T08:30:00.250+01:00"). The original text is
// kept so nothing is lost; Time gives the earliest instant it can mean.
type Date string

// Time parses the date, filling missing parts with their earliest value.
// ok is false when the date is empty or not ISO 8601. A date with an
// offset is converted to UTC; one without is read as UTC, so dates of
// both kinds compare on one clock.
//
// It accepts the layouts 2006, 2006-01, 2006-01-02, 2006-01-02T15,
// 2006-01-02T15:04 and 2006-01-02T15:04:05, the last with a fraction of
// one to nine digits after "." or ",", and any layout with a time followed
// by Z, ±hh:mm, ±hhmm or ±hh (hours to 23, minutes to 59). It reads the
// fields by hand: every date of every record is parsed on import and again
// by the rules, and time.Parse was a good part of both.
func (d Date) Time() (t time.Time, ok bool) {
	t, _, ok = d.parse()
	return t, ok
}

// Day gives the calendar day (midnight UTC) of a date that names one: the
// UTC day, so "2014-01-15T23:30-05:00" is 2014-01-16. ok is false for a
// partial date ("2014-01"), an empty one, or one not ISO 8601.
func (d Date) Day() (day time.Time, ok bool) {
	t, p, ok := d.parse()
	if !ok || p < precisionDay {
		return time.Time{}, false
	}
	return t.Truncate(24 * time.Hour), true
}

// UTC writes a date recorded with a time zone offset in UTC, at the
// precision it has: "2014-01-15T23:30-05:00" is "2014-01-16T04:30Z". Any
// other date (no offset, partial, or not ISO 8601) is returned as it is.
// Stored so, dates compare as text in the order of time: the text of an
// offset date can name a day before or after its UTC day.
func (d Date) UTC() Date {
	t, p, ok := d.parse()
	if !ok || p < precisionHour {
		return d
	}
	var l string
	switch p {
	case precisionHour:
		l = "2006-01-02T15"
	case precisionMinute:
		l = "2006-01-02T15:04"
	default:
		l = "2006-01-02T15:04:05"
		if p > precisionSecond {
			l += "." + strings.Repeat("0", int(p-precisionSecond))
		}
	}
	if len(d) == len(l) {
		return d // no offset: already read as UTC
	}
	return Date(t.Format(l) + "Z")
}

// Span gives the stretch of time the date can mean, [from, to): a year
// for "2014", a day for "2014-01-15", a millisecond for
// "2014-01-15T08:30:00.250". ok is false as for Time.
func (d Date) Span() (from, to time.Time, ok bool) {
	from, p, ok := d.parse()
	if !ok {
		return time.Time{}, time.Time{}, false
	}
	switch p {
	case precisionYear:
		return from, from.AddDate(1, 0, 0), true
	case precisionMonth:
		return from, from.AddDate(0, 1, 0), true
	case precisionDay:
		return from, from.AddDate(0, 0, 1), true
	case precisionHour:
		return from, from.Add(time.Hour), true
	case precisionMinute:
		return from, from.Add(time.Minute), true
	}
	step := time.Second // precisionSecond; each fraction digit divides it by ten
	for range p - precisionSecond {
		step /= 10
	}
	return from, from.Add(step), true
}

// precision is the smallest unit a date states; past precisionSecond,
// each step is one digit of fraction.
type precision int

const (
	precisionYear precision = iota
	precisionMonth
	precisionDay
	precisionHour
	precisionMinute
	precisionSecond
)

func (d Date) parse() (t time.Time, p precision, ok bool) {
	s := string(d)
	if len(s) < 4 {
		return time.Time{}, 0, false
	}
	year, ok := digits(s[:4])
	if !ok {
		return time.Time{}, 0, false
	}
	// month, day, hour, minute, second: each two digits after its
	// separator, within its range (the day's upper bound is checked below).
	const seps = "--T::"
	lo := [5]int{1, 1, 0, 0, 0}
	hi := [5]int{12, 31, 23, 59, 59}
	f := [5]int{1, 1, 0, 0, 0}
	at := 4
	for i := 0; i < len(f) && at < len(s) && s[at] == seps[i]; i, at, p = i+1, at+3, p+1 {
		if at+3 > len(s) {
			return time.Time{}, 0, false
		}
		n, ok := digits(s[at+1 : at+3])
		if !ok || n < lo[i] || n > hi[i] {
			return time.Time{}, 0, false
		}
		f[i] = n
	}
	nsec := 0
	if p == precisionSecond && at < len(s) && (s[at] == '.' || s[at] == ',') {
		end := at + 1
		for end < len(s) && s[end] >= '0' && s[end] <= '9' {
			end++
		}
		if end == at+1 || end-at-1 > 9 {
			return time.Time{}, 0, false
		}
		nsec, _ = digits(s[at+1 : end])
		for range 9 - (end - at - 1) {
			nsec *= 10
		}
		p += precision(end - at - 1)
		at = end
	}
	loc := time.UTC
	if at < len(s) {
		if p < precisionHour {
			return time.Time{}, 0, false // an offset needs a time; "2014-01-15T" is not a date
		}
		offset, ok := zoneOffset(s[at:])
		if !ok {
			return time.Time{}, 0, false
		}
		if offset != 0 {
			loc = time.FixedZone("", offset)
		}
	}
	t = time.Date(year, time.Month(f[0]), f[1], f[2], f[3], f[4], nsec, loc)
	if t.Day() != f[1] { // a day past the month's end rolled over
		return time.Time{}, 0, false
	}
	return t.UTC(), p, true
}

// zoneOffset reads an ISO 8601 time zone designator: Z, ±hh:mm, ±hhmm
// or ±hh, as seconds east of UTC.
func zoneOffset(z string) (int, bool) {
	if z == "Z" {
		return 0, true
	}
	if len(z) != 3 && len(z) != 5 && len(z) != 6 || z[0] != '+' && z[0] != '-' {
		return 0, false
	}
	h, ok := digits(z[1:3])
	m := 0
	switch {
	case !ok || h > 23:
		return 0, false
	case len(z) == 5:
		m, ok = digits(z[3:5])
	case len(z) == 6:
		m, ok = digits(z[4:6])
		ok = ok && z[3] == ':'
	}
	if !ok || m > 59 {
		return 0, false
	}
	off := h*3600 + m*60
	if z[0] == '-' {
		off = -off
	}
	return off, true
}

// digits reads s, all ASCII digits, as a number.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// IsZero reports whether no date was recorded.
func (d Date) IsZero() bool { return d == "" }

// ErrConflict is returned by a write that another write, at the same
// time, made impossible (two uploads adding the same new rows): nothing
// of it is stored, and sending it again compares with what the other one
// stored.
var ErrConflict = errors.New("changed by another write at the same time")

// ErrUnavailable is returned by a data source that cannot be reached:
// connection refused or reset, or the service says it is unavailable.
var ErrUnavailable = errors.New("unavailable")
