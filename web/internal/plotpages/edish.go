package plotpages

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"

	"github.com/trialwatch/trialwatch/checker/api/wire"
	"github.com/trialwatch/trialwatch/web/internal/page"
)

// edishPoint is one subject in the page's plot data (edish.js).
type edishPoint struct {
	Subject  string      `json:"s"`
	Site     string      `json:"site"`
	Arm      string      `json:"arm"`
	ALT      float64     `json:"alt"`
	AST      float64     `json:"ast"`
	Tr       float64     `json:"tr"`
	Bili     float64     `json:"bili"`
	ALP      float64     `json:"alp,omitempty"`
	R        *float64    `json:"r"`
	RClass   string      `json:"rc"`
	Quadrant string      `json:"q"`
	Dates    [4]string   `json:"d"` // ALT, AST, bilirubin, ALP peaks
	MDISH    *mdishPoint `json:"m"`
}

type mdishPoint struct {
	ALT      float64 `json:"alt"`
	AST      float64 `json:"ast"`
	Tr       float64 `json:"tr"`
	Bili     float64 `json:"bili"`
	Quadrant string  `json:"q"`
	Ceiling  bool    `json:"ceiling,omitempty"`
}

type edishPlot struct {
	Study  string       `json:"study"`
	Lines  [4]float64   `json:"lines"` // eDISH x, y; mDISH x, y
	Points []edishPoint `json:"points"`
}

type edishView struct {
	Rows       []edishPoint
	Total      int
	Capped     bool
	MDISH      int
	HasALP     bool
	XLimit     float64
	YLimit     float64
	Quadrants  map[string]int
	QuadrantOf map[string]string
}

// edishTableRows is how many subjects the page's table lists, worst
// first: the plot draws them all, and every subject is on the subject list.
const edishTableRows = 1000

// quadrantOrder ranks quadrants for the table, the most worrying first.
var quadrantOrder = []string{"hys-law", "temples-corollary", "hyperbilirubinemia", "normal"}

var quadrantNames = map[string]string{
	"hys-law":            "Potential Hy's law",
	"temples-corollary":  "Temple's corollary",
	"hyperbilirubinemia": "Cholestasis or hyperbilirubinemia",
	"normal":             "Normal range",
}

// edish shows the eDISH plot of the subjects the user may see, and mDISH
// for those whose baseline transaminases were above the ULN.
func (s *Pages) edish(w http.ResponseWriter, r *http.Request) {
	study := r.PathValue("study")
	var a wire.EDISH
	if err := s.api.Get(r, page.StudyAPI(study, "edish"), &a); err != nil {
		s.pages.APIFailed(w, r, err)
		return
	}
	plot := edishPlot{Study: study, Lines: [4]float64{cmp.Or(a.XLimit, 3), cmp.Or(a.YLimit, 2), cmp.Or(a.MDISHXLimit, 3), cmp.Or(a.MDISHYLimit, 2)},
		Points: make([]edishPoint, 0, len(a.Subjects))}
	view := edishView{XLimit: plot.Lines[0], YLimit: plot.Lines[1], Quadrants: map[string]int{}, QuadrantOf: quadrantNames}
	noArm := true
	for _, p := range a.Subjects {
		// Four significant digits place a point to the pixel and keep the
		// page of 20,000 points a third smaller.
		pt := edishPoint{Subject: p.Subject, Site: p.Site, Arm: p.Arm, ALT: sig4(p.ALT), AST: sig4(p.AST), Tr: sig4(p.Transaminase),
			Bili: sig4(p.Bilirubin), ALP: sig4(p.ALP), Quadrant: p.Quadrant, Dates: [4]string{p.ALTDate, p.ASTDate, p.BilirubinDate, p.ALPDate}}
		if p.ALT > 0 && p.ALP > 0 {
			ratio := sig4(p.ALT / p.ALP) // (ALT/ULN) / (ALP/ULN), of the peaks
			pt.R = &ratio
		}
		pt.RClass = rClass(pt.R)
		if m := p.MDISH; m != nil {
			pt.MDISH = &mdishPoint{ALT: sig4(m.ALT), AST: sig4(m.AST), Tr: sig4(m.Transaminase), Bili: sig4(m.Bilirubin), Quadrant: string(m.Quadrant), Ceiling: m.Ceiling}
			view.MDISH++
		}
		noArm = noArm && p.Arm == ""
		view.HasALP = view.HasALP || p.ALP > 0
		view.Quadrants[p.Quadrant]++
		plot.Points = append(plot.Points, pt)
	}
	if noArm && len(plot.Points) > 0 {
		s.addArms(r, study, plot.Points)
	}
	view.Total = len(plot.Points)
	rows := slices.Clone(plot.Points)
	slices.SortStableFunc(rows, func(a, b edishPoint) int {
		return cmp.Or(cmp.Compare(rank(a.Quadrant), rank(b.Quadrant)), cmp.Compare(b.Tr, a.Tr), cmp.Compare(a.Subject, b.Subject))
	})
	if len(rows) > edishTableRows {
		rows, view.Capped = rows[:edishTableRows], true
	}
	view.Rows = rows
	s.pages.Render(w, r, http.StatusOK, "edish", page.Page{Title: study + ": eDISH", Nav: "edish", Data: view, Plot: plot,
		Scripts: []string{"vendor/chart.umd.min.js", "plots.js", "edish.js"}})
}

// addArms fills in each point's arm from the subject list, for an eDISH
// answer without arms; where the node cannot list subjects, arms stay
// unknown.
func (s *Pages) addArms(r *http.Request, study string, pts []edishPoint) {
	var list wire.Subjects
	if err := s.api.Get(r, page.StudyAPI(study, "subjects"), &list); err != nil {
		return
	}
	arm := make(map[string]string, len(list.Subjects))
	for _, row := range list.Subjects {
		arm[row.Subject] = row.Arm
	}
	for i := range pts {
		pts[i].Arm = arm[pts[i].Subject]
	}
}

func rank(quadrant string) int {
	if i := slices.Index(quadrantOrder, quadrant); i >= 0 {
		return i
	}
	return len(quadrantOrder)
}

// rClass is the pattern of liver injury the R ratio suggests (FDA 2009;
// EASL 2019): hepatocellular at 5 or more, cholestatic at 2 or less.
func rClass(r *float64) string {
	switch {
	case r == nil:
		return "unknown"
	case *r >= 5:
		return "hepatocellular"
	case *r <= 2:
		return "cholestatic"
	}
	return "mixed"
}

// sig4 is v to four significant digits.
func sig4(v float64) float64 {
	r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 4, 64), 64)
	return r
}
