package reviewpages

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker/api/wire"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/web/internal/page"
)

// finding is a signal as the review pages show it.
type finding struct{ wire.Signal }

// findingRow is a signal as the lists decode it: without its evidence,
// which they do not show, as decoding it would cost a 100-finding page a
// third of its time. Evidence shadows the signal's field of that name so
// that the decoder skips it.
type findingRow struct {
	finding
	Evidence struct{} `json:"evidence"`
}

// findingList is GET /signals as the lists decode it: wire.SignalList
// with rows that skip the evidence (TestFindingListIsSignalList keeps the
// two alike).
type findingList struct {
	Signals       []findingRow `json:"signals"`
	NextPageToken string       `json:"next_page_token,omitempty"`
}

// Dates is the finding's record dates as one range.
func (f finding) Dates() string {
	first, last := string(f.FirstDate), string(f.LastDate)
	switch {
	case first == "" || first == last:
		return last
	case last == "":
		return first
	}
	return first + " – " + last
}

// CanAcknowledge and CanClose say which review steps the finding's status
// allows (clinical.SignalStatus.CheckTransition decides; these only
// choose the buttons).
func (f finding) CanAcknowledge() bool {
	return f.Status == string(clinical.StatusNew) || f.Status == string(clinical.StatusResolvedByData)
}

func (f finding) CanClose() bool { return f.Status != string(clinical.StatusClosed) }

// The queue's filters are the API's own query parameters, so a queue's
// address is the listing it shows: rule, severity and status take several
// values, the others one.
var (
	listFilters   = []string{"rule", "severity", "status"}
	singleFilters = []string{"site", "subject", "from", "to", "sort", "limit"}
	statuses      = []string{string(clinical.StatusNew), string(clinical.StatusAcknowledged), string(clinical.StatusClosed), string(clinical.StatusResolvedByData)}
	pageSizes     = []string{"25", "50", "100"}
	sorts         = []option{{"newest", "Newest raised first"}, {"oldest", "Oldest raised first"},
		{"severity", "Most severe first"}, {"-severity", "Least severe first"},
		{"first_date", "Earliest record first"}, {"-first_date", "Latest first record first"},
		{"last_date", "Earliest last record first"}, {"-last_date", "Latest record first"}}
)

// maxReview bounds the findings one review request changes: each is its
// own audited API call, and the session's rate limit counts every one.
const maxReview = 100

type option struct{ Value, Label string }

// queueFilter is a findings queue's filter, read from a page's query.
type queueFilter struct {
	Lists  map[string][]string // rule, severity, status: the values chosen
	Single map[string]string   // site, subject, from, to, sort, limit
	Token  string              // page_token
}

func readFilter(q url.Values) queueFilter {
	f := queueFilter{Lists: map[string][]string{}, Single: map[string]string{}, Token: q.Get("page_token")}
	for _, name := range listFilters {
		for _, v := range q[name] {
			for item := range strings.SplitSeq(v, ",") {
				if item = strings.TrimSpace(item); item != "" && !slices.Contains(f.Lists[name], item) {
					f.Lists[name] = append(f.Lists[name], item)
				}
			}
		}
	}
	for _, name := range singleFilters {
		f.Single[name] = strings.TrimSpace(q.Get(name))
	}
	return f
}

// values is the filter as query parameters; withPaging adds the page
// size and token.
func (f queueFilter) values(withPaging bool) url.Values {
	v := url.Values{}
	for _, name := range listFilters {
		if len(f.Lists[name]) > 0 {
			v.Set(name, strings.Join(f.Lists[name], ","))
		}
	}
	for _, name := range singleFilters {
		if f.Single[name] != "" && (withPaging || name != "limit") {
			v.Set(name, f.Single[name])
		}
	}
	if withPaging && f.Token != "" {
		v.Set("page_token", f.Token)
	}
	return v
}

// Has says whether value is chosen for the list filter name.
func (f queueFilter) Has(name, value string) bool { return slices.Contains(f.Lists[name], value) }

type findingsPage struct {
	Filter     queueFilter
	Rules      []string
	Severities []string
	Statuses   []string
	Sorts      []option
	PageSizes  []string
	Findings   []findingRow
	// Error is the API's word on a filter it refused.
	Error string
	// Next and First are the addresses of the next and the first page
	// ("" when there is none, or this is it); Export is the CSV of every
	// finding the filters select.
	Next, First, Export string
	// Back is this page's address, where a review returns.
	Back      string
	CanReview bool
	MaxReview int
}

