// Package gctune sets the Go garbage collector for trialwatch's workload.
//
// Importing and checking a study allocates a great deal of short-lived
// memory (a row's values on their way into the database, lab rows read
// back for the rules) while the live heap stays small: with Go's default
// GOGC=100 the collector ran so often that it took a quarter of the CPU of
// the pilot benchmark. A higher GOGC lets the heap grow further between
// collections; a soft memory limit makes the collector work harder again
// as memory nears it, so a large live heap cannot run away.
package gctune

import (
	"os"
	"runtime/debug"
)

const (
	// Percent is the GOGC trialwatch runs with unless GOGC is set.
	Percent = 400
	// MemoryLimit is the soft limit, in bytes, trialwatch runs with
	// unless GOMEMLIMIT is set.
	MemoryLimit = 1 << 30
)

// Apply sets Percent and MemoryLimit, except where the environment sets
// GOGC or GOMEMLIMIT, which the runtime has already applied. It returns a
// function that restores the previous settings.
func Apply() (restore func()) {
	prevPercent, prevLimit := -2, int64(-1)
	if os.Getenv("GOGC") == "" {
		prevPercent = debug.SetGCPercent(Percent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		prevLimit = debug.SetMemoryLimit(MemoryLimit)
	}
	return func() {
		if prevPercent != -2 {
			debug.SetGCPercent(prevPercent)
		}
		if prevLimit >= 0 {
			debug.SetMemoryLimit(prevLimit)
		}
	}
}
