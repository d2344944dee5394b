// Package kriapi serves a study's site key risk indicators: the latest
// snapshot (JSON or CSV), one KRI with its funnel bounds, a site's
// history, a recompute, and the KRI settings. A caller limited to some
// sites sees only theirs.
package kriapi

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/checker/api/scope"
	"github.com/trialwatch/trialwatch/checker/api/wire"
	"github.com/trialwatch/trialwatch/checker/kris"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/kri"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// Service computes and keeps a study's site key risk indicators;
// kris.Service is one.
type Service interface {
	Latest(ctx context.Context, study string) (kris.Snapshot, error)
	History(ctx context.Context, study, id, site string, limit int) ([]kris.Point, error)
	Recompute(ctx context.Context, study string) (kris.Snapshot, error)
	Settings(ctx context.Context, study string) (kri.Settings, error)
	PutSettings(ctx context.Context, study string, set kri.Settings, now time.Time) error
}

// API serves a study's site KRIs, their history and settings.
type API struct {
	svc Service
	log *slog.Logger
}

// New returns the KRI endpoints over svc.
func New(svc Service, log *slog.Logger) *API {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{svc: svc, log: log}
}

// Register mounts the KRI routes on mux (see scope.Mount).
func (a *API) Register(mux jsonhttp.Mux) {
	scope.Mount(mux, map[string]http.HandlerFunc{
		"GET /api/v1/studies/{study}/kris":                            a.list,
		"GET /api/v1/studies/{study}/kris/{kri}":                      a.one,
		"GET /api/v1/studies/{study}/kris/{kri}/sites/{site}/history": a.history,
		"POST /api/v1/studies/{study}/kris/recompute":                 a.recompute,
		"GET /api/v1/studies/{study}/kri-settings":                    a.getSettings,
		"PUT /api/v1/studies/{study}/kri-settings":                    a.putSettings,
	})
}

// siteJSON is one site's KRI, rounded for the answer.
func siteJSON(id string, r kri.SiteResult, streak int) wire.KRISite {
	out := wire.KRISite{KRI: id, Site: r.Site, Numerator: r.Numerator, Denominator: r.Denominator, Metric: roundTo(r.Metric, 6), Streak: streak}
	if r.Scored {
		score, flag := roundTo(r.Score, 3), r.Flag
		out.Score, out.Flag = &score, &flag
	}
	return out
}

// latest reads the study's newest snapshot, answering 404 when it has
// none yet.
func (a *API) latest(w http.ResponseWriter, r *http.Request) (kris.Snapshot, bool) {
	snap, err := a.svc.Latest(r.Context(), r.PathValue("study"))
	if errors.Is(err, clinical.ErrNotFound) {
		jsonhttp.Error(w, http.StatusNotFound, "the KRIs of study "+r.PathValue("study")+" were never computed: they are after uploads, or POST .../kris/recompute")
		return snap, false
	}
	if err != nil {
		jsonhttp.ServerError(w, r, a.log, http.StatusInternalServerError, fmt.Errorf("reading the KRIs of study %s: %w", r.PathValue("study"), err))
		return snap, false
	}
	return snap, true
}

