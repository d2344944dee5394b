package reviewpages

import (
	"cmp"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker/api/wire"
	"github.com/trialwatch/trialwatch/clinical/kri"
	"github.com/trialwatch/trialwatch/web/internal/page"
)

// openStatuses are the statuses of findings still to be dealt with.
const openStatuses = "new,acknowledged"

type overviewPage struct {
	Severities []string
	Rules      []ruleRow
	Open       int
	// Sites are the open findings of each site by severity and rule,
	// with the site's KRI flags and risk score; nil when the study's
	// KRIs were never computed (they list the sites).
	Sites     []siteRow
	SitesNote string
	KRIAsOf   time.Time
	Changes   *changes
}

type ruleRow struct {
	Rule   string
	Counts []int // per severity, in Severities' order
	Total  int
}

type siteRow struct {
	Site   string
	Counts []int // open findings per severity, in Severities' order
	Total  int
	// Rules are the site's open findings by rule, most first.
	Rules []ruleCount
	// Risk is the site's risk score (0–100) and its red and amber KRIs.
	Risk       float64
	Red, Amber int
	Flagged    []flaggedKRI
}

type ruleCount struct {
	Rule string
	N    int
}

type flaggedKRI struct {
	Name   string
	Red    bool
	Streak int
}

// overview shows a study's open findings by rule and severity and by
// site, the sites' key risk indicators, and what changed since the
// user's last visit.
func (s *Pages) overview(w http.ResponseWriter, r *http.Request) {
	study := r.PathValue("study")
	open, err := s.openBySite(r, study)
	if err != nil {
		s.pages.APIFailed(w, r, err)
		return
	}
	p := overviewPage{Severities: page.Severities}
	for _, c := range open {
		i := slices.IndexFunc(p.Rules, func(row ruleRow) bool { return row.Rule == string(c.Rule) })
		if i < 0 {
			p.Rules = append(p.Rules, ruleRow{Rule: string(c.Rule), Counts: make([]int, len(page.Severities))})
			i = len(p.Rules) - 1
		}
		if j := slices.Index(page.Severities, c.Severity.String()); j >= 0 {
			p.Rules[i].Counts[j] += c.N
		}
		p.Rules[i].Total += c.N
		p.Open += c.N
	}
	slices.SortFunc(p.Rules, func(a, b ruleRow) int { return cmp.Compare(a.Rule, b.Rule) })
	if err := s.siteRisk(r, study, open, &p); err != nil {
		s.pages.APIFailed(w, r, err)
		return
	}
	since, visit := lastVisit(r, s.now())
	http.SetCookie(w, visit.cookie(study, r.TLS != nil))
	if !since.IsZero() {
		if p.Changes, err = s.changesSince(r, study, since); err != nil {
			s.pages.APIFailed(w, r, err)
			return
		}
	}
	s.pages.Render(w, r, http.StatusOK, "overview", page.Page{Title: study, Nav: "overview", Data: p})
}

// openBySite counts a study's open findings site by site, in one call
// however many sites there are.
func (s *Pages) openBySite(r *http.Request, study string) ([]wire.SignalCount, error) {
	var sum wire.SignalSummary
	err := s.api.Get(r, page.Query(page.StudyAPI(study, "signals", "summary"), "status", openStatuses, "by", "site"), &sum)
	return sum.Counts, err
}

