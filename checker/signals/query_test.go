package signals_test

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/checker/checkertest"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// storeFindings stores fs (see checkertest.StoreFindings).
func storeFindings(t *testing.T, db *sqldb.DB, fs []checkertest.Finding) (*signals.Store, []clinical.Signal) {
	t.Helper()
	st := checkertest.Open(t, db)
	return st.Signals, st.StoreFindings(t, db, fs)
}

// all reads every signal f selects, page by page of size n.
func all(t *testing.T, s *signals.Store, f signals.Filter, n int) []clinical.Signal {
	t.Helper()
	var out []clinical.Signal
	f.Limit = n
	for pages := 0; ; pages++ {
		if pages > 100 {
			t.Fatalf("%+v: paging does not end", f)
		}
		page, next, err := s.Signals(context.Background(), f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		if len(page) > n {
			t.Fatalf("page of %d, asked for %d", len(page), n)
		}
		out = append(out, page...)
		if next.IsZero() {
			return out
		}
		// The token is what a client holds between pages.
		if f.After, err = signals.ParseCursor(next.Token(), f.Sort); err != nil {
			t.Fatalf("the next page's token %q does not parse: %v", next.Token(), err)
		}
	}
}

func ids(sigs []clinical.Signal) []int64 {
	out := []int64{}
	for _, s := range sigs {
		out = append(out, s.ID)
	}
	return out
}

// idsOf are the IDs of the checkertest.Findings at the given indexes.
func idsOf(sigs []clinical.Signal, idx ...int) []int64 {
	out := []int64{}
	for _, i := range idx {
		out = append(out, sigs[i].ID)
	}
	return out
}

func TestSignalFilters(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		s, sigs := storeFindings(t, db, checkertest.Findings)
		cases := []struct {
			name string
			f    signals.Filter
			want []int // indexes into checkertest.Findings, any order
		}{
			{"no filter", signals.Filter{}, []int{0, 1, 2, 3, 4, 5, 6, 7}},
			{"one rule", signals.Filter{Rules: []clinical.Rule{"HYS_LAW"}}, []int{0, 7}},
			{"two rules", signals.Filter{Rules: []clinical.Rule{"HYS_LAW", "SAE_LATE"}}, []int{0, 4, 7}},
			{"status", signals.Filter{Statuses: []clinical.SignalStatus{clinical.StatusResolvedByData}}, []int{3}},
			{"statuses", signals.Filter{Statuses: []clinical.SignalStatus{clinical.StatusAcknowledged, clinical.StatusClosed}}, []int{1, 2, 7}},
			{"severity exact", signals.Filter{Severities: []clinical.Severity{clinical.SeverityHigh}}, []int{1, 4, 7}},
			{"severities", signals.Filter{Severities: []clinical.Severity{clinical.SeverityInfo, clinical.SeverityCritical}}, []int{0, 5, 6}},
			{"min severity", signals.Filter{MinSeverity: clinical.SeverityHigh}, []int{0, 1, 4, 5, 7}},
			{"site", signals.Filter{Site: "702"}, []int{5, 6}},
			{"sites of a caller", signals.Filter{Sites: []string{"701", "703"}}, []int{0, 1, 2, 3, 4, 7}},
			{"a caller with no site", signals.Filter{Sites: []string{}}, nil},
			{"a site outside the caller's", signals.Filter{Site: "702", Sites: []string{"701"}}, nil},
			{"subject", signals.Filter{USUBJID: "B"}, []int{3, 4}},
			{"other study", signals.Filter{Study: "T"}, nil},
			{"rule and severity and site", signals.Filter{Rules: []clinical.Rule{"CTCAE_GRADE"}, MinSeverity: clinical.SeverityCritical, Site: "702"}, []int{5}},
			// Dates: a finding is in a range its dates overlap. 0 is
			// 01-10..01-20, 3 01-05..01-09, 5 from 01-20 (no last date),
			// 6 12-30..01-02, 1 on 02-01 at 08:30, 2 in March, 7 in 2014,
			// 4 undated.
			{"from and to", signals.Filter{From: "2014-01-09", To: "2014-01-10"}, []int{0, 3, 7}},
			{"to: a first date with a time is on its day", signals.Filter{From: "2014-02-01", To: "2014-02-01"}, []int{1, 7}},
			{"a partial date is its whole month", signals.Filter{From: "2014-03-31", To: "2014-04-30"}, []int{2, 7}},
			{"a lone first date is the last too", signals.Filter{From: "2014-01-20", To: "2014-01-20"}, []int{0, 5, 7}},
			{"from only", signals.Filter{From: "2014-01-21"}, []int{1, 2, 7}},
			{"to only: 2014 may be its first day", signals.Filter{To: "2014-01-01"}, []int{6, 7}},
			{"a year", signals.Filter{From: "2013-01-01", To: "2013-12-31"}, []int{6}},
		}
		for _, c := range cases {
			f := c.f
			if f.Study == "" {
				f.Study = "S"
			}
			got := ids(all(t, s, f, 100))
			want := idsOf(sigs, c.want...)
			slices.Sort(got)
			slices.Sort(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: ids %v, want %v", c.name, got, want)
			}
		}
	})
}

