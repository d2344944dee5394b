package wire

import (
	"time"

	"github.com/trialwatch/trialwatch/clinical"
)

// Signal is a signal as every checker API answers it: in the list, one
// signal's detail, a check's findings and a subject profile's.
type Signal struct {
	ID       int64             `json:"id,omitempty"`
	Study    string            `json:"study"`
	Site     string            `json:"site"`
	Subject  string            `json:"subject"`
	Rule     clinical.Rule     `json:"rule"`
	Severity clinical.Severity `json:"severity"`
	Key      string            `json:"key"`
	Evidence map[string]any    `json:"evidence"`
	Message  string            `json:"message"`
	Created  time.Time         `json:"created"`
	Status   string            `json:"status,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	Updated  *time.Time        `json:"updated,omitempty"`
	// The finding's first and last record dates; "" when unknown.
	FirstDate clinical.Date `json:"first_date"`
	LastDate  clinical.Date `json:"last_date"`
}

// SignalList is GET /api/v1/studies/{study}/signals: a page of signals,
// and the token of the next page when there is one.
type SignalList struct {
	Signals       []Signal `json:"signals"`
	NextPageToken string   `json:"next_page_token,omitempty"`
}

// SignalDetail is GET and PATCH .../signals/{id}: the signal and its
// review history, oldest first.
type SignalDetail struct {
	Signal
	History []StatusChange `json:"history"`
}

// StatusChange is one step of a signal's review.
type StatusChange struct {
	At     time.Time             `json:"at"`
	Actor  string                `json:"actor"`
	From   clinical.SignalStatus `json:"from"`
	To     clinical.SignalStatus `json:"to"`
	Reason string                `json:"reason"`
}

// StatusPatch is the body of PATCH .../signals/{id}. Who acts is the
// authenticated caller, never a field of the body.
type StatusPatch struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// SignalCount is one line of GET .../signals/summary: how many signals
// have a rule, severity and status (and site, with by=site).
type SignalCount struct {
	Site     string                `json:"site,omitempty"`
	Rule     clinical.Rule         `json:"rule"`
	Severity clinical.Severity     `json:"severity"`
	Status   clinical.SignalStatus `json:"status"`
	N        int                   `json:"count"`
}

// SignalSummary is GET .../signals/summary. Its fields stand in the order
// of their names, as the answer has always had them.
type SignalSummary struct {
	Counts []SignalCount `json:"counts"`
	Study  string        `json:"study"`
	Total  int           `json:"total"`
}
