package clinical

import (
	"math/rand"
	"testing"
	"time"
)

// Date.Time reads the layouts by hand; it must accept exactly what
// time.Parse does with them (fractions of at most nine digits and offsets
// of at most 23:59, which time.Parse stretches to 24:60), and return the
// same instant in UTC.
func TestDateTimeMatchesTimeParse(t *testing.T) {
	bases := []string{"2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02T15", "2006-01-02", "2006-01", "2006"}
	parse := func(s string) (time.Time, bool) {
		for _, base := range bases {
			if len(s) < len(base) || len(base) < 10 && len(s) != len(base) {
				continue
			}
			if _, err := time.Parse(base, s[:len(base)]); err != nil {
				continue // time.Parse reads some fields of one digit; SDTM dates have two
			}
			layouts := []string{base}
			if len(base) > len("2006-01-02") {
				layouts = append(layouts, base+"Z07:00", base+"Z0700", base+"Z07")
			}
			for _, layout := range layouts {
				t, err := time.Parse(layout, s)
				if err != nil {
					continue
				}
				frac := 0 // digits of fraction
				if len(base) == 19 && len(s) > 19 && (s[19] == '.' || s[19] == ',') {
					for 20+frac < len(s) && s[20+frac] >= '0' && s[20+frac] <= '9' {
						frac++
					}
				}
				zone := s[len(base):]
				if frac > 0 {
					zone = zone[1+frac:]
				}
				if frac > 9 || len(zone) > 1 && (zone[1:3] > "23" || len(zone) > 3 && zone[len(zone)-2:] > "59") {
					return time.Time{}, false
				}
				return t.UTC(), true
			}
		}
		return time.Time{}, false
	}
	seeds := []string{"2014-02-28T23:59:59", "2012-02-29T00:00:00", "2013-02-29", "2014-12-31T24:00", "2014-00-10",
		"2014-13", "0000-01-01", "2014-04-31", "2014-1-01", "20a4", "2014-01-01 10:00", "+014", "2014-01-01T1:000",
		"2014-06-15T10:60", "2014-06-15T10:59:60", "2014-06-15T10", "",
		"2014-06-15T10:30:00Z", "2014-06-15T10:30+05:30", "2014-06-15T10-0800", "2014-06-15T23:30:00.125-05",
		"2014-06-15T10:30:00,5Z", "2014-06-15T10:30:00.123456789+14:00", "2014-06-15T10:30:00.1234567891",
		"2014-06-15Z", "2014-06-15T10:30+24:00", "2014-06-15T10:30+05:60", "2014-06-15T10:30:00.Z"}
	r := rand.New(rand.NewSource(1))
	const alphabet = "0123456789-T:+ aZ.,"
	for i := range 100000 {
		s := seeds[i%len(seeds)]
		if b := []byte(s); len(b) > 0 && i >= len(seeds) {
			for k := r.Intn(3); k >= 0; k-- { // mutate a copy: near misses of every kind
				switch j := r.Intn(len(b)); r.Intn(4) {
				case 0:
					b = b[:j] // truncated
				default:
					b[j] = alphabet[r.Intn(len(alphabet))]
				}
				if len(b) == 0 {
					break
				}
			}
			s = string(b)
		}
		want, wantOK := parse(s)
		got, ok := Date(s).Time()
		if ok != wantOK || !got.Equal(want) || got.Location() != time.UTC {
			t.Fatalf("Date(%q).Time() = %v, %v; time.Parse gives %v, %v", s, got, ok, want, wantOK)
		}
	}
}

