package reviewapi_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/checker/api/reviewapi"
	"github.com/trialwatch/trialwatch/checker/checkertest"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// site701 is a site user of study S's site 701.
var site701 = checkertest.SiteUser("site701", "S", "701")

// listFixture serves checkertest.Findings to a monitor and to site701.
type listFixture struct {
	t       *testing.T
	sigs    []clinical.Signal
	monitor http.Handler
	site    http.Handler
}

func newListFixture(t *testing.T) *listFixture {
	db := sqldbtest.SQLite(t)
	st := checkertest.Open(t, db)
	sigs := st.StoreFindings(t, db, checkertest.Findings)
	mux := st.Mux(st.Checker(checker.Sources{}), nil)
	return &listFixture{t: t, sigs: sigs, monitor: checkertest.As(checkertest.Monitor("monitor1", "S"), mux), site: checkertest.As(site701, mux)}
}

type listPage struct {
	Signals []struct {
		ID        int64  `json:"id"`
		Site      string `json:"site"`
		Severity  string `json:"severity"`
		FirstDate string `json:"first_date"`
		LastDate  string `json:"last_date"`
	} `json:"signals"`
	Next string `json:"next_page_token"`
}

// list GETs the signal list with query, following its page tokens, and
// returns the IDs in order.
func (f *listFixture) list(h http.Handler, query string) []int64 {
	f.t.Helper()
	out := []int64{}
	token := ""
	for pages := 0; pages < 100; pages++ {
		target := "/api/v1/studies/S/signals?" + query
		if token != "" {
			target += "&page_token=" + url.QueryEscape(token)
		}
		rec := checkertest.Call(h, http.MethodGet, target, "")
		if rec.Code != http.StatusOK {
			f.t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
		}
		var p listPage
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
			f.t.Fatal(err)
		}
		for _, s := range p.Signals {
			out = append(out, s.ID)
		}
		if token = p.Next; token == "" {
			return out
		}
	}
	f.t.Fatalf("%s: paging does not end", query)
	return nil
}

func (f *listFixture) ids(idx ...int) []int64 {
	out := []int64{}
	for _, i := range idx {
		out = append(out, f.sigs[i].ID)
	}
	return out
}

// Until rule was a filter, ?rule=HYS_LAW was ignored and listed every
// signal: every filter the README lists selects what it says.
func TestSignalsAPIFilters(t *testing.T) {
	f := newListFixture(t)
	for query, want := range map[string][]int{
		"rule=HYS_LAW":                              {0, 7},
		"rule=HYS_LAW,SAE_LATE":                     {0, 4, 7},
		"rule=HYS_LAW&rule=sae_late":                {0, 4, 7},
		"status=resolved_by_data":                   {3},
		"status=acknowledged,closed":                {1, 2, 7},
		"status=new&status=closed":                  {0, 2, 4, 5, 6},
		"severity=high":                             {1, 4, 7},
		"severity=info&severity=critical":           {0, 5, 6},
		"min_severity=high":                         {0, 1, 4, 5, 7},
		"site=702":                                  {5, 6},
		"subject=B":                                 {3, 4},
		"from=2014-01-09&to=2014-01-10":             {0, 3, 7},
		"from=2014-01-21":                           {1, 2, 7},
		"to=2013-12-31":                             {6},
		"rule=CTCAE_GRADE&min_severity=critical":    {5},
		"site=701&status=new&from=2014-01-01":       {0},
		"rule=LAB_OUT_OF_RANGE&severity=medium,low": {2, 3},
		"rule=": {0, 1, 2, 3, 4, 5, 6, 7},
		"subject=A&rule=HYS_LAW,CTCAE_GRADE&sort=oldest": {0, 1},
	} {
		got := f.list(f.monitor, query)
		slices.Sort(got)
		if w := f.ids(want...); !reflect.DeepEqual(got, w) {
			t.Errorf("?%s: %v, want %v", query, got, w)
		}
	}
}

