package plotpages

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/trialwatch/trialwatch/checker/api/wire"
	"github.com/trialwatch/trialwatch/web/internal/page"
)

// kriValue is a site's latest value of a KRI, as the site page says it.
type kriValue struct{ wire.KRISite }

// FlagText says the flag, "" when there is none or it is 0.
func (k kriValue) FlagText() string {
	if k.Flag == nil || *k.Flag == 0 {
		return ""
	}
	return "flag " + strconv.Itoa(*k.Flag)
}

// The KRI page's plot data, read by kris.js: one funnel per KRI.
type funnelPlot struct {
	Study string   `json:"study"`
	KRIs  []funnel `json:"kris"`
}

type funnel struct {
	ID      string        `json:"id"`
	Canvas  string        `json:"canvas"`
	Name    string        `json:"name"`
	XLabel  string        `json:"x"`
	YLabel  string        `json:"y"`
	Overall float64       `json:"overall"`
	Sites   []funnelSite  `json:"sites"`
	Bounds  []funnelBound `json:"bounds"`
	Lines   []funnelLimit `json:"lines"` // thresholds, each a line of the funnel
}

type funnelSite struct {
	Site   string   `json:"site"`
	X      float64  `json:"x"`
	Y      float64  `json:"y"`
	Flag   *int     `json:"flag"`
	Score  *float64 `json:"score"`
	Num    float64  `json:"num"`
	Streak int      `json:"streak"`
}

type funnelBound struct {
	X        float64    `json:"x"`
	Expected float64    `json:"expected"`
	Limits   []*float64 `json:"limits"` // in the order of Lines
}

type funnelLimit struct {
	Threshold float64 `json:"threshold"`
	Key       string  `json:"key"`
	Outer     bool    `json:"outer"` // the red line (flag ±2), else amber
}

type krisView struct {
	AsOf, Computed time.Time
	Scores         []siteScore
	KRIs           []funnelTable
}

type siteScore struct {
	Site       string
	Score      float64
	Red, Amber int
}

type funnelTable struct {
	ID, Canvas, Name, Numerator, Denominator, Label string
	Sites                                           []funnelSite
	Flagged                                         int
}

// kris shows, per KRI, a funnel plot of the sites the user may see
// (metric against denominator, with the bounds of each threshold), and
// the sites' risk scores.
func (s *Pages) kris(w http.ResponseWriter, r *http.Request) {
	study := r.PathValue("study")
	list, ok := s.kriList(w, r)
	if !ok {
		return
	}
	view := krisView{AsOf: list.AsOf, Computed: list.Computed}
	for _, rs := range list.RiskScores {
		view.Scores = append(view.Scores, siteScore{Site: rs.Site, Score: rs.Score, Red: rs.Red, Amber: rs.Amber})
	}
	slices.SortStableFunc(view.Scores, func(a, b siteScore) int { return cmp.Compare(b.Score, a.Score) }) // riskiest first
	plot := funnelPlot{Study: study, KRIs: []funnel{}}
	for i, id := range kriIDs(list.KRIs) {
		var d wire.KRIDetail
		if err := s.api.Get(r, page.StudyAPI(study, "kris", id), &d); err != nil {
			s.pages.APIFailed(w, r, err)
			return
		}
		f := funnelOf(d, "funnel-"+strconv.Itoa(i))
		plot.KRIs = append(plot.KRIs, f)
		t := funnelTable{ID: d.KRI, Canvas: f.Canvas, Name: d.Name, Numerator: d.Numerator, Denominator: d.Denominator, Sites: f.Sites}
		for _, st := range f.Sites {
			if st.Flag != nil && *st.Flag != 0 {
				t.Flagged++
			}
		}
		t.Label = "Funnel plot of " + d.Name + " (" + d.KRI + "): " + strconv.Itoa(len(f.Sites)) + " sites, " + strconv.Itoa(t.Flagged) +
			" flagged. The table after it lists every site."
		view.KRIs = append(view.KRIs, t)
	}
	s.pages.Render(w, r, http.StatusOK, "kris", page.Page{Title: study + ": site KRIs", Nav: "kris", Data: view, Plot: plot,
		Scripts: []string{"vendor/chart.umd.min.js", "plots.js", "kris.js"}})
}

// kriList reads the study's latest KRIs; a study whose KRIs were never
// computed shows a page that says so.
func (s *Pages) kriList(w http.ResponseWriter, r *http.Request) (wire.KRIs, bool) {
	var list wire.KRIs
	err := s.api.Get(r, page.StudyAPI(r.PathValue("study"), "kris"), &list)
	var ae *page.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		s.pages.Error(w, r, http.StatusNotFound, "The KRIs of this study were never computed: they are computed after uploads, or on request by a monitor.")
		return list, false
	}
	if err != nil {
		s.pages.APIFailed(w, r, err)
		return list, false
	}
	return list, true
}

// kriIDs lists the KRIs of the answer, in its order.
func kriIDs(sites []wire.KRISite) []string {
	var ids []string
	for _, k := range sites {
		if !slices.Contains(ids, k.KRI) {
			ids = append(ids, k.KRI)
		}
	}
	return ids
}