// siteRisk fills the site table: the sites the KRIs list (those the user
// may see), riskiest first, each with its open findings (open, by site).
func (s *Pages) siteRisk(r *http.Request, study string, open []wire.SignalCount, p *overviewPage) error {
	var k wire.KRIs
	err := s.api.Get(r, page.StudyAPI(study, "kris"), &k)
	var ae *page.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		p.SitesNote = "The study's key risk indicators were never computed, so its sites are not known yet: they are computed after uploads."
		return nil
	}
	if err != nil {
		return err
	}
	p.KRIAsOf = k.AsOf
	bySite := map[string]*siteRow{}
	row := func(site string) *siteRow {
		if bySite[site] == nil {
			bySite[site] = &siteRow{Site: site, Counts: make([]int, len(page.Severities))}
		}
		return bySite[site]
	}
	for _, rs := range k.RiskScores {
		sr := row(rs.Site)
		sr.Risk, sr.Red, sr.Amber = rs.Score, rs.Red, rs.Amber
	}
	for _, x := range k.KRIs {
		sr := row(x.Site)
		if x.Flag != nil && *x.Flag != 0 {
			name := x.KRI
			if sp, ok := kri.SpecFor(x.KRI); ok {
				name = sp.Name
			}
			sr.Flagged = append(sr.Flagged, flaggedKRI{Name: name, Red: *x.Flag <= -2 || *x.Flag >= 2, Streak: x.Streak})
		}
	}
	openAt := map[string][]wire.SignalCount{}
	for _, c := range open {
		openAt[c.Site] = append(openAt[c.Site], c)
	}
	for site, sr := range bySite {
		rules := map[string]int{}
		for _, c := range openAt[site] {
			if j := slices.Index(page.Severities, c.Severity.String()); j >= 0 {
				sr.Counts[j] += c.N
			}
			sr.Total += c.N
			rules[string(c.Rule)] += c.N
		}
		for rule, n := range rules {
			sr.Rules = append(sr.Rules, ruleCount{rule, n})
		}
		slices.SortFunc(sr.Rules, func(a, b ruleCount) int { return cmp.Or(cmp.Compare(b.N, a.N), cmp.Compare(a.Rule, b.Rule)) })
		slices.SortFunc(sr.Flagged, func(a, b flaggedKRI) int {
			return cmp.Or(boolOrder(b.Red, a.Red), cmp.Compare(a.Name, b.Name))
		})
		p.Sites = append(p.Sites, *sr)
	}
	slices.SortFunc(p.Sites, func(a, b siteRow) int {
		return cmp.Or(cmp.Compare(b.Risk, a.Risk), cmp.Compare(b.Total, a.Total), cmp.Compare(a.Site, b.Site))
	})
	return nil
}

func boolOrder(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// The overview remembers the user's visits to a study in a cookie of that
// study's pages (Path /ui/studies/{study}/), so it needs no storage and
// no API of its own: the previous visit, and the last. Visits less than
// visitGap apart are one sitting, whose baseline stays the visit before
// it, so reloading the page does not empty "since your last visit".
const (
	visitCookie = "tw_visits"
	visitGap    = 30 * time.Minute
	// visitMemory is how long a browser keeps the cookie.
	visitMemory = 90 * 24 * time.Hour
)

type visits struct{ prev, last time.Time }

// lastVisit reads the visit cookie: the time changes are shown since
// (zero on a first visit), and the visits to remember after this one.
func lastVisit(r *http.Request, now time.Time) (time.Time, visits) {
	var v visits
	if c, err := r.Cookie(visitCookie); err == nil {
		p, l, two := strings.Cut(c.Value, ".")
		if !two {
			p, l = "", p
		}
		v.prev, v.last = unixTime(p), unixTime(l)
	}
	switch {
	case v.last.IsZero() || v.last.After(now):
		return time.Time{}, visits{last: now}
	case now.Sub(v.last) >= visitGap:
		v.prev = v.last
	}
	v.last = now
	return v.prev, v
}

func unixTime(s string) time.Time {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return time.Time{}
	}
	return time.Unix(n, 0)
}

func (v visits) cookie(study string, secure bool) *http.Cookie {
	val := strconv.FormatInt(v.last.Unix(), 10)
	if !v.prev.IsZero() {
		val = strconv.FormatInt(v.prev.Unix(), 10) + "." + val
	}
	return &http.Cookie{Name: visitCookie, Value: val, Path: "/ui/studies/" + url.PathEscape(study) + "/",
		MaxAge: int(visitMemory / time.Second), HttpOnly: true, Secure: secure, SameSite: http.SameSiteStrictMode}
}

