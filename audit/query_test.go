package audit_test

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

var t0 = time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)

// seed stores six records across two studies and none, at known times,
// and returns them as stored (Seq 1 to 6).
func seed(t *testing.T, l *audit.Log) []audit.Record {
	t.Helper()
	in := []audit.Record{
		{At: t0, Actor: "jane", Role: "monitor", Study: "S", Entity: "signal", EntityID: "8", Action: "status", Old: `{"status":"new"}`, New: `{"status":"closed","reason":"lab error, \"re-drawn\"\nok"}`},
		{At: t0.Add(time.Hour), Actor: "bob", Role: "site", Study: "S", Entity: "upload", EntityID: "u1", Action: "create", New: `{"files":["dm.csv","lb.xpt"]}`, Source: "10.0.0.7"},
		{At: t0.Add(2 * time.Hour), Actor: "jane", Role: "monitor", Study: "T", Entity: "signal", EntityID: "9", Action: "status"},
		{At: t0.Add(3 * time.Hour), Actor: "admin", Role: "admin", Entity: "user", EntityID: "bob", Action: "create", New: `{"role":"site"}`, Source: "cli"},
		{At: t0.Add(24 * time.Hour), Actor: "jane", Role: "monitor", Study: "S", Entity: "settings", Action: "update", Old: `{}`, New: `{"ctcae":"ctcae-v5.0"}`},
		{At: t0.Add(24*time.Hour + time.Millisecond), Actor: "system", Study: "S", Entity: "check", EntityID: "01-701-1015", Action: "create"},
	}
	out := make([]audit.Record, len(in))
	for i, r := range in {
		var err error
		if out[i], err = l.Append(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func seqs(recs []audit.Record) []int64 {
	out := []int64{}
	for _, r := range recs {
		out = append(out, r.Seq)
	}
	return out
}

func TestQueryFilters(t *testing.T) {
	day2 := t0.Add(24 * time.Hour)
	for _, tc := range []struct {
		name string
		f    audit.Filter
		want []int64
	}{
		{"study", audit.Filter{Study: "S"}, []int64{1, 2, 5, 6}},
		{"other study", audit.Filter{Study: "T"}, []int64{3}},
		{"unknown study", audit.Filter{Study: "U"}, []int64{}},
		{"all studies", audit.Filter{AllStudies: true}, []int64{1, 2, 3, 4, 5, 6}},
		{"actor in study", audit.Filter{Study: "S", Actor: "jane"}, []int64{1, 5}},
		{"actor everywhere", audit.Filter{AllStudies: true, Actor: "jane"}, []int64{1, 3, 5}},
		{"entity", audit.Filter{AllStudies: true, Entity: "signal"}, []int64{1, 3}},
		{"entity id", audit.Filter{AllStudies: true, Entity: "signal", EntityID: "8"}, []int64{1}},
		{"entity id alone", audit.Filter{AllStudies: true, EntityID: "bob"}, []int64{4}},
		{"action", audit.Filter{AllStudies: true, Action: "create"}, []int64{2, 4, 6}},
		{"no match", audit.Filter{Study: "S", Actor: "nobody"}, []int64{}},
		{"wildcards are literal", audit.Filter{Study: "%", Actor: "_"}, []int64{}},
		{"from is inclusive", audit.Filter{Study: "S", From: t0.Add(time.Hour)}, []int64{2, 5, 6}},
		{"to is exclusive", audit.Filter{Study: "S", To: t0.Add(time.Hour)}, []int64{1}},
		{"from and to, one millisecond", audit.Filter{Study: "S", From: day2, To: day2.Add(time.Millisecond)}, []int64{5}},
		{"sub-millisecond from rounds up", audit.Filter{Study: "S", From: day2.Add(time.Microsecond)}, []int64{6}},
		{"sub-millisecond to rounds up", audit.Filter{Study: "S", To: day2.Add(time.Microsecond)}, []int64{1, 2, 5}},
		{"from, other zone", audit.Filter{AllStudies: true, From: t0.Add(3 * time.Hour).In(time.FixedZone("EST", -5*3600))}, []int64{4, 5, 6}},
		{"after", audit.Filter{Study: "S", AfterSeq: 2}, []int64{5, 6}},
		{"after the end", audit.Filter{Study: "S", AfterSeq: 6}, []int64{}},
		{"limit", audit.Filter{Study: "S", Limit: 2}, []int64{1, 2}},
		{"page two", audit.Filter{Study: "S", AfterSeq: 2, Limit: 1}, []int64{5}},
		{"limit above max is max", audit.Filter{Study: "S", Limit: audit.MaxLimit + 1}, []int64{1, 2, 5, 6}},
		{"everything", audit.Filter{Study: "S", Actor: "jane", Entity: "settings", Action: "update", From: t0, To: day2.Add(time.Second), AfterSeq: 1, Limit: 5}, []int64{5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
				l := open(t, db)
				stored := seed(t, l)
				got, err := l.Query(t.Context(), tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(seqs(got), tc.want) {
					t.Fatalf("Query(%+v) = seqs %v, want %v", tc.f, seqs(got), tc.want)
				}
				for _, r := range got {
					if r != stored[r.Seq-1] {
						t.Errorf("record %d read back as\n%+v\nstored as\n%+v", r.Seq, r, stored[r.Seq-1])
					}
				}
			})
		})
	}
}

func TestQueryNeedsAScope(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		l := open(t, db)
		for _, f := range []audit.Filter{{}, {Study: "S", AllStudies: true}} {
			if _, err := l.Query(t.Context(), f); err == nil {
				t.Errorf("Query(%+v) succeeded", f)
			}
		}
	})
}

