package local

import (
	"context"
	"database/sql"

	"github.com/trialwatch/trialwatch/checker/labs"
	"github.com/trialwatch/trialwatch/clinical"
)

// labHandoff gathers, as an upload streams, each subject's lab results,
// so that those of the subjects the upload gives their first ones can be
// handed to the checker once committed (labs.Store.Remember): the
// checks the upload queues then need not read them back.
//
// The reading side adds (add); the store tells the storing side which
// subjects get their first lab results (gaveFirst); firstTx, after both
// are done, reads those subjects' versions. A nil *labHandoff hands
// nothing over.
type labHandoff struct {
	parts [][]clinical.LabResult // as read; nil past handoffLabs
	n     int
	first map[string]bool // the subjects given their first lab results, see gaveFirst
}

// handoffLabs bounds the lab results an upload gathers, as the checker
// bounds those it keeps (200,000); a bigger upload hands over none.
const handoffLabs = 200_000

func newLabHandoff() *labHandoff { return &labHandoff{first: map[string]bool{}} }

// add keeps a part's lab results as they are: the reader makes each
// part's anew.
func (h *labHandoff) add(labs []clinical.LabResult) {
	if h == nil {
		return
	}
	if h.n += len(labs); h.n > handoffLabs {
		h.parts = nil
		return
	}
	h.parts = append(h.parts, labs)
}

// bySubject groups the lab results read by subject, each subject's in
// the order read, as runs of the parts (a file's records come grouped by
// subject, so a subject has few).
func (h *labHandoff) bySubject() map[string][][]clinical.LabResult {
	out := map[string][][]clinical.LabResult{}
	for _, labs := range h.parts {
		for start := 0; start < len(labs); {
			end := start + 1
			for end < len(labs) && labs[end].USUBJID == labs[start].USUBJID {
				end++
			}
			id := labs[start].USUBJID
			out[id] = append(out[id], labs[start:end])
			start = end
		}
	}
	return out
}

// gaveFirst notes a subject this upload gives its first lab results (see
// labs.Rows.FirstLabs).
func (h *labHandoff) gaveFirst(usubjid string) { h.first[usubjid] = true }

// firstTx returns the lab results of the subjects given their first ones
// by this upload, and their lab versions as tx leaves them; none past
// the bound.
func (h *labHandoff) firstTx(ctx context.Context, store *labs.Store, tx *sql.Tx, study string) (map[string][][]clinical.LabResult, map[string]int64, error) {
	if h == nil {
		return nil, nil, nil
	}
	labs := h.bySubject()
	var first []string
	for id := range labs {
		if h.first[id] {
			first = append(first, id)
		}
	}
	if len(first) == 0 {
		return nil, nil, nil
	}
	versions, err := store.VersionsTx(ctx, tx, study, first)
	return labs, versions, err
}
