package web

import (
	"net/http"
	"net/url"
	"slices"
)

// count is one line of GET /signals/summary.
type count struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Status   string `json:"status"`
	N        int    `json:"count"`
}

// Severities, most severe first, as the API names them.
var severities = []string{"critical", "high", "medium", "low", "info"}

type overviewPage struct {
	Severities []string
	Rules      []ruleRow
	Open       int
}

type ruleRow struct {
	Rule   string
	Counts []int // per severity, in Severities' order
	Total  int
}

// overview shows a study's open findings by rule and severity.
func (s *Server) overview(w http.ResponseWriter, r *http.Request) {
	study := r.PathValue("study")
	var sum struct {
		Counts []count `json:"counts"`
	}
	if err := s.api.Get(r, query("/api/v1/studies/"+url.PathEscape(study)+"/signals/summary", "status", "new,acknowledged"), &sum); err != nil {
		s.apiFailed(w, r, err)
		return
	}
	p := overviewPage{Severities: severities}
	for _, c := range sum.Counts {
		i := slices.IndexFunc(p.Rules, func(row ruleRow) bool { return row.Rule == c.Rule })
		if i < 0 {
			p.Rules = append(p.Rules, ruleRow{Rule: c.Rule, Counts: make([]int, len(severities))})
			i = len(p.Rules) - 1
		}
		if j := slices.Index(severities, c.Severity); j >= 0 {
			p.Rules[i].Counts[j] += c.N
		}
		p.Rules[i].Total += c.N
		p.Open += c.N
	}
	s.render(w, r, http.StatusOK, "overview", Page{Title: study, Nav: "overview", Data: p})
}
