// Package clinical holds trialwatch's domain: the study data a monitor looks
// at (subjects, doses, adverse events, lab results) and the signals raised
// from it. It is pure code: no I/O, no transport, no storage.
package clinical

import (
	"errors"
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
// "2014-01") or with a time. The original text is kept so nothing is lost;
// Time gives the earliest instant it can mean.
type Date string

// Time parses the date, filling missing parts with their earliest value.
// ok is false when the date is empty or not ISO 8601.
//
// It accepts exactly what time.Parse does with the layouts 2006,
// 2006-01, 2006-01-02, 2006-01-02T15, 2006-01-02T15:04 and
// 2006-01-02T15:04:05, but reads the fixed-width fields by hand: every
// date of every record is parsed on import and again by the rules, and
// time.Parse was a good part of both.
func (d Date) Time() (t time.Time, ok bool) {
	s := string(d)
	switch len(s) {
	case 4, 7, 10, 13, 16, 19:
	default:
		return time.Time{}, false
	}
	year, ok := digits(s[:4])
	if !ok {
		return time.Time{}, false
	}
	// month, day, hour, minute, second: each two digits after its
	// separator, within its range (the day's upper bound is checked below).
	const seps = "--T::"
	lo := [5]int{1, 1, 0, 0, 0}
	hi := [5]int{12, 31, 23, 59, 59}
	f := [5]int{1, 1, 0, 0, 0}
	for i, at := 0, 4; at < len(s); i, at = i+1, at+3 {
		n, ok := digits(s[at+1 : at+3])
		if s[at] != seps[i] || !ok || n < lo[i] || n > hi[i] {
			return time.Time{}, false
		}
		f[i] = n
	}
	t = time.Date(year, time.Month(f[0]), f[1], f[2], f[3], f[4], 0, time.UTC)
	if t.Day() != f[1] { // a day past the month's end rolled over
		return time.Time{}, false
	}
	return t, true
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