// findings is the findings queue: the API's signal listing with its
// filters, sorts and keyset paging, and, for monitors, a form to
// acknowledge or close the findings chosen.
func (s *Pages) findings(w http.ResponseWriter, r *http.Request) {
	study := r.PathValue("study")
	id, _ := auth.FromContext(r.Context())
	f := readFilter(r.URL.Query())
	base := "/ui/studies/" + url.PathEscape(study) + "/findings"
	p := findingsPage{Filter: f, Rules: ruleNames(), Severities: page.Severities, Statuses: statuses, Sorts: sorts, PageSizes: pageSizes,
		CanReview: id.Role == auth.RoleMonitor, MaxReview: maxReview, Back: r.URL.RequestURI()}
	var out findingList
	err := s.api.Get(r, page.StudyAPI(study, "signals")+"?"+f.values(true).Encode(), &out)
	var ae *page.APIError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusBadRequest:
		p.Error = ae.Message
	case err != nil:
		s.pages.APIFailed(w, r, err)
		return
	}
	p.Findings = out.Signals
	if out.NextPageToken != "" {
		next := f
		next.Token = out.NextPageToken
		p.Next = base + "?" + next.values(true).Encode()
	}
	if f.Token != "" {
		first := f
		first.Token = ""
		p.First = base + "?" + first.values(true).Encode()
	}
	p.Export = base + ".csv?" + f.values(false).Encode()
	s.pages.Render(w, r, http.StatusOK, "findings", page.Page{Title: "Findings · " + study, Nav: "findings", Data: p, Scripts: []string{"findings.js"}})
}

// exportFindings streams the API's CSV export of the findings the filters
// select, as it is written.
func (s *Pages) exportFindings(w http.ResponseWriter, r *http.Request) {
	study := r.PathValue("study")
	v := readFilter(r.URL.Query()).values(false)
	v.Set("format", "csv")
	if err := s.api.Forward(w, r, page.StudyAPI(study, "signals")+"?"+v.Encode()); err != nil {
		s.pages.APIFailed(w, r, err)
	}
}

// reviewResult is what became of one finding of a review request.
type reviewResult struct {
	ID      string
	OK      bool
	Message string
}

type reviewPage struct {
	Action, Reason string
	Changed        int
	Failed         []reviewResult
	Done           []reviewResult
	Back           string
}

// review acknowledges or closes the findings a monitor chose, one
// PATCH /signals/{id} each, so that each change is checked and audited by
// the API as if a script had made it. Every finding's outcome is shown:
// none is dropped silently.
func (s *Pages) review(w http.ResponseWriter, r *http.Request) {
	study := r.PathValue("study")
	action := r.PostFormValue("action")
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	ids := r.PostForm["id"]
	p := reviewPage{Action: action, Reason: reason, Back: safeBack(study, r.PostFormValue("back"))}
	switch {
	case action != string(clinical.StatusAcknowledged) && action != string(clinical.StatusClosed):
		s.pages.Error(w, r, http.StatusBadRequest, fmt.Sprintf("action: want acknowledged or closed, got %q", action))
		return
	case len(ids) == 0:
		s.pages.Error(w, r, http.StatusBadRequest, "no finding chosen: tick the findings to "+verb(action)+" and try again")
		return
	case len(ids) > maxReview:
		s.pages.Error(w, r, http.StatusBadRequest, fmt.Sprintf("%d findings chosen: review at most %d at a time; nothing was changed", len(ids), maxReview))
		return
	case action == string(clinical.StatusClosed) && reason == "":
		s.pages.Error(w, r, http.StatusBadRequest, "closing needs a reason: write why these findings need no further action; nothing was changed")
		return
	}
	seen := map[string]bool{}
	for _, raw := range ids {
		if seen[raw] {
			continue
		}
		seen[raw] = true
		res := reviewResult{ID: raw}
		n, err := strconv.ParseInt(raw, 10, 64)
		switch {
		case err != nil || n < 1:
			res.Message = "not a finding id"
		case r.Context().Err() != nil:
			res.Message = "not attempted: the request was cancelled"
		default:
			var out findingRow
			err = s.api.Send(r, http.MethodPatch, page.StudyAPI(study, "signals", raw), wire.StatusPatch{Status: action, Reason: reason}, &out)
			res.OK, res.Message = err == nil, reviewMessage(err, out)
		}
		if res.OK {
			p.Changed++
			p.Done = append(p.Done, res)
		} else {
			p.Failed = append(p.Failed, res)
		}
	}
	status := http.StatusOK
	if p.Changed == 0 {
		// Nothing changed: the page lists why, finding by finding.
		status = http.StatusConflict
	}
	s.pages.Render(w, r, status, "review", page.Page{Title: "Review · " + study, Nav: "findings", Data: p})
}