// list answers every KRI of the latest snapshot for the sites the caller
// may see, their risk scores and the study's QTLs: JSON, or CSV with
// ?format=csv.
func (a *API) list(w http.ResponseWriter, r *http.Request) {
	asCSV := false
	switch f := r.URL.Query().Get("format"); f {
	case "", "json":
	case "csv":
		asCSV = true
	default:
		jsonhttp.Error(w, http.StatusBadRequest, "query parameter format: want csv or json, got "+strconv.Quote(f))
		return
	}
	snap, ok := a.latest(w, r)
	if !ok {
		return
	}
	study := r.PathValue("study")
	out := wire.KRIs{Study: study, AsOf: snap.DataCut, Computed: snap.Computed, Snapshot: snap.ID,
		KRIs: []wire.KRISite{}, RiskScores: []wire.RiskScore{}, QTLs: []wire.QTL{}}
	for _, an := range snap.KRIs {
		for _, s := range an.Sites {
			if scope.Visible(r.Context(), study, s.Site) {
				out.KRIs = append(out.KRIs, siteJSON(an.Spec.ID, s, snap.Streak(an.Spec.ID, s.Site)))
			}
		}
	}
	for _, rs := range snap.RiskScores {
		if scope.Visible(r.Context(), study, rs.Site) {
			out.RiskScores = append(out.RiskScores, wire.RiskScore{Site: rs.Site, Score: roundTo(rs.Score, 1), Raw: rs.Raw, Max: rs.Max, Red: rs.Red, Amber: rs.Amber})
		}
	}
	for _, q := range snap.QTLs {
		out.QTLs = append(out.QTLs, wire.QTL{QTL: q.ID, Name: q.Name, Numerator: q.Numerator, Denominator: q.Denominator,
			Metric: roundTo(q.Metric, 6), Limit: q.Limit, Exceeded: q.Exceeded})
	}
	if !asCSV {
		jsonhttp.Write(w, http.StatusOK, out)
		return
	}
	scores := map[string]float64{}
	for _, rs := range out.RiskScores {
		scores[rs.Site] = rs.Score
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": study + "-kris.csv"}))
	cw := csv.NewWriter(w)
	cw.Write([]string{"data_cut", "kri", "name", "site", "numerator", "denominator", "metric", "score", "flag", "flagged_in_a_row", "site_risk_score"})
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, k := range out.KRIs {
		sp, _ := kri.SpecFor(k.KRI)
		score, flag := "", ""
		if k.Score != nil {
			score, flag = num(*k.Score), strconv.Itoa(*k.Flag)
		}
		cw.Write([]string{snap.DataCut.Format(time.RFC3339), k.KRI, sp.Name, audit.CSVCell(k.Site), num(k.Numerator), num(k.Denominator),
			num(k.Metric), score, flag, strconv.Itoa(k.Streak), num(scores[k.Site])})
	}
	cw.Flush()
}

// one answers one KRI: its definition, the sites the caller may see and
// the funnel bounds at their denominators.
func (a *API) one(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("kri")
	if _, ok := kri.SpecFor(id); !ok {
		jsonhttp.Error(w, http.StatusNotFound, "no KRI "+strconv.Quote(id))
		return
	}
	snap, ok := a.latest(w, r)
	if !ok {
		return
	}
	study := r.PathValue("study")
	for _, an := range snap.KRIs {
		if an.Spec.ID != id {
			continue
		}
		sp := an.Spec
		out := wire.KRIDetail{KRI: sp.ID, Name: sp.Name, Numerator: sp.Numerator, Denominator: sp.Denominator, Model: sp.Model,
			Thresholds: sp.Thresholds, Flags: sp.Flags, MinDenominator: sp.MinDenominator, AsOf: snap.DataCut, Snapshot: snap.ID,
			Overall: roundTo(an.Overall, 6), Factor: roundTo(an.Factor, 4), Sites: []wire.KRISite{}, Bounds: []wire.KRIBound{}}
		seen := kri.Analysis{Spec: sp}
		for _, s := range an.Sites {
			if scope.Visible(r.Context(), study, s.Site) {
				out.Sites = append(out.Sites, siteJSON(id, s, snap.Streak(id, s.Site)))
				seen.Sites = append(seen.Sites, s)
			}
		}
		for _, b := range an.Bounds(seen.Denominators()) {
			bj := wire.KRIBound{Denominator: b.Denominator, Expected: roundTo(b.Expected, 6), Limits: map[string]*float64{}}
			for _, l := range b.Limits {
				var m *float64
				if l.OK {
					v := roundTo(l.Metric, 6)
					m = &v
				}
				bj.Limits[strconv.FormatFloat(l.Threshold, 'g', -1, 64)] = m
			}
			out.Bounds = append(out.Bounds, bj)
		}
		jsonhttp.Write(w, http.StatusOK, out)
		return
	}
	jsonhttp.Error(w, http.StatusNotFound, "KRI "+id+" is not in the study's latest snapshot")
}

// Paging of a KRI's history.
const (
	defaultHistory = 50
	maxHistory     = 1000
)

func (a *API) history(w http.ResponseWriter, r *http.Request) {
	study, id, site := r.PathValue("study"), r.PathValue("kri"), r.PathValue("site")
	if _, ok := kri.SpecFor(id); !ok {
		jsonhttp.Error(w, http.StatusNotFound, "no KRI "+strconv.Quote(id))
		return
	}
	if !scope.Visible(r.Context(), study, site) {
		jsonhttp.Error(w, http.StatusNotFound, "site "+site+" not found in study "+study)
		return
	}
	limit := defaultHistory
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxHistory {
			jsonhttp.Error(w, http.StatusBadRequest, "query parameter limit: want a whole number from 1 to "+strconv.Itoa(maxHistory)+", got "+strconv.Quote(v))
			return
		}
		limit = n
	}
	pts, err := a.svc.History(r.Context(), study, id, site, limit)
	if err != nil {
		jsonhttp.ServerError(w, r, a.log, http.StatusInternalServerError, fmt.Errorf("reading the history of %s at site %s of study %s: %w", id, site, study, err))
		return
	}
	out := wire.KRIHistory{KRI: id, Site: site, History: []wire.KRIHistoryPoint{}}
	for i, p := range pts {
		if i == 0 {
			out.Streak = p.Streak
		}
		out.History = append(out.History, wire.KRIHistoryPoint{Snapshot: p.SnapshotID, AsOf: p.DataCut, KRISite: siteJSON(id, p.SiteResult, p.Streak)})
	}
	jsonhttp.Write(w, http.StatusOK, out)
}