// A bad or unknown query parameter is a 400 that names it.
func TestSignalsAPIRefusesBadParameters(t *testing.T) {
	f := newListFixture(t)
	for query, name := range map[string]string{
		"colour=red":                    `"colour"`,
		"rules=HYS_LAW":                 `"rules"`,
		"rule=HYS_LAWS":                 "rule",
		"status=open":                   "status",
		"severity=severe":               "severity",
		"min_severity=1":                "min_severity",
		"from=2014-13-01":               "from",
		"to=yesterday":                  "to",
		"from=2014-02-01&to=2014-01-01": "from",
		"sort=-newest":                  "sort",
		"sort=rule":                     "sort",
		"limit=0":                       "limit",
		"limit=501":                     "limit",
		"page_token=abc":                "page_token",
		"page_token=123":                "page_token",
		"format=xml":                    "format",
		"site=701&site=702":             "site",
		"format=csv&limit=5":            "limit",
	} {
		rec := checkertest.Call(f.monitor, http.MethodGet, "/api/v1/studies/S/signals?"+query, "")
		var body struct{ Error string }
		json.Unmarshal(rec.Body.Bytes(), &body)
		if rec.Code != http.StatusBadRequest || !strings.Contains(body.Error, name) {
			t.Errorf("?%s: %d %q, want 400 naming %s", query, rec.Code, body.Error, name)
		}
	}
	// A token continues only the listing, and the sort, that gave it.
	var p listPage
	json.Unmarshal(checkertest.Call(f.monitor, http.MethodGet, "/api/v1/studies/S/signals?sort=severity&limit=2", "").Body.Bytes(), &p)
	if p.Next == "" {
		t.Fatal("no next page token")
	}
	if rec := checkertest.Call(f.monitor, http.MethodGet, "/api/v1/studies/S/signals?sort=first_date&page_token="+url.QueryEscape(p.Next), ""); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), "page_token") {
		t.Errorf("a severity token on a first_date listing: %d %s", rec.Code, rec.Body)
	}
	if rec := checkertest.Call(f.monitor, http.MethodGet, "/api/v1/studies/S/signals/summary?sort=severity", ""); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), `\"sort\"`) {
		t.Errorf("summary?sort=: %d %s, want 400 naming sort", rec.Code, rec.Body)
	}
	if rec := checkertest.Call(f.monitor, http.MethodGet, "/api/v1/studies/S/signals/summary?by=rule", ""); rec.Code != http.StatusBadRequest ||
		!strings.Contains(rec.Body.String(), "query parameter by: want site") {
		t.Errorf("summary?by=rule: %d %s, want 400 naming by", rec.Code, rec.Body)
	}
}

// Every sort pages through every signal once, in its order, with the
// filters applied.
func TestSignalsAPISortsPage(t *testing.T) {
	f := newListFixture(t)
	for sort, want := range map[string][]int{
		"":            {7, 6, 5, 4, 3, 2, 1, 0},
		"newest":      {7, 6, 5, 4, 3, 2, 1, 0},
		"oldest":      {0, 1, 2, 3, 4, 5, 6, 7},
		"severity":    {5, 0, 7, 4, 1, 3, 2, 6},
		"-severity":   {6, 2, 3, 1, 4, 7, 0, 5},
		"first_date":  {6, 7, 3, 0, 5, 1, 2, 4},
		"-first_date": {2, 1, 5, 0, 3, 7, 6, 4},
		"last_date":   {7, 6, 3, 0, 1, 2, 4, 5},
		"-last_date":  {2, 1, 0, 3, 6, 7, 5, 4},
	} {
		for _, limit := range []int{1, 3, 50} {
			q := "limit=" + strconv.Itoa(limit)
			if sort != "" {
				q += "&sort=" + url.QueryEscape(sort)
			}
			if got, w := f.list(f.monitor, q), f.ids(want...); !reflect.DeepEqual(got, w) {
				t.Errorf("?%s: %v, want %v", q, got, w)
			}
		}
	}
	if got, want := f.list(f.monitor, "sort=severity&limit=1&site=701&min_severity=medium"), f.ids(0, 4, 1, 3); !reflect.DeepEqual(got, want) {
		t.Errorf("site 701, medium and up, by severity: %v, want %v", got, want)
	}
}

type summary struct {
	Total  int `json:"total"`
	Counts []struct {
		Site     string `json:"site"`
		Rule     string `json:"rule"`
		Severity string `json:"severity"`
		Status   string `json:"status"`
		Count    int    `json:"count"`
	} `json:"counts"`
}

func (f *listFixture) summary(h http.Handler, query string) summary {
	f.t.Helper()
	rec := checkertest.Call(h, http.MethodGet, "/api/v1/studies/S/signals/summary?"+query, "")
	if rec.Code != http.StatusOK {
		f.t.Fatalf("summary?%s: %d %s", query, rec.Code, rec.Body)
	}
	var s summary
	if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
		f.t.Fatal(err)
	}
	return s
}

