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
	FirstDose   Date // RFXSTDTC
	LastDose    Date // RFXENDTC
	EndOfStudy  Date // RFPENDTC
	DeathDate   Date // DTHDTC
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
func (d Date) Time() (t time.Time, ok bool) {
	s := string(d)
	for _, layout := range []string{
		"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02T15", "2006-01-02",
		"2006-01", "2006",
	} {
		if len(s) != len(layout) {
			continue
		}
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// IsZero reports whether no date was recorded.
func (d Date) IsZero() bool { return d == "" }

// ErrUnavailable is returned by a data source that cannot be reached:
// connection refused or reset, or the service says it is unavailable.
var ErrUnavailable = errors.New("unavailable")