func (a *API) recompute(w http.ResponseWriter, r *http.Request) {
	study := r.PathValue("study")
	audit.Describe(r.Context(), "", study, nil, map[string]any{"recompute": study})
	snap, err := a.svc.Recompute(r.Context(), study)
	if err != nil {
		status := http.StatusInternalServerError
		switch {
		case errors.Is(err, clinical.ErrUnavailable):
			status = http.StatusBadGateway // a data service could not be reached
		case errors.Is(err, context.DeadlineExceeded):
			status = http.StatusGatewayTimeout
		}
		jsonhttp.ServerError(w, r, a.log, status, err)
		return
	}
	flagged := 0
	for _, an := range snap.KRIs {
		for _, s := range an.Sites {
			if s.Scored && s.Flag != 0 {
				flagged++
			}
		}
	}
	jsonhttp.Write(w, http.StatusOK, map[string]any{"study": study, "snapshot": snap.ID, "as_of": snap.DataCut, "flagged": flagged})
}

// kriSettingsDoc is the KRI settings as GET shows them: every KRI's
// thresholds and minimum denominator, and the QTL limits, in effect. A
// PUT takes the same shape, any part of it.
func kriSettingsDoc(set kri.Settings) kri.Settings {
	out := kri.Settings{KRIs: map[string]kri.KRISettings{}, QTLs: set.QTLs}
	if out.QTLs == nil {
		out.QTLs = kri.DefaultQTLs()
	}
	for _, sp := range set.Specs() {
		min := sp.MinDenominator
		out.KRIs[sp.ID] = kri.KRISettings{Thresholds: sp.Thresholds, MinDenominator: &min}
	}
	return out
}

func (a *API) getSettings(w http.ResponseWriter, r *http.Request) {
	set, err := a.svc.Settings(r.Context(), r.PathValue("study"))
	if err != nil {
		jsonhttp.ServerError(w, r, a.log, http.StatusInternalServerError, fmt.Errorf("reading the KRI settings of study %s: %w", r.PathValue("study"), err))
		return
	}
	jsonhttp.Write(w, http.StatusOK, kriSettingsDoc(set))
}

func (a *API) putSettings(w http.ResponseWriter, r *http.Request) {
	var set kri.Settings
	if !jsonhttp.DecodeBody(w, r, 1<<20, &set, `{"kris": {"kri0001": {"thresholds": [-2, -1, 2, 3], "min_denominator": 30}}, "qtls": {"kri0006": 0.3}}`) {
		return
	}
	if err := set.Validate(); err != nil {
		jsonhttp.Error(w, http.StatusBadRequest, err.Error())
		return
	}
	study := r.PathValue("study")
	before, err := a.svc.Settings(r.Context(), study)
	if err != nil {
		jsonhttp.ServerError(w, r, a.log, http.StatusInternalServerError, fmt.Errorf("reading the KRI settings of study %s: %w", study, err))
		return
	}
	audit.Describe(r.Context(), "", study, kriSettingsDoc(before), kriSettingsDoc(set))
	if err := a.svc.PutSettings(r.Context(), study, set, time.Now()); err != nil {
		jsonhttp.ServerError(w, r, a.log, http.StatusInternalServerError, fmt.Errorf("storing the KRI settings of study %s: %w", study, err))
		return
	}
	jsonhttp.Write(w, http.StatusOK, kriSettingsDoc(set))
}

func roundTo(v float64, places int) float64 {
	p := math.Pow(10, float64(places))
	return math.Round(v*p) / p
}