func (s summary) String() string {
	var parts []string
	for _, c := range s.Counts {
		site := ""
		if c.Site != "" {
			site = c.Site + ":"
		}
		parts = append(parts, site+c.Rule+"/"+c.Severity+"/"+c.Status+"="+strconv.Itoa(c.Count))
	}
	return strconv.Itoa(s.Total) + ": " + strings.Join(parts, " ")
}

func TestSignalSummaryAPI(t *testing.T) {
	f := newListFixture(t)
	for _, c := range []struct {
		who   http.Handler
		query string
		want  string
	}{
		{f.monitor, "", "8: CTCAE_GRADE/critical/new=1 CTCAE_GRADE/high/acknowledged=1 HYS_LAW/critical/new=1 HYS_LAW/high/acknowledged=1 " +
			"LAB_OUT_OF_RANGE/medium/resolved_by_data=1 LAB_OUT_OF_RANGE/low/closed=1 LAB_OUT_OF_RANGE/info/new=1 SAE_LATE/high/new=1"},
		{f.monitor, "rule=HYS_LAW,LAB_OUT_OF_RANGE&status=new", "2: HYS_LAW/critical/new=1 LAB_OUT_OF_RANGE/info/new=1"},
		{f.monitor, "from=2014-01-15&to=2014-01-31", "3: CTCAE_GRADE/critical/new=1 HYS_LAW/critical/new=1 HYS_LAW/high/acknowledged=1"},
		{f.site, "", "5: CTCAE_GRADE/high/acknowledged=1 HYS_LAW/critical/new=1 LAB_OUT_OF_RANGE/medium/resolved_by_data=1 " +
			"LAB_OUT_OF_RANGE/low/closed=1 SAE_LATE/high/new=1"},
		{f.site, "site=702", "0: "},
		// By site: every site's counts in one answer, a site user's sites only.
		{f.monitor, "by=site&status=new,acknowledged", "6: 701:CTCAE_GRADE/high/acknowledged=1 701:HYS_LAW/critical/new=1 701:SAE_LATE/high/new=1 " +
			"702:CTCAE_GRADE/critical/new=1 702:LAB_OUT_OF_RANGE/info/new=1 703:HYS_LAW/high/acknowledged=1"},
		{f.site, "by=site&status=new,acknowledged", "3: 701:CTCAE_GRADE/high/acknowledged=1 701:HYS_LAW/critical/new=1 701:SAE_LATE/high/new=1"},
	} {
		if got := f.summary(c.who, c.query).String(); got != c.want {
			t.Errorf("summary?%s:\n got %s\nwant %s", c.query, got, c.want)
		}
	}
}

// A site user sees only its sites' signals, however it asks.
func TestSignalsAPISiteScope(t *testing.T) {
	f := newListFixture(t)
	for q, want := range map[string][]int{
		"": {0, 1, 2, 3, 4}, "limit=1": {0, 1, 2, 3, 4}, "sort=severity&limit=2": {0, 1, 2, 3, 4},
		"site=701": {0, 1, 2, 3, 4}, "from=2013-01-01": {0, 1, 2, 3}, "status=new,acknowledged": {0, 1, 4},
	} {
		got := f.list(f.site, q)
		slices.Sort(got)
		if !reflect.DeepEqual(got, f.ids(want...)) {
			t.Errorf("site user, ?%s: %v, want site 701's %v", q, got, f.ids(want...))
		}
	}
	for _, q := range []string{"site=702", "subject=C", "site=703&rule=HYS_LAW"} {
		if got := f.list(f.site, q); len(got) != 0 {
			t.Errorf("site user, ?%s: %v, want none", q, got)
		}
	}
	rows := f.csv(f.site, "")
	for _, r := range rows[1:] {
		if r[2] != "701" {
			t.Errorf("site user's export has a row of site %s: %v", r[2], r)
		}
	}
	if len(rows) != 6 {
		t.Errorf("site user's export: %d rows, want a header and 5", len(rows))
	}
	if rows := f.csv(f.site, "site=702"); len(rows) != 1 {
		t.Errorf("site user's export of site 702: %v, want the header only", rows)
	}
}