func TestParseFilter(t *testing.T) {
	long := strings.Repeat("x", 1025)
	for _, tc := range []struct {
		query string
		want  audit.Filter
		err   string // part of the error, or "" for none
	}{
		{"", audit.Filter{Limit: 1000}, ""},
		{"actor=jane&entity=signal&entity_id=8&action=status", audit.Filter{Actor: "jane", Entity: "signal", EntityID: "8", Action: "status", Limit: 1000}, ""},
		{"actor=&from=&limit=", audit.Filter{Limit: 1000}, ""},
		{"entity_id=" + url.QueryEscape(`' OR 1=1 --`), audit.Filter{EntityID: `' OR 1=1 --`, Limit: 1000}, ""},
		{"from=2026-01-02", audit.Filter{From: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), Limit: 1000}, ""},
		{"from=2026-01-02T03:04:05%2B01:00", audit.Filter{From: time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC), Limit: 1000}, ""},
		{"to=2026-01-02T03:04:05.123Z", audit.Filter{To: time.Date(2026, 1, 2, 3, 4, 5, 123e6, time.UTC), Limit: 1000}, ""},
		{"from=2026-01-01&to=2026-01-02", audit.Filter{From: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC), Limit: 1000}, ""},
		{"after=5&limit=10", audit.Filter{AfterSeq: 5, Limit: 10}, ""},
		{"limit=1", audit.Filter{Limit: 1}, ""},
		{"limit=10000", audit.Filter{Limit: 10000}, ""},
		{"format=csv", audit.Filter{Limit: 1000}, ""},
		{"limit=0", audit.Filter{}, `query parameter limit: want a whole number from 1 to 10000, got "0"`},
		{"limit=10001", audit.Filter{}, `query parameter limit: want a whole number from 1 to 10000, got "10001"`},
		{"limit=-1", audit.Filter{}, `query parameter limit: want a whole number from 1 to 10000, got "-1"`},
		{"limit=ten", audit.Filter{}, `query parameter limit: want a whole number from 1 to 10000, got "ten"`},
		{"limit=99999999999999999999", audit.Filter{}, `query parameter limit: want a whole number from 1 to 10000, got "99999999999999999999"`},
		{"after=-1", audit.Filter{}, `query parameter after: want a record's seq, a whole number ≥ 0, got "-1"`},
		{"after=1.5", audit.Filter{}, `query parameter after: want a record's seq, a whole number ≥ 0, got "1.5"`},
		{"from=yesterday", audit.Filter{}, `query parameter from: want an RFC 3339 time (2026-01-02T15:04:05Z) or a date (2026-01-02), got "yesterday"`},
		{"to=2026-13-01", audit.Filter{}, `query parameter to: want an RFC 3339 time`},
		{"to=2026-01-02T03:04:05", audit.Filter{}, `query parameter to: want an RFC 3339 time`},
		{"from=2026-01-02&to=2026-01-01", audit.Filter{}, "query parameters from and to: from (2026-01-02T00:00:00Z) must be before to (2026-01-01T00:00:00Z)"},
		{"from=2026-01-02&to=2026-01-02", audit.Filter{}, "must be before"},
		{"study=S", audit.Filter{}, `unknown query parameter "study"`},
		{"Actor=jane", audit.Filter{}, `unknown query parameter "Actor"`},
		{"actor=a&actor=b", audit.Filter{}, "query parameter actor: given 2 times, want once"},
		{"actor=a%00b", audit.Filter{}, `query parameter actor: contains a NUL byte: "a\x00b"`},
		{"entity=%FF", audit.Filter{}, `query parameter entity: not valid UTF-8: "\xff"`},
		{"action=" + long, audit.Filter{}, "query parameter action: longer than 1024 bytes: \"xxxx"},
	} {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		got, err := audit.ParseFilter(q)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("ParseFilter(%s): %v", tc.query, err)
		case tc.err == "" && !reflect.DeepEqual(got, tc.want):
			t.Errorf("ParseFilter(%s) = %+v, want %+v", tc.query, got, tc.want)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("ParseFilter(%.60s) = %+v, %v; want an error containing %q", tc.query, got, err, tc.err)
		}
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"", "actor=jane&limit=5", "from=2026-01-02&to=2026-01-03T00:00:00Z", "after=9223372036854775807",
		"limit=10000", "limit=0", "to=0000-01-01", "from=9999-12-31T23:59:59.999999999-23:59", "format=csv",
		"entity_id=%27+OR+1%3D1+--", "x=%00", "actor=%ff%fe", "a&b&c", ";;",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, _ := url.ParseQuery(raw) // keeps what parsed
		got, err := audit.ParseFilter(q)
		if err != nil {
			if got != (audit.Filter{}) {
				t.Fatalf("error %v with a non-zero filter %+v", err, got)
			}
			return
		}
		if got.Limit < 1 || got.Limit > audit.MaxLimit {
			t.Fatalf("Limit %d out of range", got.Limit)
		}
		if got.AfterSeq < 0 {
			t.Fatalf("AfterSeq %d", got.AfterSeq)
		}
		if !got.From.IsZero() && !got.To.IsZero() && !got.From.Before(got.To) {
			t.Fatalf("From %v not before To %v", got.From, got.To)
		}
		if got.Study != "" || got.AllStudies {
			t.Fatalf("scope set from the query: %+v", got)
		}
		for _, s := range []string{got.Actor, got.Entity, got.EntityID, got.Action} {
			if !utf8.ValidString(s) || strings.ContainsRune(s, 0) || len(s) > 1024 {
				t.Fatalf("filter value %q passed", s)
			}
		}
	})
}
