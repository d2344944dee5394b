package wire

import (
	"time"

	"github.com/trialwatch/trialwatch/clinical/kri"
)

// KRISite is one site's value of one KRI; Score and Flag are null where
// the site has too little data.
type KRISite struct {
	KRI         string   `json:"kri"`
	Site        string   `json:"site"`
	Numerator   float64  `json:"numerator"`
	Denominator float64  `json:"denominator"`
	Metric      float64  `json:"metric"`
	Score       *float64 `json:"score"`
	Flag        *int     `json:"flag"`
	Streak      int      `json:"flagged_in_a_row"`
}

// RiskScore is a site's risk score over all its KRIs.
type RiskScore struct {
	Site  string  `json:"site"`
	Score float64 `json:"score"`
	Raw   float64 `json:"weight"`
	Max   float64 `json:"max_weight"`
	Red   int     `json:"red"`
	Amber int     `json:"amber"`
}

// QTL is one of the study's quality tolerance limits.
type QTL struct {
	QTL         string  `json:"qtl"`
	Name        string  `json:"name"`
	Numerator   float64 `json:"numerator"`
	Denominator float64 `json:"denominator"`
	Metric      float64 `json:"metric"`
	Limit       float64 `json:"limit"`
	Exceeded    bool    `json:"exceeded"`
}

// KRIs is GET /api/v1/studies/{study}/kris: the latest snapshot.
type KRIs struct {
	Study      string      `json:"study"`
	AsOf       time.Time   `json:"as_of"`
	Computed   time.Time   `json:"computed_at"`
	Snapshot   int64       `json:"snapshot"`
	KRIs       []KRISite   `json:"kris"`
	RiskScores []RiskScore `json:"risk_scores"`
	QTLs       []QTL       `json:"qtls"`
}

// KRIBound is the funnel at one denominator.
type KRIBound struct {
	Denominator float64             `json:"denominator"`
	Expected    float64             `json:"expected"`
	Limits      map[string]*float64 `json:"limits"` // threshold → metric; null below 0
}

// KRIDetail is GET /api/v1/studies/{study}/kris/{kri}: a KRI's definition,
// its sites and the funnel bounds at their denominators.
type KRIDetail struct {
	KRI            string     `json:"kri"`
	Name           string     `json:"name"`
	Numerator      string     `json:"numerator"`
	Denominator    string     `json:"denominator"`
	Model          kri.Model  `json:"model"`
	Thresholds     []float64  `json:"thresholds"`
	Flags          []int      `json:"flags"`
	MinDenominator float64    `json:"min_denominator"`
	AsOf           time.Time  `json:"as_of"`
	Snapshot       int64      `json:"snapshot"`
	Overall        float64    `json:"study_metric"`
	Factor         float64    `json:"overdispersion"`
	Sites          []KRISite  `json:"sites"`
	Bounds         []KRIBound `json:"bounds"`
}

// KRIHistoryPoint is a site's KRI in one snapshot.
type KRIHistoryPoint struct {
	Snapshot int64     `json:"snapshot"`
	AsOf     time.Time `json:"as_of"`
	KRISite
}

// KRIHistory is GET .../kris/{kri}/sites/{site}/history, newest first.
type KRIHistory struct {
	KRI     string            `json:"kri"`
	Site    string            `json:"site"`
	Streak  int               `json:"flagged_in_a_row"`
	History []KRIHistoryPoint `json:"history"`
}
