package kri

import "slices"

// RiskScore is a site's risk score as gsm.kri's CalculateRiskScore makes
// it: the weights of its KRIs' flags summed (Raw), over the sum of those
// KRIs' largest weights (Max), as a percentage (Score). A KRI the site has
// no flag for (too little data) counts in neither sum.
type RiskScore struct {
	Site  string
	Score float64 // 0–100
	Raw   float64
	Max   float64
	Red   int // KRIs flagged ±2
	Amber int // KRIs flagged ±1
}

// RiskScores scores every site any analysis has, ordered by site.
func RiskScores(analyses []Analysis) []RiskScore {
	by := map[string]*RiskScore{}
	var order []string
	for _, a := range analyses {
		for _, r := range a.Sites {
			rs, ok := by[r.Site]
			if !ok {
				rs = &RiskScore{Site: r.Site}
				by[r.Site] = rs
				order = append(order, r.Site)
			}
			if !r.Scored {
				continue
			}
			rs.Raw += a.Spec.WeightOf(r.Flag)
			rs.Max += a.Spec.MaxWeight()
			switch r.Flag {
			case 2, -2:
				rs.Red++
			case 1, -1:
				rs.Amber++
			}
		}
	}
	slices.SortFunc(order, CompareSites)
	out := make([]RiskScore, len(order))
	for i, site := range order {
		rs := *by[site]
		if rs.Max > 0 {
			rs.Score = rs.Raw / rs.Max * 100
		}
		out[i] = rs
	}
	return out
}
