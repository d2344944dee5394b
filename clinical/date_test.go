package clinical

import (
	"math/rand"
	"testing"
	"time"
)

// Date.Time reads the fixed-width layouts by hand; it must accept and
// return exactly what time.Parse does with them.
func TestDateTimeMatchesTimeParse(t *testing.T) {
	parse := func(s string) (time.Time, bool) {
		for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02T15", "2006-01-02", "2006-01", "2006"} {
			if len(s) == len(layout) {
				if t, err := time.Parse(layout, s); err == nil {
					return t, true
				}
			}
		}
		return time.Time{}, false
	}
	seeds := []string{"2014-02-28T23:59:59", "2012-02-29T00:00:00", "2013-02-29", "2014-12-31T24:00", "2014-00-10",
		"2014-13", "0000-01-01", "2014-04-31", "2014-1-01", "20a4", "2014-01-01 10:00", "+014", "2014-01-01T1:000",
		"2014-06-15T10:60", "2014-06-15T10:59:60", "2014-06-15T10", ""}
	r := rand.New(rand.NewSource(1))
	const alphabet = "0123456789-T:+ a"
	for i := range 50000 {
		s := seeds[i%len(seeds)]
		if b := []byte(s); len(b) > 0 && i >= len(seeds) {
			for k := r.Intn(3); k >= 0; k-- { // mutate a copy: near misses of every kind
				b[r.Intn(len(b))] = alphabet[r.Intn(len(alphabet))]
			}
			s = string(b)
		}
		want, wantOK := parse(s)
		got, ok := Date(s).Time()
		if ok != wantOK || !got.Equal(want) || got.Location() != want.Location() {
			t.Fatalf("Date(%q).Time() = %v, %v; time.Parse gives %v, %v", s, got, ok, want, wantOK)
		}
	}
}

func TestEntryLag(t *testing.T) {
	stored := time.Date(2014, 3, 1, 23, 30, 0, 0, time.FixedZone("east", 3*3600)) // 2014-03-01T20:30Z
	for _, c := range []struct {
		date Date
		days int
		ok   bool
	}{
		{"2014-02-19", 10, true},
		{"2014-02-18T23:59", 11, true}, // the day counts, not the hour
		{"2014-03-01", 0, true},
		{"2014-03-05", -4, true}, // dated after it was entered: kept as it is
		{"2013-03-01", 365, true},
		{"2014-02", 0, false},
		{"2014", 0, false},
		{"", 0, false},
		{"2014-02-30", 0, false},
	} {
		if days, ok := EntryLag(c.date, stored); days != c.days || ok != c.ok {
			t.Errorf("EntryLag(%q) = %d, %v; want %d, %v", c.date, days, ok, c.days, c.ok)
		}
	}
}
