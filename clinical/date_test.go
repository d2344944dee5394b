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
