package reviewapi

import (
	"github.com/trialwatch/trialwatch/checker/api/wire"
	"github.com/trialwatch/trialwatch/clinical"
)

// SignalsJSON is sigs as the API answers them.
func SignalsJSON(sigs []clinical.Signal) []wire.Signal {
	out := make([]wire.Signal, len(sigs))
	for i, s := range sigs {
		out[i] = wire.Signal{ID: s.ID, Study: s.Study, Site: s.Site, Subject: s.USUBJID, Rule: s.Rule,
			Severity: s.Severity, Key: s.Key, Evidence: s.Evidence, Message: s.Message, Created: s.Created,
			Status: string(s.Status), Reason: s.Reason, FirstDate: s.First, LastDate: s.Last}
		if !s.Updated.IsZero() {
			out[i].Updated = &s.Updated
		}
	}
	return out
}