// Each sort orders as its reference says, and paging through it with any
// page size, by tokens, yields every signal once in that order.
func TestSignalSortsPage(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		// Ties on every key: checkertest.Findings twice over.
		_, sigs := storeFindings(t, db, append(slices.Clone(checkertest.Findings), checkertest.Findings...))
		s, err := signals.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		dateOrder := func(date func(clinical.Signal) clinical.Date, desc bool) func(a, b clinical.Signal) int {
			return func(a, b clinical.Signal) int {
				da, db := date(a), date(b)
				if (da == "") != (db == "") { // undated last either way
					if da == "" {
						return 1
					}
					return -1
				}
				c := cmp.Or(strings.Compare(string(da), string(db)), cmp.Compare(a.ID, b.ID))
				if desc {
					return -c
				}
				return c
			}
		}
		first := func(s clinical.Signal) clinical.Date { return s.First }
		last := func(s clinical.Signal) clinical.Date { return s.Last }
		reference := map[signals.Sort]func(a, b clinical.Signal) int{
			"":       func(a, b clinical.Signal) int { return cmp.Compare(b.ID, a.ID) },
			"newest": func(a, b clinical.Signal) int { return cmp.Compare(b.ID, a.ID) },
			"oldest": func(a, b clinical.Signal) int { return cmp.Compare(a.ID, b.ID) },
			"severity": func(a, b clinical.Signal) int {
				return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(b.ID, a.ID))
			},
			"-severity": func(a, b clinical.Signal) int {
				return cmp.Or(cmp.Compare(a.Severity, b.Severity), cmp.Compare(a.ID, b.ID))
			},
			"first_date":  dateOrder(first, false),
			"-first_date": dateOrder(first, true),
			"last_date":   dateOrder(last, false),
			"-last_date":  dateOrder(last, true),
		}
		if len(reference) != len(signals.Sorts)+1 {
			t.Fatalf("a sort without a reference order: %v", signals.Sorts)
		}
		for sort, order := range reference {
			want := ids(slices.SortedStableFunc(slices.Values(sigs), order))
			for _, n := range []int{1, 2, 3, 7, 100} {
				if got := ids(all(t, s, signals.Filter{Study: "S", Sort: sort}, n)); !reflect.DeepEqual(got, want) {
					t.Errorf("sort %q, pages of %d: %v\nwant %v", sort, n, got, want)
				}
			}
			// Filters and sort together: site 701's high and critical.
			f := signals.Filter{Study: "S", Sort: sort, Site: "701", MinSeverity: clinical.SeverityHigh}
			var wantSome []int64
			for _, id := range want {
				sg := sigs[slices.IndexFunc(sigs, func(s clinical.Signal) bool { return s.ID == id })]
				if sg.Site == "701" && sg.Severity >= clinical.SeverityHigh {
					wantSome = append(wantSome, id)
				}
			}
			if got := ids(all(t, s, f, 2)); !reflect.DeepEqual(got, wantSome) {
				t.Errorf("sort %q of site 701's high and critical: %v, want %v", sort, got, wantSome)
			}
		}
	})
}