// changes is what happened to a study's findings since a time.
type changes struct {
	Since time.Time
	// Raised are the findings raised since, by severity (Severities'
	// order); RaisedMore says there were more than the scan reads.
	Raised     []int
	RaisedN    int
	RaisedMore bool
	Newest     []findingRow // the most severe of those raised, a few
	// Withdrawn are findings a re-check no longer raises
	// (resolved_by_data) since, among the withdrawnScan most recently
	// raised withdrawn ones.
	Withdrawn int
	// Reviewed are the review steps taken since, by the status they set,
	// from the audit trail; only for roles that read it (ReviewedKnown).
	Reviewed      []statusCount
	ReviewedKnown bool
	ReviewedMore  bool
	AuditLink     string // the review steps since, on the audit page
}

type statusCount struct {
	Status string
	N      int
}

// Bounds on the changes' reads. The API lists findings newest first by
// when they were raised, so new ones are a prefix of the list: the first
// page is small (most visits find a few), later ones larger. Withdrawn
// findings are listed by when they were raised, not withdrawn, so only
// the most recent are looked at. Review steps come from the audit trail,
// which is in time order.
const (
	raisedFirst   = 50
	raisedPage    = 200
	raisedPages   = 2
	withdrawnScan = 100
	reviewedScan  = 1000
	newestShown   = 5
)

// changesSince reads what changed in a study's findings since a time.
func (s *Pages) changesSince(r *http.Request, study string, since time.Time) (*changes, error) {
	c := &changes{Since: since, Raised: make([]int, len(page.Severities))}
	var raised []findingRow
	token := ""
scan:
	for n := range raisedPages {
		var out findingList
		limit := raisedPage
		if n == 0 {
			limit = raisedFirst
		}
		if err := s.api.Get(r, page.Query(page.StudyAPI(study, "signals"), "sort", "newest", "limit", strconv.Itoa(limit), "page_token", token), &out); err != nil {
			return nil, err
		}
		for _, f := range out.Signals {
			if !f.Created.After(since) {
				break scan
			}
			raised = append(raised, f)
		}
		if token = out.NextPageToken; token == "" {
			break
		}
		c.RaisedMore = n == raisedPages-1
	}
	for _, f := range raised {
		if j := slices.Index(page.Severities, f.Severity.String()); j >= 0 {
			c.Raised[j]++
		}
	}
	c.RaisedN = len(raised)
	slices.SortStableFunc(raised, func(a, b findingRow) int {
		return cmp.Compare(b.Severity, a.Severity) // most severe first
	})
	c.Newest = raised[:min(len(raised), newestShown)]

	var withdrawn findingList
	if err := s.api.Get(r, page.Query(page.StudyAPI(study, "signals"), "status", "resolved_by_data", "sort", "newest",
		"limit", strconv.Itoa(withdrawnScan)), &withdrawn); err != nil {
		return nil, err
	}
	for _, f := range withdrawn.Signals {
		if f.Updated != nil && f.Updated.After(since) {
			c.Withdrawn++
		}
	}

	id, _ := auth.FromContext(r.Context())
	if id.Role != auth.RoleMonitor {
		return c, nil
	}
	var trail struct {
		Records []struct {
			New string `json:"new"`
		} `json:"records"`
		NextAfter int64 `json:"next_after"`
	}
	if err := s.api.Get(r, page.Query(page.StudyAPI(study, "audit"), "entity", "signal", "action", "status",
		"from", since.UTC().Format(time.RFC3339), "limit", strconv.Itoa(reviewedScan)), &trail); err != nil {
		return nil, err
	}
	c.ReviewedKnown, c.ReviewedMore = true, trail.NextAfter != 0
	c.AuditLink = "/ui/studies/" + url.PathEscape(study) + "/audit?" + url.Values{"entity": {"signal"}, "action": {"status"},
		"from": {since.UTC().Format(time.DateOnly)}}.Encode()
	by := map[string]int{}
	for _, rec := range trail.Records {
		var v struct {
			Status string `json:"status"`
		}
		if json.Unmarshal([]byte(rec.New), &v) == nil && v.Status != "" {
			by[v.Status]++
		}
	}
	for _, st := range []string{"acknowledged", "closed"} {
		if by[st] > 0 {
			c.Reviewed = append(c.Reviewed, statusCount{st, by[st]})
		}
	}
	return c, nil
}
