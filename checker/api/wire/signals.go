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
