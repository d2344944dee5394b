package plotpages

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/checker/api/wire"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/web/internal/page"
)

// severities are the columns of the subject list's open findings, most
// severe first, as its rows' counts are keyed.
var severities = []clinical.Severity{clinical.SeverityCritical, clinical.SeverityHigh, clinical.SeverityMedium,
	clinical.SeverityLow, clinical.SeverityInfo}

// subjectsPerPage is how many subjects the list shows at once: a study
// of 20,000 subjects is read whole from the API but never sent whole.
const subjectsPerPage = 100

type subjectListPage struct {
	Rows              []wire.SubjectRow
	Sites             []string
	Site, Sort        string
	OpenOnly          bool
	Total             int
	Page, Pages       int
	Prev, Next        string
	Severities        []clinical.Severity
	Unavailable       string // why the node cannot list subjects
	FirstRow, LastRow int
}

// subjectList lists the study's subjects the user may see, with their
// open findings by severity, a page at a time.
func (s *Pages) subjectList(w http.ResponseWriter, r *http.Request) {
	study := r.PathValue("study")
	q := r.URL.Query()
	p := subjectListPage{Site: q.Get("site"), Sort: q.Get("sort"), OpenOnly: q.Get("open") == "1", Severities: severities}
	if p.Sort != "open" {
		p.Sort = "subject"
	}
	p.Page, _ = strconv.Atoi(q.Get("page"))
	p.Page = max(p.Page, 1)
	var list wire.Subjects
	err := s.api.Get(r, page.StudyAPI(study, "subjects"), &list)
	var ae *page.APIError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusNotImplemented:
		p.Unavailable = "This server cannot list a study's subjects (its subject service does not list them). Open a subject from its findings instead."
		s.pages.Render(w, r, http.StatusOK, "subjects", page.Page{Title: study + ": subjects", Nav: "subjects", Data: p})
		return
	case err != nil:
		s.pages.APIFailed(w, r, err)
		return
	}
	rows := list.Subjects[:0]
	for _, row := range list.Subjects {
		if !slices.Contains(p.Sites, row.Site) {
			p.Sites = append(p.Sites, row.Site)
		}
		if (p.Site == "" || row.Site == p.Site) && (!p.OpenOnly || row.OpenTotal > 0) {
			rows = append(rows, row)
		}
	}
	slices.Sort(p.Sites)
	if p.Sort == "open" {
		slices.SortStableFunc(rows, func(a, b wire.SubjectRow) int { return cmp.Compare(b.OpenTotal, a.OpenTotal) })
	}
	p.Total = len(rows)
	p.Pages = max(1, (p.Total+subjectsPerPage-1)/subjectsPerPage)
	p.Page = min(p.Page, p.Pages)
	from := (p.Page - 1) * subjectsPerPage
	p.Rows = rows[from:min(from+subjectsPerPage, len(rows))]
	p.FirstRow, p.LastRow = from+1, from+len(p.Rows)
	link := func(page int) string {
		v := url.Values{}
		for k, val := range map[string]string{"site": p.Site, "sort": p.Sort} {
			if val != "" && val != "subject" {
				v.Set(k, val)
			}
		}
		if p.OpenOnly {
			v.Set("open", "1")
		}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		if len(v) == 0 {
			return "?"
		}
		return "?" + v.Encode()
	}
	if p.Page > 1 {
		p.Prev = link(p.Page - 1)
	}
	if p.Page < p.Pages {
		p.Next = link(p.Page + 1)
	}
	s.pages.Render(w, r, http.StatusOK, "subjects", page.Page{Title: study + ": subjects", Nav: "subjects", Data: p})
}

// labSeqs are the LBSEQs of the results behind a finding: its evidence's
// "results" ("LB:<seq>") and its "…lbseq" fields, the baseline's aside.
func labSeqs(f wire.Signal) []int {
	var out []int
	if rs, ok := f.Evidence["results"].([]any); ok {
		for _, r := range rs {
			if s, ok := r.(string); ok {
				if n, err := strconv.Atoi(strings.TrimPrefix(s, "LB:")); err == nil && strings.HasPrefix(s, "LB:") {
					out = append(out, n)
				}
			}
		}
	}
	for k, v := range f.Evidence {
		if n, ok := v.(float64); ok && strings.HasSuffix(k, "lbseq") && !strings.HasPrefix(k, "baseline") {
			out = append(out, int(n))
		}
	}
	return out
}

// The subject page's plot data (page.Page's Plot), read by subject.js.
type subjectPlot struct {
	Subject string     `json:"subject"`
	Axis    string     `json:"axis"` // what x counts days from
	Doses   []span     `json:"doses"`
	Events  []span     `json:"events"`
	Tests   []labPlot  `json:"tests"`
	Range   [2]float64 `json:"range"` // x extent of everything, for aligned plots
}

