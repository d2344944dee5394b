package clinical

import "time"

// EntryLag is how many whole days after date a record first stored at
// stored was entered: the days from date's calendar day to stored's, both
// in UTC (a date with an offset counts on its UTC day). ok is false when
// date is not a full date (partial, missing or not ISO 8601): a site KRI
// counts late entries only where the delay is known.
func EntryLag(date Date, stored time.Time) (days int, ok bool) {
	t, ok := date.Day()
	if !ok {
		return 0, false
	}
	return int(stored.UTC().Truncate(24*time.Hour).Sub(t) / (24 * time.Hour)), true
}
