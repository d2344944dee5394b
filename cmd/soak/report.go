package main

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// report prints what the run measured and whether each goal held.
func (s *soak) report(before, after footprint, settled bool, trail auditCheck) bool {
	w := s.cfg.Log
	backend := "SQLite"
	if s.cfg.DB != "" {
		backend = "PostgreSQL"
	}
	fmt.Fprintf(w, "\nsoak: %s mode on %s, %v of load, check deadline %v, upload of %d lab results\n",
		s.cfg.Mode, backend, s.cfg.Duration, s.cfg.CheckDeadline, max(1, s.cfg.UploadRows/labsPerSub)*labsPerSub)
	kinds := []struct {
		name string
		t    *tally
	}{
		{"checks", &s.checks},
		{"signal lists", &s.lists},
		{"status changes", &s.patches},
		{"logins", &s.logins},
		{"uploads", &s.uploads},
	}
	fmt.Fprintf(w, "%-15s %9s %9s %5s %9s %9s %9s %s\n", "requests", "answered", "unanswered", "5xx", "p50", "p99", "max", "answers by status")
	var problems []string
	for _, k := range kinds {
		sm := k.t.summary()
		fmt.Fprintf(w, "%-15s %9d %9d %5d %9v %9v %9v %s\n", k.name, sm.Answered, sm.Failed, sm.ServerErrors,
			sm.P50.Round(time.Millisecond), sm.P99.Round(time.Millisecond), sm.Max.Round(time.Millisecond), codes(sm.Codes))
		if sm.ServerErrors > 0 || sm.Failed > 0 {
			problems = append(problems, fmt.Sprintf("%s: %d 5xx, %d unanswered (%s)", k.name, sm.ServerErrors, sm.Failed, strings.Join(sm.Examples, "; ")))
		}
		if bound := k.t.bound; bound > 0 {
			fmt.Fprintf(w, "%-15s answers later than %v: %d of %d", "", bound, sm.Over, sm.Answered)
			if sm.Over > 0 {
				fmt.Fprintf(w, " (%s into the load)", strings.Join(sm.Late, ", "))
			}
			fmt.Fprintln(w)
			switch {
			case sm.P99 > bound:
				problems = append(problems, fmt.Sprintf("%s: p99 %v, over %v", k.name, sm.P99, bound))
			case sm.Over > 0 && s.cfg.StrictDeadline:
				problems = append(problems, fmt.Sprintf("%s: %d answered later than %v (--strict-deadline)", k.name, sm.Over, bound))
			}
		}
	}
	if s.uploads.summary().Codes[200] < 2 { // DM, then at least one LB
		problems = append(problems, "no large upload was stored during the load: lengthen --duration or lower --upload-rows")
	}
	fmt.Fprintf(w, "checker goroutines, pooled connections apart: %d at rest, %d after (all: %d → %d)\n",
		before.Unpooled(), after.Unpooled(), before.Goroutines, after.Goroutines)
	fmt.Fprintf(w, "checker heap after a collection: %.1f MiB at rest, %.1f MiB after (bound %.1f MiB)\n",
		mib(before.HeapAlloc), mib(after.HeapAlloc), mib(heapBound(before)))
	if !settled {
		problems = append(problems, fmt.Sprintf("goroutines or heap not back within %v: %s", s.cfg.Settle, grown(before, after)))
	}
	if trail.err != nil {
		fmt.Fprintf(w, "checker audit trail: %v\n", trail.err)
		problems = append(problems, "the checker's audit trail did not verify")
	} else {
		fmt.Fprintf(w, "checker %s\n", strings.SplitN(trail.out, "\n", 2)[0])
	}
	if trail.grouped >= 0 && trail.commits >= 0 {
		fmt.Fprintf(w, "checker audit records appended on their own: %d, in %d transactions\n", trail.grouped, trail.commits)
	}
	if len(problems) == 0 {
		fmt.Fprintln(w, "soak: PASS")
		return true
	}
	fmt.Fprintln(w, "soak: FAIL")
	for _, p := range problems {
		fmt.Fprintln(w, "  -", p)
	}
	return false
}

func codes(m map[int]int) string {
	var parts []string
	for _, c := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d×%d", c, m[c]))
	}
	return strings.Join(parts, " ")
}

// grown names the groups of unpooled goroutines that grew.
func grown(before, after footprint) string {
	var out []string
	for _, g := range slices.Sorted(maps.Keys(after.Groups)) {
		if d := after.Groups[g] - before.Groups[g]; d > 0 {
			out = append(out, fmt.Sprintf("%s +%d", g, d))
		}
	}
	if len(out) == 0 {
		return "no goroutine group grew"
	}
	return strings.Join(out, ", ")
}
