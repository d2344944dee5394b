package audit

// HashOf exposes the record hash to the tests, which play an attacker who
// rewrites a record and its hash.
func HashOf(r Record) string { return r.hash() }

// MaxGroupRecords is how many records one of Append's transactions holds.
const MaxGroupRecords = maxGroupRecords

// HoldAppends keeps Append's groups from being committed until release
// is called, as a long commit would: the tests so gather appends.
func HoldAppends(l *Log) (release func()) {
	l.appends.turn <- struct{}{}
	return func() { <-l.appends.turn }
}

// OpenGroup is how many records the group appends join now holds.
func OpenGroup(l *Log) int {
	l.appends.mu.Lock()
	defer l.appends.mu.Unlock()
	if l.appends.open == nil {
		return 0
	}
	return len(l.appends.open.recs)
}
