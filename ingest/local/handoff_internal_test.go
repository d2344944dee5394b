package local

import (
	"testing"

	"github.com/trialwatch/trialwatch/clinical"
)

// An upload of more lab results than the bound hands over none, and
// keeps none of them past the bound.
func TestLabHandoffIsBounded(t *testing.T) {
	h := newLabHandoff()
	part := make([]clinical.LabResult, handoffLabs/2)
	h.add(part)
	h.add(part)
	if len(h.bySubject()) == 0 {
		t.Fatal("an upload at the bound hands nothing over")
	}
	h.add(part[:1])
	if h.parts != nil || len(h.bySubject()) != 0 {
		t.Errorf("past the bound, %d parts kept", len(h.parts))
	}
	h.add(part[:1])
	if h.parts != nil {
		t.Error("parts kept again after the bound was passed")
	}
}