func TestPageTokens(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		s, _ := storeFindings(t, db, checkertest.Findings)
		_, next, err := s.Signals(context.Background(), signals.Filter{Study: "S", Sort: "-first_date", Limit: 3})
		if err != nil || next.IsZero() {
			t.Fatalf("first page: next %+v, %v", next, err)
		}
		tok := next.Token()
		if _, err := signals.ParseCursor(tok, "-first_date"); err != nil {
			t.Errorf("the listing's own token: %v", err)
		}
		for _, bad := range []string{"abc", "1", "", "eyJzIjoibmV3ZXN0IiwiaSI6MH0", tok + "x", strings.Repeat("A", 5000)} {
			if _, err := signals.ParseCursor(bad, "-first_date"); err == nil {
				t.Errorf("token %.40q parsed", bad)
			}
		}
		if _, err := signals.ParseCursor(tok, "severity"); err == nil || !strings.Contains(err.Error(), "-first_date") {
			t.Errorf("a -first_date token for a severity listing: %v, want an error naming the listing it continues", err)
		}
		// A date stored as a site wrote it, not as ISO 8601 would have
		// it, still pages.
		odd := []checkertest.Finding{{Subject: "E", Site: "704", Rule: "SAE_LATE", Severity: clinical.SeverityHigh,
			First: "02 JAN 2014 \"am\"", Last: "UNK"}}
		st := checkertest.Open(t, db)
		extra := st.StoreFindings(t, db, odd)
		if got := ids(all(t, s, signals.Filter{Study: "S", Sort: "-first_date"}, 1)); len(got) != len(checkertest.Findings)+1 || got[len(got)-2] != extra[0].ID {
			// "02 JAN…" sorts before every ISO date, and before the undated last.
			t.Errorf("paging by first date past an odd one: %v", got)
		}
	})
}

func TestSignalSummaryAndOpenCounts(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		stored := append(slices.Clone(checkertest.Findings), checkertest.Findings[0], checkertest.Findings[6])
		s, _ := storeFindings(t, db, stored)
		got, err := s.Summary(ctx, signals.Filter{Study: "S", Sites: []string{"701", "702"}})
		if err != nil {
			t.Fatal(err)
		}
		want := []signals.Count{
			{Rule: "CTCAE_GRADE", Severity: clinical.SeverityCritical, Status: clinical.StatusNew, N: 1},
			{Rule: "CTCAE_GRADE", Severity: clinical.SeverityHigh, Status: clinical.StatusAcknowledged, N: 1},
			{Rule: "HYS_LAW", Severity: clinical.SeverityCritical, Status: clinical.StatusNew, N: 2},
			{Rule: clinical.RuleLabOutOfRange, Severity: clinical.SeverityMedium, Status: clinical.StatusResolvedByData, N: 1},
			{Rule: clinical.RuleLabOutOfRange, Severity: clinical.SeverityLow, Status: clinical.StatusClosed, N: 1},
			{Rule: clinical.RuleLabOutOfRange, Severity: clinical.SeverityInfo, Status: clinical.StatusNew, N: 2},
			{Rule: "SAE_LATE", Severity: clinical.SeverityHigh, Status: clinical.StatusNew, N: 1},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("summary of sites 701 and 702:\n%v\nwant %v", got, want)
		}
		if got, err := s.Summary(ctx, signals.Filter{Study: "S", Rules: []clinical.Rule{"HYS_LAW"}, Statuses: []clinical.SignalStatus{clinical.StatusAcknowledged}}); err != nil ||
			!reflect.DeepEqual(got, []signals.Count{{Rule: "HYS_LAW", Severity: clinical.SeverityHigh, Status: clinical.StatusAcknowledged, N: 1}}) {
			t.Errorf("summary of acknowledged HYS_LAW: %v, %v", got, err)
		}
		if got, err := s.Summary(ctx, signals.Filter{Study: "S", Sites: []string{}}); err != nil || len(got) != 0 {
			t.Errorf("summary for a caller with no site: %v, %v", got, err)
		}
		// By site: each site's counts apart, as the findings stored say.
		bySite, err := s.SummaryBySite(ctx, signals.Filter{Study: "S", Sites: []string{"701", "702"}})
		if err != nil {
			t.Fatal(err)
		}
		wantBySite := map[signals.Count]int{}
		for _, f := range stored {
			if f.Site == "701" || f.Site == "702" {
				wantBySite[signals.Count{Site: f.Site, Rule: f.Rule, Severity: f.Severity, Status: cmp.Or(f.Status, clinical.StatusNew)}]++
			}
		}
		gotBySite := map[signals.Count]int{}
		for i, c := range bySite {
			if i > 0 && bySite[i-1].Site > c.Site {
				t.Errorf("by site: %v after %v, want site order", c, bySite[i-1])
			}
			n := c.N
			c.N = 0
			gotBySite[c] = n
		}
		if !maps.Equal(gotBySite, wantBySite) {
			t.Errorf("summary by site:\n%v\nwant %v", gotBySite, wantBySite)
		}
		open, err := s.OpenBySubject(ctx, signals.Filter{Study: "S", Sites: []string{"701", "702"}})
		if err != nil {
			t.Fatal(err)
		}
		wantOpen := map[string]map[clinical.Severity]int{
			"A": {clinical.SeverityCritical: 2, clinical.SeverityHigh: 1},
			"B": {clinical.SeverityHigh: 1},
			"C": {clinical.SeverityCritical: 1, clinical.SeverityInfo: 2},
		}
		if !reflect.DeepEqual(open, wantOpen) {
			t.Errorf("open checkertest.Findings by subject: %v, want %v", open, wantOpen)
		}
	})
}

