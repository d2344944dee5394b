//go:build race

package readmetest

// raceEnabled: the examples run in a demo process of their own, built
// without the race detector, so the detector has nothing to watch here.
const raceEnabled = true
