package stackdump

import (
	"cmp"
	"slices"
	"strings"
)

// Change is how one group's size changed between two dumps.
type Change struct {
	// Group is the group from the newer dump, or from the older one if it
	// vanished.
	Group
	Before, After, Delta int
}

// Diff matches groups by Signature and ranks every group of either dump by
// Delta descending, so growth comes first, unchanged groups (Delta 0) follow
// and groups that shrank or vanished come last. Ties go to the larger group.
func Diff(before, after []Group) []Change {
	old := make(map[string]int, len(before))
	for _, g := range before {
		old[g.Signature] += g.Count
	}
	changes := make([]Change, 0, len(after))
	seen := make(map[string]int, len(after)) // signature → index in changes
	for _, g := range after {
		if i, ok := seen[g.Signature]; ok {
			// Groups merged from several sources may repeat a signature.
			changes[i].After += g.Count
			continue
		}
		seen[g.Signature] = len(changes)
		changes = append(changes, Change{Group: g, Before: old[g.Signature], After: g.Count})
	}
	for _, g := range before {
		if _, ok := seen[g.Signature]; ok {
			continue
		}
		seen[g.Signature] = len(changes)
		changes = append(changes, Change{Group: g, Before: old[g.Signature]})
	}
	for i := range changes {
		changes[i].Delta = changes[i].After - changes[i].Before
	}
	slices.SortFunc(changes, func(a, b Change) int {
		return cmp.Or(
			cmp.Compare(b.Delta, a.Delta),
			cmp.Compare(max(b.After, b.Before), max(a.After, a.Before)),
			strings.Compare(a.Signature, b.Signature),
		)
	})
	return changes
}
