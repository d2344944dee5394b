package ingest_test

import (
	"testing"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/ingest"
)

func TestResultForPeople(t *testing.T) {
	r := ingest.Result{Queued: 3, Domains: map[string]clinical.Summary{
		"LB": {Inserted: 5, Updated: 1, Unchanged: 4}, "DM": {Inserted: 2}, "CM": {Unchanged: 7},
	}}
	if got, want := r.Records(), "2 subjects, 0 doses, 0 adverse events, 10 lab results, 7 concomitant medications"; got != want {
		t.Errorf("Records() = %q, want %q", got, want)
	}
	if got, want := r.Changes(), "CM 0 new, 0 updated, 7 unchanged; DM 2 new, 0 updated, 0 unchanged; LB 5 new, 1 updated, 4 unchanged; 3 subject checks queued"; got != want {
		t.Errorf("Changes() = %q, want %q", got, want)
	}
}
