package ingest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Records counts the records an upload read, stored or not, for people:
// "306 subjects, 0 doses, 1191 adverse events, 59580 lab results".
func (r Result) Records() string {
	n := func(domain string) int {
		s := r.Domains[domain]
		return s.Inserted + s.Updated + s.Unchanged
	}
	out := fmt.Sprintf("%d subjects, %d doses, %d adverse events, %d lab results", n("DM"), n("EX"), n("AE"), n("LB"))
	if _, ok := r.Domains["DS"]; ok {
		out += fmt.Sprintf(", %d disposition events", n("DS"))
	}
	if _, ok := r.Domains["CM"]; ok {
		out += fmt.Sprintf(", %d concomitant medications", n("CM"))
	}
	return out
}

// Changes says what an upload changed, by domain, and the checks it
// queued, for people.
func (r Result) Changes() string {
	var parts []string
	for _, d := range slices.Sorted(maps.Keys(r.Domains)) {
		s := r.Domains[d]
		parts = append(parts, fmt.Sprintf("%s %d new, %d updated, %d unchanged", d, s.Inserted, s.Updated, s.Unchanged))
	}
	return strings.Join(parts, "; ") + fmt.Sprintf("; %d subject checks queued", r.Queued)
}