// csv GETs the export with query and parses it.
func (f *listFixture) csv(h http.Handler, query string) [][]string {
	f.t.Helper()
	rec := checkertest.Call(h, http.MethodGet, "/api/v1/studies/S/signals?format=csv&"+query, "")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/csv") {
		f.t.Fatalf("export ?%s: %d %s %s", query, rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil {
		f.t.Fatalf("export ?%s is not CSV: %v", query, err)
	}
	return rows
}

func TestSignalsCSVExport(t *testing.T) {
	db := sqldbtest.SQLite(t)
	st := checkertest.Open(t, db)
	sigs := st.StoreFindings(t, db, checkertest.Findings)
	// Text a spreadsheet would run as a formula, in every place text
	// comes from data: subject, site, key, message and evidence.
	hostile := []clinical.Signal{
		{Study: "S", Site: "@701", USUBJID: "=1+1", Rule: "HYS_LAW", Severity: clinical.SeverityHigh, Key: "-2+3",
			Evidence: map[string]any{"x": 1}, Message: "=HYPERLINK(\"http://evil\",\"x\")"},
		{Study: "S", Site: "701", USUBJID: "+A", Rule: "HYS_LAW", Severity: clinical.SeverityHigh, Key: "\tK",
			Evidence: map[string]any{}, Message: "\rcmd|' /C calc'!A0"},
	}
	if err := st.Signals.SaveSignals(t.Context(), hostile, sigs[0].Created); err != nil {
		t.Fatal(err)
	}
	f := &listFixture{t: t, sigs: sigs, monitor: checkertest.As(checkertest.Monitor("monitor1", "S"), st.Mux(st.Checker(checker.Sources{}), nil))}
	rows := f.csv(f.monitor, "sort=oldest")
	if want := []string{"id", "study", "site", "subject", "rule", "severity", "status", "first_date", "last_date",
		"key", "message", "created", "updated", "reason", "evidence"}; !reflect.DeepEqual(rows[0], want) {
		t.Errorf("header %v, want %v", rows[0], want)
	}
	if len(rows) != 1+len(checkertest.Findings)+2 {
		t.Fatalf("%d rows, want a header and %d", len(rows), len(checkertest.Findings)+2)
	}
	first := rows[1]
	if first[0] != strconv.FormatInt(sigs[0].ID, 10) || first[4] != "HYS_LAW" || first[5] != "critical" || first[6] != "new" ||
		first[7] != "2014-01-10" || first[8] != "2014-01-20" || first[14] != `{"lbseq":"K:0"}` {
		t.Errorf("first row %q", first)
	}
	bad := rows[len(rows)-2:]
	for _, want := range [][2]int{{2, 0}, {3, 0}, {9, 0}, {10, 0}, {3, 1}, {9, 1}, {10, 1}} {
		cell := bad[want[1]][want[0]]
		if !strings.HasPrefix(cell, "'") || !strings.ContainsAny(cell[1:2], "=+-@\t\r") {
			t.Errorf("row %d column %s: %q, want it neutralised with a leading '", want[1], rows[0][want[0]], cell)
		}
	}
	for _, r := range rows[1:] {
		for i, cell := range r {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("column %s: %q starts as a formula", rows[0][i], cell)
			}
		}
	}
	// The same filters as the list.
	if rows := f.csv(f.monitor, "rule=HYS_LAW&min_severity=critical"); len(rows) != 2 || rows[1][0] != strconv.FormatInt(sigs[0].ID, 10) {
		t.Errorf("export of critical HYS_LAW: %v", rows)
	}
	if rec := checkertest.Call(f.monitor, http.MethodGet, "/api/v1/studies/S/signals?format=csv&page_token=x", ""); rec.Code != http.StatusBadRequest {
		t.Errorf("export with a page token: %d", rec.Code)
	}
}

// failingExport is a signal store whose export fails after its first
// signal, as a database gone part way would.
type failingExport struct {
	*signals.Store
}

func (s failingExport) Each(ctx context.Context, f signals.Filter, fn func(clinical.Signal) error) error {
	n := 0
	err := s.Store.Each(ctx, f, func(sg clinical.Signal) error {
		if n++; n > 1 {
			return errors.New("connection to the database lost")
		}
		return fn(sg)
	})
	return err
}

// An export that fails part way is cut: the client gets an error, never
// a file that looks whole.
func TestSignalsCSVExportCutOnFailure(t *testing.T) {
	db := sqldbtest.SQLite(t)
	st := checkertest.Open(t, db)
	st.StoreFindings(t, db, checkertest.Findings)
	mux := http.NewServeMux()
	reviewapi.New(failingExport{st.Signals}, nil).Register(mux)
	srv := httptest.NewServer(checkertest.As(checkertest.Monitor("monitor1", "S"), mux))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/api/v1/studies/S/signals?format=csv")
	if err != nil {
		t.Fatalf("the export's status and header were not sent before the failure: %v", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err == nil {
		t.Errorf("a failed export read as whole: %d %q", res.StatusCode, body)
	}
	if !strings.HasPrefix(string(body), "id,study,") {
		t.Errorf("the export's start: %q", body)
	}
}