func reviewMessage(err error, out findingRow) string {
	var ae *page.APIError
	switch {
	case err == nil:
		return "now " + out.Status
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return "no such finding in this study"
	case errors.As(err, &ae) && ae.Status < 500:
		return ae.Message
	case errors.As(err, &ae):
		return "the server failed to change it; try again"
	}
	return err.Error()
}

func verb(action string) string {
	if action == string(clinical.StatusClosed) {
		return "close"
	}
	return "acknowledge"
}

// safeBack keeps a return address only if it is a findings page of the
// study.
func safeBack(study, back string) string {
	prefix := "/ui/studies/" + url.PathEscape(study) + "/findings"
	if !strings.HasPrefix(back, prefix) || strings.ContainsAny(back, "\\\r\n") {
		return prefix
	}
	return back
}

type findingPage struct {
	Finding   finding
	History   []wire.StatusChange
	Evidence  []evidenceItem
	Raw       string
	CanReview bool
	Back      string
}

// finding shows one finding: its evidence, its review history and, for a
// monitor, the review form.
func (s *Pages) finding(w http.ResponseWriter, r *http.Request) {
	study, raw := r.PathValue("study"), r.PathValue("id")
	if n, err := strconv.ParseInt(raw, 10, 64); err != nil || n < 1 {
		s.pages.Error(w, r, http.StatusNotFound, "no finding "+strconv.Quote(raw)+" in this study")
		return
	}
	var f wire.SignalDetail
	if err := s.api.Get(r, page.StudyAPI(study, "signals", raw), &f); err != nil {
		s.pages.APIFailed(w, r, err)
		return
	}
	id, _ := auth.FromContext(r.Context())
	rawJSON, _ := json.MarshalIndent(f.Evidence, "", "  ")
	p := findingPage{Finding: finding{f.Signal}, History: f.History, Evidence: evidenceTree(f.Evidence), Raw: string(rawJSON),
		CanReview: id.Role == auth.RoleMonitor, Back: r.URL.Path}
	s.pages.Render(w, r, http.StatusOK, "finding", page.Page{Title: fmt.Sprintf("Finding %d · %s", f.ID, study), Nav: "findings", Data: p})
}

func ruleNames() []string {
	out := make([]string, 0, len(rules.Settable)+1)
	for _, r := range rules.Settable {
		out = append(out, string(r))
	}
	return append(out, string(clinical.RuleCheckIncomplete))
}

// evidenceItem is one field of a finding's evidence, for reading: a name
// and a value, or a name and the fields under it.
type evidenceItem struct {
	Name     string
	Value    string
	Children []evidenceItem
}

// evidenceTree lays out evidence (JSON as decoded) as named fields,
// sorted by name; lists are numbered from 1.
func evidenceTree(v map[string]any) []evidenceItem {
	out := make([]evidenceItem, 0, len(v))
	for k, x := range v {
		out = append(out, evidenceOf(humanName(k), x))
	}
	slices.SortFunc(out, func(a, b evidenceItem) int { return cmp.Compare(a.Name, b.Name) })
	return out
}

func evidenceOf(name string, v any) evidenceItem {
	switch x := v.(type) {
	case map[string]any:
		return evidenceItem{Name: name, Children: evidenceTree(x)}
	case []any:
		it := evidenceItem{Name: name}
		if scalars(x) {
			parts := make([]string, len(x))
			for i, e := range x {
				parts[i] = evidenceOf("", e).Value
			}
			it.Value = strings.Join(parts, ", ")
		}
		for i, e := range x {
			if it.Value != "" {
				break
			}
			it.Children = append(it.Children, evidenceOf(strconv.Itoa(i+1), e))
		}
		if len(x) == 0 {
			it.Value = "none"
		}
		return it
	case nil:
		return evidenceItem{Name: name, Value: "—"}
	case float64:
		return evidenceItem{Name: name, Value: strconv.FormatFloat(x, 'g', -1, 64)}
	case bool:
		if x {
			return evidenceItem{Name: name, Value: "yes"}
		}
		return evidenceItem{Name: name, Value: "no"}
	}
	return evidenceItem{Name: name, Value: fmt.Sprint(v)}
}

func scalars(xs []any) bool {
	for _, x := range xs {
		switch x.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}

// humanName turns an evidence key (alt_xuln, peakALT) into words a reader
// scans quickly; the raw JSON below keeps the exact keys.
func humanName(k string) string {
	return strings.ReplaceAll(k, "_", " ")
}