// Span is the stretch a date means, at the precision it was written with.
func TestDateSpan(t *testing.T) {
	for _, c := range []struct {
		date     Date
		from, to string
	}{
		{"2014", "2014-01-01T00:00:00Z", "2015-01-01T00:00:00Z"},
		{"2014-02", "2014-02-01T00:00:00Z", "2014-03-01T00:00:00Z"},
		{"2014-02-28", "2014-02-28T00:00:00Z", "2014-03-01T00:00:00Z"},
		{"2014-02-28T10", "2014-02-28T10:00:00Z", "2014-02-28T11:00:00Z"},
		{"2014-02-28T10:30", "2014-02-28T10:30:00Z", "2014-02-28T10:31:00Z"},
		{"2014-02-28T10:30:15", "2014-02-28T10:30:15Z", "2014-02-28T10:30:16Z"},
		{"2014-02-28T10:30:15.25", "2014-02-28T10:30:15.25Z", "2014-02-28T10:30:15.26Z"},
		// An offset moves the span to UTC, across midnight here.
		{"2014-02-28T22:30-05:00", "2014-03-01T03:30:00Z", "2014-03-01T03:31:00Z"},
		{"2014-03-01T01:00+0200", "2014-02-28T23:00:00Z", "2014-02-28T23:01:00Z"},
		{"2014-03-01T01Z", "2014-03-01T01:00:00Z", "2014-03-01T02:00:00Z"},
	} {
		from, to, ok := c.date.Span()
		if !ok || from.Format(time.RFC3339Nano) != c.from || to.Format(time.RFC3339Nano) != c.to {
			t.Errorf("Date(%q).Span() = %s, %s, %v; want %s, %s", c.date, from.Format(time.RFC3339Nano), to.Format(time.RFC3339Nano), ok, c.from, c.to)
		}
	}
	for _, bad := range []Date{"", "2014-02-30", "2014-02-28T", "2014-02-28T10:30:15.", "2014-02-28+01:00", "2014-02-28T10:30+1:00"} {
		if _, _, ok := bad.Span(); ok {
			t.Errorf("Date(%q).Span() accepted", bad)
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
		// An offset date counts on its UTC day: 2014-02-18T23:30-05:00 is
		// 2014-02-19T04:30Z, 10 days before; 2014-02-20T01:00+02:00 is
		// 2014-02-19T23:00Z, 10 days too.
		{"2014-02-18T23:30-05:00", 10, true},
		{"2014-02-20T01:00+02:00", 10, true},
		{"2014-03-01T23:30-01:00", -1, true}, // 2014-03-02T00:30Z
		{"2014-02-19Tnonsense", 0, false},
	} {
		if days, ok := EntryLag(c.date, stored); days != c.days || ok != c.ok {
			t.Errorf("EntryLag(%q) = %d, %v; want %d, %v", c.date, days, ok, c.days, c.ok)
		}
	}
}

func TestDateDay(t *testing.T) {
	for _, c := range []struct {
		date Date
		want string // "" for not ok
	}{
		{"2014-01-15", "2014-01-15"},
		{"2014-01-15T08:30:00.250", "2014-01-15"},
		{"2014-01-15T23:30-05:00", "2014-01-16"}, // 04:30 UTC the next day
		{"2014-01-15T00:30+01:00", "2014-01-14"}, // 23:30 UTC the day before
		{"2014-01-15T12:00Z", "2014-01-15"},
		{"2014-01", ""},
		{"2014", ""},
		{"", ""},
		{"2014-01-15T", ""},
	} {
		d, ok := c.date.Day()
		got := ""
		if ok {
			got = d.Format(time.DateOnly)
			if d.Location() != time.UTC || !d.Equal(d.Truncate(24*time.Hour)) {
				t.Errorf("Date(%q).Day() = %v, want midnight UTC", c.date, d)
			}
		}
		if got != c.want {
			t.Errorf("Date(%q).Day() = %q, %v; want %q", c.date, got, ok, c.want)
		}
	}
}

func TestDateUTC(t *testing.T) {
	for _, c := range []struct{ date, want Date }{
		{"2014-01-15T23:30-05:00", "2014-01-16T04:30Z"},
		{"2014-01-15T00:30:15+01:00", "2014-01-14T23:30:15Z"},
		{"2014-01-15T00:30:15.250+0100", "2014-01-14T23:30:15.250Z"},
		{"2014-01-15T00:30:15,5+01", "2014-01-14T23:30:15.5Z"},
		{"2014-01-15T02+03:00", "2014-01-14T23Z"},
		{"2014-01-15T08:30Z", "2014-01-15T08:30Z"},
		{"2014-01-15T08:30+00:00", "2014-01-15T08:30Z"},
		// Without an offset a date is already read as UTC: kept as written.
		{"2014-01-15T08:30", "2014-01-15T08:30"},
		{"2014-01-15T08:30:00,5", "2014-01-15T08:30:00,5"},
		{"2014-01-15", "2014-01-15"},
		{"2014-01", "2014-01"},
		{"", ""},
		{"not a date", "not a date"},
	} {
		if got := c.date.UTC(); got != c.want {
			t.Errorf("Date(%q).UTC() = %q, want %q", c.date, got, c.want)
		}
		a, _ := c.date.Time()
		if b, _ := c.date.UTC().Time(); !a.Equal(b) {
			t.Errorf("Date(%q).UTC() is %v, not %v", c.date, b, a)
		}
	}
}
