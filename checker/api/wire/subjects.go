package wire

import (
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
	"github.com/trialwatch/trialwatch/clinical/rules/liver"
)

// SubjectRow is a subject in GET /api/v1/studies/{study}/subjects.
type SubjectRow struct {
	Subject   string                    `json:"subject"`
	Site      string                    `json:"site"`
	Sex       string                    `json:"sex"`
	Age       *int                      `json:"age"` // null when not recorded
	Arm       string                    `json:"arm"`
	FirstDose clinical.Date             `json:"first_dose"`
	Open      map[clinical.Severity]int `json:"open_findings"` // new or acknowledged, by severity
	OpenTotal int                       `json:"open_findings_total"`
}

// Subjects is GET /api/v1/studies/{study}/subjects.
type Subjects struct {
	Study    string       `json:"study"`
	Subjects []SubjectRow `json:"subjects"`
}

// ProfileSources says how the read of each of a profile's sources ended:
// ok, timeout, unavailable or error (checker.Status).
type ProfileSources struct {
	Subject       string `json:"subject"`
	Exposure      string `json:"exposure"`
	AdverseEvents string `json:"adverse_events"`
	Labs          string `json:"labs"`
}

// SubjectProfile is GET /api/v1/studies/{study}/subjects/{subject}.
type SubjectProfile struct {
	Study       string        `json:"study"`
	Subject     string        `json:"subject"`
	Site        string        `json:"site"`
	Sex         string        `json:"sex"`
	Age         *int          `json:"age"`
	Arm         string        `json:"arm"`
	ConsentDate clinical.Date `json:"consent_date"`
	RefStart    clinical.Date `json:"reference_start"`
	RefEnd      clinical.Date `json:"reference_end"`
	FirstDose   clinical.Date `json:"first_dose"`
	LastDose    clinical.Date `json:"last_dose"`
	EndOfStudy  clinical.Date `json:"end_of_study"`
	DeathDate   clinical.Date `json:"death_date"`
	// Criteria is the CTCAE version the labs are graded with: the study's.
	Criteria ctcae.Criteria `json:"ctcae"`
	// Complete is false when a source failed; its records are then left
	// out (empty), and Sources says which.
	Complete      bool           `json:"complete"`
	Sources       ProfileSources `json:"sources"`
	Labs          []Lab          `json:"labs"`
	Doses         []Dose         `json:"doses"`
	AdverseEvents []AdverseEvent `json:"adverse_events"`
	// Findings are the subject's signals, newest first; more follow on
	// GET .../signals?subject=…&page_token=FindingsNextPageToken.
	Findings              []Signal `json:"findings"`
	FindingsNextPageToken string   `json:"findings_next_page_token,omitempty"`
	// GradeBands are where each CTCAE grade starts, per graded test, for
	// plots.
	GradeBands []GradeBand `json:"grade_bands"`
}

// Lab is a lab result of a profile, graded with the study's criteria.
type Lab struct {
	Seq      int           `json:"seq"`
	TestCode string        `json:"test_code"`
	Test     string        `json:"test"`
	Category string        `json:"category"`
	Visit    string        `json:"visit"`
	Date     clinical.Date `json:"date"`
	Value    *float64      `json:"value"` // null when not recorded
	Unit     string        `json:"unit"`
	Low      *float64      `json:"low"`  // reference range, LBSTNRLO
	High     *float64      `json:"high"` // LBSTNRHI
	// BaselineFlag is LBBLFL = Y; BaselineSeq is the record the grades
	// are relative to (flagged, else the last before first dose), which
	// may be this one.
	BaselineFlag bool `json:"baseline_flag"`
	BaselineSeq  *int `json:"baseline_seq"`
	// OutOfRange is "high" or "low" when the value is outside the
	// reference range, with Ratio its ×ULN or ×LLN.
	OutOfRange clinical.Direction `json:"out_of_range,omitempty"`
	Ratio      float64            `json:"ratio,omitempty"`
	Grades     []LabGrade         `json:"grades"` // CTCAE terms of the test, with the study's criteria
}

