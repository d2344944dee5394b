package watchdog

import (
	"math"
	"time"
)

type sample struct {
	at         time.Time
	goroutines float64
	load       float64
}

// fit is the least-squares model goroutines = a + perLoad*load + excess*t
// over the window, with t in minutes. Fitting load and time together is
// what separates "more goroutines because more requests" (perLoad) from
// "more goroutines as time passes at the same load" (excess, the leak).
type fit struct {
	n              int
	span           time.Duration
	meanGoroutines float64
	// growth is the plain trend of goroutines over time, ignoring load.
	growth float64
	// excess is the trend not explained by load; perLoad the goroutines
	// per unit of load. perLoadKnown is false when load did not vary
	// enough in the window to tell (e.g. a flat or absent InFlight).
	excess       float64
	perLoad      float64
	perLoadKnown bool
	// tExcess is excess over its standard error: how sure the fit is that
	// the trend is not noise. +Inf for a noise-free fit.
	tExcess float64
}

func fitWindow(ss []sample) fit {
	f := fit{n: len(ss)}
	if len(ss) < 3 {
		return f
	}
	f.span = ss[len(ss)-1].at.Sub(ss[0].at)
	t0 := ss[0].at
	n := float64(len(ss))
	var mt, ml, mg float64
	for _, s := range ss {
		mt += s.at.Sub(t0).Minutes()
		ml += s.load
		mg += s.goroutines
	}
	mt, ml, mg = mt/n, ml/n, mg/n
	f.meanGoroutines = mg
	var stt, sll, stl, stg, slg, sgg float64
	for _, s := range ss {
		t := s.at.Sub(t0).Minutes() - mt
		l := s.load - ml
		g := s.goroutines - mg
		stt += t * t
		sll += l * l
		stl += t * l
		stg += t * g
		slg += l * g
		sgg += g * g
	}
	if stt == 0 {
		return f
	}
	f.growth = stg / stt

	// Load that barely varies cannot be told apart from the intercept;
	// treat it as constant and fall back to the plain time trend.
	det := stt*sll - stl*stl
	if sll <= 1e-9*math.Max(1, ml*ml)*n || det <= 1e-12*stt*sll {
		f.excess = f.growth
		rss := sgg - f.growth*stg
		f.tExcess = tStat(f.excess, rss, n-2, 1/stt)
		return f
	}
	f.excess = (sll*stg - stl*slg) / det
	f.perLoad = (stt*slg - stl*stg) / det
	f.perLoadKnown = true
	rss := sgg - f.excess*stg - f.perLoad*slg
	// Var(excess) = sigma^2 * sll/det: it grows as load and time move
	// together, so a load ramp that mirrors time is never called a leak
	// with confidence.
	f.tExcess = tStat(f.excess, rss, n-3, sll/det)
	return f
}

func tStat(coef, rss, dof, varFactor float64) float64 {
	if dof <= 0 {
		return 0
	}
	sigma2 := math.Max(rss, 0) / dof
	se := math.Sqrt(sigma2 * varFactor)
	// Relative floor: rounding leaves a tiny rss on a perfect line.
	if se <= 1e-9*math.Max(1, math.Abs(coef)) {
		if coef == 0 {
			return 0
		}
		return math.Inf(int(math.Copysign(1, coef)))
	}
	return coef / se
}