// span is a dose or an adverse event on the timeline, in days.
type span struct {
	Label    string  `json:"label"`
	From     float64 `json:"from"`
	To       float64 `json:"to"`
	Open     bool    `json:"open,omitempty"` // no end recorded
	Dates    string  `json:"dates"`
	Severity string  `json:"severity,omitempty"`
	Serious  bool    `json:"serious,omitempty"`
}

type labPlot struct {
	ID     string      `json:"id"` // the canvas's
	Code   string      `json:"code"`
	Name   string      `json:"name"`
	Unit   string      `json:"unit"`
	Points []labPoint  `json:"points"`
	Bands  []gradeBand `json:"bands"`
}

type labPoint struct {
	X        float64  `json:"x"`
	Y        float64  `json:"y"`
	Seq      int      `json:"seq"`
	Date     string   `json:"date"`
	Visit    string   `json:"visit"`
	Low      *float64 `json:"low"`
	High     *float64 `json:"high"`
	Baseline bool     `json:"baseline,omitempty"`
	Finding  bool     `json:"finding,omitempty"`
	Grade    *int     `json:"grade,omitempty"`
}

type gradeBand struct {
	Term      string `json:"term"`
	Direction string `json:"direction"`
	// Limits[i] is where grade Grades[i] starts (a grade the criteria
	// do not reach from a lab value is left out).
	Limits []float64 `json:"limits"`
	Grades []int     `json:"grades"`
}

// subjectView is the subject page's content besides its plots.
type subjectView struct {
	P       wire.SubjectProfile
	Axis    string
	Tests   []labTable
	Sources []string // sources that failed
	Events  []eventRow
	Doses   []doseRow
}

type labTable struct {
	ID, Code, Name, Unit, Label string
	Rows                        []labRow
}

type labRow struct {
	Date, Visit, Value, Range, Flags string
	Finding                          bool
}

type eventRow struct {
	Term, Severity, Start, End string
	Serious                    bool
}

type doseRow struct {
	Treatment, Dose, Route, Start, End string
}

// subjectPage shows one subject: demographics, a timeline of doses and
// adverse events, a plot per lab test and the findings. Another site's
// subject is, to a site user, a page that is not found, as the API says.
func (s *Pages) subjectPage(w http.ResponseWriter, r *http.Request) {
	study, subject := r.PathValue("study"), r.PathValue("subject")
	var p wire.SubjectProfile
	if err := s.api.Get(r, page.StudyAPI(study, "subjects", subject), &p); err != nil {
		s.pages.APIFailed(w, r, err)
		return
	}
	plot, view := subjectPlots(p)
	s.pages.Render(w, r, http.StatusOK, "subject", page.Page{Title: subject, Nav: "subjects", Data: view, Plot: plot,
		Scripts: []string{"vendor/chart.umd.min.js", "plots.js", "subject.js"}})
}

