//go:build race

package access

// raceEnabled: the race detector slows bcrypt and SQLite about tenfold,
// so timing assertions mean nothing.
const raceEnabled = true