// LabGrade is a lab result's grade for one CTCAE term.
type LabGrade struct {
	Term      string          `json:"term"`
	Direction ctcae.Direction `json:"direction"`
	Grade     *int            `json:"grade"` // null when not gradable
	Reason    string          `json:"reason,omitempty"`
}

// Dose is an exposure record of a profile.
type Dose struct {
	Seq       int           `json:"seq"`
	Treatment string        `json:"treatment"`
	Dose      *float64      `json:"dose"`
	Unit      string        `json:"unit"`
	Route     string        `json:"route"`
	Start     clinical.Date `json:"start"`
	End       clinical.Date `json:"end"`
}

// AdverseEvent is an adverse event of a profile.
type AdverseEvent struct {
	Seq        int           `json:"seq"`
	Term       string        `json:"term"`
	Decoded    string        `json:"decoded"`
	BodySystem string        `json:"body_system"`
	Severity   string        `json:"severity"`
	Serious    bool          `json:"serious"`
	Start      clinical.Date `json:"start"`
	End        clinical.Date `json:"end"`
	Recorded   clinical.Date `json:"recorded"`
}

// GradeBand is where each CTCAE grade of one term starts, in the unit
// of the test's results: what a plot of the test draws its grade bands
// from.
type GradeBand struct {
	TestCode  string          `json:"test_code"`
	Term      string          `json:"term"`
	Direction ctcae.Direction `json:"direction"`
	Unit      string          `json:"unit"`
	// Seq is the record the thresholds were found for: the test's last
	// with a value. They depend on its reference range and baseline, so
	// records with other ranges may have other thresholds.
	Seq    int          `json:"seq"`
	Limits []GradeLimit `json:"limits"`
}

// GradeLimit: a value past Value (above for a "high" term, below for
// a "low" one) is at least Grade.
type GradeLimit struct {
	Grade int     `json:"grade"`
	Value float64 `json:"value"`
}

// EDISHPoint is a subject's peaks in GET /api/v1/studies/{study}/edish.
type EDISHPoint struct {
	Subject       string            `json:"subject"`
	Site          string            `json:"site"`
	Arm           string            `json:"arm"`
	ALT           float64           `json:"alt_xuln"`
	AST           float64           `json:"ast_xuln"`
	Transaminase  float64           `json:"transaminase_xuln"`
	Bilirubin     float64           `json:"bilirubin_xuln"`
	ALP           float64           `json:"alp_xuln"`
	Quadrant      string            `json:"quadrant"`
	ALTSeq        int               `json:"alt_lbseq,omitempty"`
	ASTSeq        int               `json:"ast_lbseq,omitempty"`
	BilirubinSeq  int               `json:"bilirubin_lbseq,omitempty"`
	ALPSeq        int               `json:"alp_lbseq,omitempty"`
	ALTDate       string            `json:"alt_date,omitempty"`
	ASTDate       string            `json:"ast_date,omitempty"`
	BilirubinDate string            `json:"bilirubin_date,omitempty"`
	ALPDate       string            `json:"alp_date,omitempty"`
	MDISH         *liver.MDISHPoint `json:"mdish,omitempty"`
}

// EDISH is GET /api/v1/studies/{study}/edish. Its fields stand in the
// order of their names, as the answer has always had them.
type EDISH struct {
	MDISHCeilingUL float64      `json:"mdish_ceiling_ul"`
	MDISHXLimit    float64      `json:"mdish_x_limit_xbaseline"`
	MDISHYLimit    float64      `json:"mdish_y_limit_xbaseline"`
	Study          string       `json:"study"`
	Subjects       []EDISHPoint `json:"subjects"`
	XLimit         float64      `json:"x_limit_xuln"`
	YLimit         float64      `json:"y_limit_xuln"`
}