// subjectPlots turns a wire.SubjectProfile into the plots' data and the tables that
// say the same in text.
func subjectPlots(p wire.SubjectProfile) (subjectPlot, subjectView) {
	origin, axis := dayZero(p)
	day := func(d clinical.Date) (float64, bool) {
		t, ok := d.Time()
		if !ok || origin.IsZero() {
			return 0, false
		}
		return math.Round(t.Sub(origin).Hours()/24*100) / 100, true
	}
	plot := subjectPlot{Subject: p.Subject, Axis: axis, Doses: []span{}, Events: []span{}, Tests: []labPlot{}}
	view := subjectView{P: p, Axis: axis}
	view.Sources = failedSources(p.Sources)
	lo, hi := math.Inf(1), math.Inf(-1)
	extend := func(xs ...float64) {
		for _, x := range xs {
			lo, hi = math.Min(lo, x), math.Max(hi, x)
		}
	}
	spanOf := func(label string, start, end clinical.Date) (span, bool) {
		from, ok := day(start)
		if !ok {
			return span{}, false
		}
		sp := span{Label: label, From: from, To: from + 1, Dates: dateRange(start, end)}
		if to, ok := day(end); ok && to >= from {
			sp.To = to + 1 // an end date is the whole of that day
		} else if end == "" {
			sp.Open = true
		}
		extend(sp.From, sp.To)
		return sp, true
	}
	for _, d := range p.Doses {
		dose := ""
		if d.Dose != nil {
			dose = strconv.FormatFloat(*d.Dose, 'g', -1, 64) + " " + d.Unit
		}
		view.Doses = append(view.Doses, doseRow{Treatment: d.Treatment, Dose: dose, Route: d.Route, Start: string(d.Start), End: string(d.End)})
		if sp, ok := spanOf(strings.TrimSpace(d.Treatment+" "+dose), d.Start, d.End); ok {
			plot.Doses = append(plot.Doses, sp)
		}
	}
	for _, e := range p.AdverseEvents {
		term := cmp.Or(e.Decoded, e.Term)
		view.Events = append(view.Events, eventRow{Term: term, Severity: e.Severity, Serious: e.Serious, Start: string(e.Start), End: string(e.End)})
		if sp, ok := spanOf(term, e.Start, e.End); ok {
			sp.Severity, sp.Serious = strings.ToLower(e.Severity), e.Serious
			plot.Events = append(plot.Events, sp)
		}
	}

	behind := map[int]bool{} // LBSEQs behind a finding
	for _, f := range p.Findings {
		for _, seq := range labSeqs(f) {
			behind[seq] = true
		}
	}
	byCode := map[string]int{}
	for _, l := range p.Labs {
		i, ok := byCode[l.TestCode]
		if !ok {
			i = len(plot.Tests)
			byCode[l.TestCode] = i
			id := "lab-" + strconv.Itoa(i)
			plot.Tests = append(plot.Tests, labPlot{ID: id, Code: l.TestCode, Name: cmp.Or(l.Test, l.TestCode), Unit: l.Unit, Points: []labPoint{}, Bands: []gradeBand{}})
			view.Tests = append(view.Tests, labTable{ID: id, Code: l.TestCode, Name: cmp.Or(l.Test, l.TestCode), Unit: l.Unit})
		}
		baseline := l.BaselineSeq != nil && *l.BaselineSeq == l.Seq
		var grade *int
		for _, g := range l.Grades {
			if g.Grade != nil && (grade == nil || *g.Grade > *grade) {
				grade = g.Grade
			}
		}
		row := labRow{Date: string(l.Date), Visit: l.Visit, Range: rangeText(l.Low, l.High), Finding: behind[l.Seq]}
		var flags []string
		if baseline {
			flags = append(flags, "baseline")
		}
		if l.OutOfRange != "" {
			flags = append(flags, string(l.OutOfRange))
		}
		if grade != nil && *grade > 0 {
			flags = append(flags, "grade "+strconv.Itoa(*grade))
		}
		if row.Finding {
			flags = append(flags, "behind a finding")
		}
		row.Flags = strings.Join(flags, ", ")
		if l.Value != nil {
			row.Value = strconv.FormatFloat(*l.Value, 'g', -1, 64)
		}
		view.Tests[i].Rows = append(view.Tests[i].Rows, row)
		x, ok := day(l.Date)
		if l.Value == nil || !ok {
			continue
		}
		extend(x)
		plot.Tests[i].Points = append(plot.Tests[i].Points, labPoint{X: x, Y: *l.Value, Seq: l.Seq, Date: string(l.Date), Visit: l.Visit,
			Low: l.Low, High: l.High, Baseline: baseline, Finding: row.Finding, Grade: grade})
	}
	for _, b := range p.GradeBands {
		i, ok := byCode[b.TestCode]
		if !ok {
			continue
		}
		g := gradeBand{Term: b.Term, Direction: string(b.Direction)}
		for _, l := range b.Limits {
			g.Grades, g.Limits = append(g.Grades, l.Grade), append(g.Limits, l.Value)
		}
		plot.Tests[i].Bands = append(plot.Tests[i].Bands, g)
	}
	for i, t := range plot.Tests {
		n, highlighted := len(t.Points), 0
		for _, pt := range t.Points {
			if pt.Finding {
				highlighted++
			}
		}
		label := fmt.Sprintf("%s (%s) over %s: %d results", t.Name, cmp.Or(t.Unit, "no unit"), axis, n)
		if highlighted > 0 {
			label += fmt.Sprintf(", %d behind a finding", highlighted)
		}
		if len(t.Bands) > 0 {
			label += ", with CTCAE grade bands"
		}
		view.Tests[i].Label = label + ". The table below lists every result."
	}
	if lo <= hi {
		plot.Range = [2]float64{math.Floor(lo) - 1, math.Ceil(hi) + 1}
	}
	return plot, view
}

// failedSources names the profile's sources that did not answer, each
// with how it ended, in the order of their names.
func failedSources(s wire.ProfileSources) []string {
	var out []string
	for _, src := range []struct{ name, status string }{
		{"adverse_events", s.AdverseEvents}, {"exposure", s.Exposure}, {"labs", s.Labs}, {"subject", s.Subject},
	} {
		if src.status != "ok" {
			out = append(out, src.name+" ("+src.status+")")
		}
	}
	return out
}

// dayZero is what the subject's plots count days from: the first dose,
// else the reference start, else nothing.
func dayZero(p wire.SubjectProfile) (time.Time, string) {
	if t, ok := p.FirstDose.Time(); ok {
		return t, "days since first dose (" + string(p.FirstDose) + ")"
	}
	if t, ok := p.RefStart.Time(); ok {
		return t, "days since reference start (" + string(p.RefStart) + ")"
	}
	return time.Time{}, "days"
}

func dateRange(start, end clinical.Date) string {
	if end == "" {
		return string(start) + " – (ongoing or no end recorded)"
	}
	return string(start) + " – " + string(end)
}

func rangeText(lo, hi *float64) string {
	f := func(v *float64) string {
		if v == nil {
			return "?"
		}
		return strconv.FormatFloat(*v, 'g', -1, 64)
	}
	if lo == nil && hi == nil {
		return ""
	}
	return f(lo) + "–" + f(hi)
}
