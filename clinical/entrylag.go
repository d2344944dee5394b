package clinical

import "time"

// EntryLag is how many whole days after date a record first stored at
// stored was entered: the days from date's calendar day to stored's (in
// UTC). ok is false when date is not a full date (partial, missing or not
// ISO 8601): a site KRI counts late entries only where the delay is known.
func EntryLag(date Date, stored time.Time) (days int, ok bool) {
	if len(date) < len("2006-01-02") {
		return 0, false
	}
	t, ok := date[:10].Time()
	if !ok {
		return 0, false
	}
	y, m, d := stored.UTC().Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return int(day.Sub(t).Hours() / 24), true
}