// Each hands over every selected signal once, in order, across the
// store's pages.
func TestEachCrossesPages(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s, err := signals.Open(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		var sigs []clinical.Signal
		for i := range 1203 {
			site := "701"
			if i%3 == 0 {
				site = "702"
			}
			sigs = append(sigs, checkertest.Signal(fmt.Sprint("S", i%40), site, fmt.Sprint("K:", i), clinical.Severity(i%5)))
		}
		if err := s.SaveSignals(ctx, sigs, time.Now()); err != nil {
			t.Fatal(err)
		}
		var want []int64
		for _, sg := range slices.SortedFunc(slices.Values(sigs), func(a, b clinical.Signal) int {
			return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(b.ID, a.ID))
		}) {
			if sg.Site == "701" {
				want = append(want, sg.ID)
			}
		}
		var got []int64
		err = s.Each(ctx, signals.Filter{Study: "S", Site: "701", Sort: signals.SortSeverity}, func(sg clinical.Signal) error {
			got = append(got, sg.ID)
			return nil
		})
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Each: %d signals, %v; want the %d of site 701 by severity", len(got), err, len(want))
		}
		stop := fmt.Errorf("enough")
		n := 0
		if err := s.Each(ctx, signals.Filter{Study: "S"}, func(clinical.Signal) error { n++; return stop }); err != stop || n != 1 {
			t.Errorf("Each stopped by fn: %d calls, %v", n, err)
		}
	})
}

// A date recorded with a time zone offset is on its UTC day: its text can
// name the day before or after. Findings store such dates in UTC, so the
// date filters and sorts compare them by time on both databases.
func TestOffsetDatesFilterAndSortInUTC(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		s := checkertest.Open(t, db).Signals
		late := checkertest.Signal("A", "701", "LB:1", clinical.SeverityLow)
		late.First, late.Last = "2014-01-31T23:30-05:00", "2014-01-31T23:30-05:00" // 2014-02-01T04:30Z
		early := checkertest.Signal("A", "701", "LB:2", clinical.SeverityLow)
		early.First, early.Last = "2014-02-01T00:30+01:00", "2014-02-01T00:30+01:00" // 2014-01-31T23:30Z
		if err := s.SaveSignals(ctx, []clinical.Signal{late, early}, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)); err != nil {
			t.Fatal(err)
		}
		keys := func(f signals.Filter) []string {
			f.Study = "S"
			var out []string
			for _, sg := range all(t, s, f, 100) {
				out = append(out, sg.Key)
			}
			return out
		}
		for _, c := range []struct {
			name string
			f    signals.Filter
			want []string
		}{
			{"to the 31st", signals.Filter{To: "2014-01-31", Sort: signals.SortFirstDate}, []string{"LB:2"}},
			{"from the 1st", signals.Filter{From: "2014-02-01", Sort: signals.SortFirstDate}, []string{"LB:1"}},
			{"the 31st", signals.Filter{From: "2014-01-31", To: "2014-01-31", Sort: signals.SortFirstDate}, []string{"LB:2"}},
			{"earliest first", signals.Filter{Sort: signals.SortFirstDate}, []string{"LB:2", "LB:1"}},
			{"latest last first", signals.Filter{Sort: "-" + signals.SortLastDate}, []string{"LB:1", "LB:2"}},
		} {
			if got := keys(c.f); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", c.name, got, c.want)
			}
		}
		got := all(t, s, signals.Filter{Study: "S", Sort: signals.SortFirstDate}, 10)
		if len(got) != 2 || got[1].First != "2014-02-01T04:30Z" || got[1].Last != "2014-02-01T04:30Z" || got[0].First != "2014-01-31T23:30Z" {
			t.Errorf("stored dates %+v, want them in UTC", got)
		}
	})
}