// funnelOf is one KRI's funnel: its sites, and its bounds ordered by
// denominator, one line per threshold.
func funnelOf(d wire.KRIDetail, canvas string) funnel {
	f := funnel{ID: d.KRI, Canvas: canvas, Name: d.Name, XLabel: d.Denominator, YLabel: d.Name, Overall: d.Overall,
		Sites: []funnelSite{}, Bounds: []funnelBound{}, Lines: []funnelLimit{}}
	for i, t := range d.Thresholds {
		flag := 0
		if i < len(d.Flags) {
			flag = d.Flags[i]
		}
		// A threshold's flag is the flag of the band past it: the flag
		// list has one more entry than the thresholds, around 0.
		if t > 0 && i+1 < len(d.Flags) {
			flag = d.Flags[i+1]
		}
		f.Lines = append(f.Lines, funnelLimit{Threshold: t, Key: strconv.FormatFloat(t, 'g', -1, 64), Outer: flag == 2 || flag == -2})
	}
	for _, st := range d.Sites {
		f.Sites = append(f.Sites, funnelSite{Site: st.Site, X: st.Denominator, Y: st.Metric, Flag: st.Flag, Score: st.Score,
			Num: st.Numerator, Streak: st.Streak})
	}
	sort.SliceStable(d.Bounds, func(i, j int) bool { return d.Bounds[i].Denominator < d.Bounds[j].Denominator })
	for _, b := range d.Bounds {
		fb := funnelBound{X: b.Denominator, Expected: b.Expected}
		for _, l := range f.Lines {
			fb.Limits = append(fb.Limits, b.Limits[l.Key])
		}
		f.Bounds = append(f.Bounds, fb)
	}
	return f
}

type sitePlot struct {
	KRIs []siteHistory `json:"kris"`
}

type siteHistory struct {
	ID     string      `json:"id"`
	Canvas string      `json:"canvas"`
	Name   string      `json:"name"`
	Points []sitePoint `json:"points"`
}

type sitePoint struct {
	AsOf   string   `json:"t"`
	Metric float64  `json:"y"`
	Flag   *int     `json:"flag"`
	Score  *float64 `json:"score"`
}

type siteView struct {
	Site     string
	AsOf     time.Time
	Score    *siteScore
	KRIs     []siteKRI
	Subjects int
}

type siteKRI struct {
	ID, Canvas, Name, Label string
	Latest                  *kriValue
	Streak                  int
	Points                  []sitePoint
}

// kriHistoryLen is how many snapshots the site page plots per KRI.
const kriHistoryLen = 50

// sitePage shows a site's KRIs over time and how many snapshots in a row
// flagged each. A site the user may not see is not found, as one that
// does not exist.
func (s *Pages) sitePage(w http.ResponseWriter, r *http.Request) {
	study, site := r.PathValue("study"), r.PathValue("site")
	list, ok := s.kriList(w, r)
	if !ok {
		return
	}
	view := siteView{Site: site, AsOf: list.AsOf}
	for _, rs := range list.RiskScores {
		if rs.Site == site {
			view.Score = &siteScore{Site: rs.Site, Score: rs.Score, Red: rs.Red, Amber: rs.Amber}
		}
	}
	latest := map[string]*kriValue{}
	for _, k := range list.KRIs {
		if k.Site == site {
			latest[k.KRI] = &kriValue{k}
		}
	}
	if view.Score == nil && len(latest) == 0 {
		s.pages.Error(w, r, http.StatusNotFound, "not found")
		return
	}
	plot := sitePlot{KRIs: []siteHistory{}}
	for i, id := range kriIDs(list.KRIs) {
		var h wire.KRIHistory
		if err := s.api.Get(r, page.Query(page.StudyAPI(study, "kris", id, "sites", site, "history"), "limit", strconv.Itoa(kriHistoryLen)), &h); err != nil {
			s.pages.APIFailed(w, r, err)
			return
		}
		sh := siteHistory{ID: id, Canvas: "history-" + strconv.Itoa(i), Name: id, Points: []sitePoint{}}
		for j := len(h.History) - 1; j >= 0; j-- { // oldest first
			p := h.History[j]
			sh.Points = append(sh.Points, sitePoint{AsOf: p.AsOf.UTC().Format("2006-01-02 15:04"), Metric: p.Metric, Flag: p.Flag, Score: p.Score})
		}
		k := siteKRI{ID: id, Canvas: sh.Canvas, Name: id, Latest: latest[id], Streak: h.Streak, Points: sh.Points}
		plot.KRIs = append(plot.KRIs, sh)
		view.KRIs = append(view.KRIs, k)
	}
	names := s.kriNames(r, study, view.KRIs)
	for i := range view.KRIs {
		k := &view.KRIs[i]
		if n := names[k.ID]; n != "" {
			k.Name, plot.KRIs[i].Name = n, n
		}
		k.Label = k.Name + " of site " + site + " over its last " + strconv.Itoa(len(k.Points)) + " computations; flagged " +
			strconv.Itoa(k.Streak) + " times in a row. The table after it lists the values."
	}
	s.pages.Render(w, r, http.StatusOK, "site", page.Page{Title: "Site " + site, Nav: "kris", Data: view, Plot: plot,
		Scripts: []string{"vendor/chart.umd.min.js", "plots.js", "site.js"}})
}

// kriNames names the KRIs, from their definitions; a name that cannot be
// read leaves the KRI's id.
func (s *Pages) kriNames(r *http.Request, study string, ks []siteKRI) map[string]string {
	out := map[string]string{}
	for _, k := range ks {
		var d wire.KRIDetail
		if s.api.Get(r, page.StudyAPI(study, "kris", k.ID), &d) == nil {
			out[k.ID] = d.Name
		}
	}
	return out
}
