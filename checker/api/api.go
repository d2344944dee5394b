// Package api serves the checker's JSON API: run a check, list and
// review signals, the eDISH points, and a study's settings. It holds no
// storage: it is handed the checker and the signal store.
package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/clinical/rules/liver"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// SignalStore lists stored signals and moves them through review, and
// keeps eDISH points and study settings; signals.Store is one.
type SignalStore interface {
	Signals(ctx context.Context, f signals.Filter) ([]clinical.Signal, signals.Cursor, error)
	Each(ctx context.Context, f signals.Filter, fn func(clinical.Signal) error) error
	Summary(ctx context.Context, f signals.Filter) ([]signals.Count, error)
	OpenBySubject(ctx context.Context, f signals.Filter) (map[string]map[clinical.Severity]int, error)
	Signal(ctx context.Context, study string, id int64) (clinical.Signal, error)
	SetStatus(ctx context.Context, study string, id int64, to clinical.SignalStatus, actor, reason string, now time.Time) (clinical.Signal, error)
	History(ctx context.Context, id int64) ([]signals.StatusChange, error)
	EDISH(ctx context.Context, study, site string) ([]liver.EDISHPoint, error)
	Settings(ctx context.Context, study string) (rules.Config, error)
	PutSettings(ctx context.Context, study string, cfg rules.Config, now time.Time) error
}

// Sources are the study data the API reads besides its own store: the
// checker's sources. Subjects tells a subject's site, for callers limited
// to some sites; the subject endpoints read all four. A source that also
// lists a study's subjects (clinical.StudySubjects) serves the subject
// list; without one it answers 501.
type Sources struct {
	Subjects clinical.SubjectSource
	Exposure clinical.ExposureSource
	Events   clinical.EventSource
	Labs     clinical.LabSource
}

// API serves the checker's JSON endpoints.
type API struct {
	checker *checker.Checker
	src     Sources
	signals SignalStore
	log     *slog.Logger
}

// New returns the checker's HTTP API: checks run with c, subjects and
// their records come from src (the checker's sources), signals and
// settings from store.
func New(c *checker.Checker, src Sources, store SignalStore, log *slog.Logger) *API {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{checker: c, src: src, signals: store, log: log}
}

// Register mounts the API's routes on mux. Every route answers 401 to a
// request that carries no identity (auth.FromContext): the API scopes
// what it shows by the caller's studies and sites, so it fails closed
// even when mounted without the access router.
func (a *API) Register(mux jsonhttp.Mux) {
	for pattern, h := range map[string]http.HandlerFunc{
		"POST /api/v1/studies/{study}/subjects/{subject}/checks": a.postCheck,
		"GET /api/v1/studies/{study}/signals":                    a.listSignals,
		"GET /api/v1/studies/{study}/signals/summary":            a.signalSummary,
		"GET /api/v1/studies/{study}/signals/{id}":               a.getSignal,
		"PATCH /api/v1/studies/{study}/signals/{id}":             a.patchSignal,
		"GET /api/v1/studies/{study}/edish":                      a.edish,
		"GET /api/v1/studies/{study}/settings":                   a.getSettings,
		"PUT /api/v1/studies/{study}/settings":                   a.putSettings,
		"PATCH /api/v1/studies/{study}/settings":                 a.patchSettings,
		"GET /api/v1/studies/{study}/subjects":                   a.listSubjects,
		"GET /api/v1/studies/{study}/subjects/{subject}":         a.getSubject,
	} {
		mux.HandleFunc(pattern, jsonhttp.TextOnly(identified(h)))
	}
}

// identified refuses requests without an identity.
func identified(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := auth.FromContext(r.Context())
		if !ok {
			jsonhttp.Error(w, http.StatusUnauthorized, "authentication required: send Authorization: Bearer <token>")
			return
		}
		if !id.HasStudy(r.PathValue("study")) {
			jsonhttp.NotFound(w)
			return
		}
		h(w, r)
	}
}

// caller is the request's identity, which identified made sure it has.
func caller(r *http.Request) auth.Identity {
	id, _ := auth.FromContext(r.Context())
	return id
}

type edishJSON struct {
	Subject       string            `json:"subject"`
	Site          string            `json:"site"`
	Arm           string            `json:"arm"`
	ALT           float64           `json:"alt_xuln"`
	AST           float64           `json:"ast_xuln"`
	Transaminase  float64           `json:"transaminase_xuln"`
	Bilirubin     float64           `json:"bilirubin_xuln"`
	ALP           float64           `json:"alp_xuln"`
	Quadrant      string            `json:"quadrant"`
	ALTSeq        int               `json:"alt_lbseq,omitempty"`
	ASTSeq        int               `json:"ast_lbseq,omitempty"`
	BilirubinSeq  int               `json:"bilirubin_lbseq,omitempty"`
	ALPSeq        int               `json:"alp_lbseq,omitempty"`
	ALTDate       string            `json:"alt_date,omitempty"`
	ASTDate       string            `json:"ast_date,omitempty"`
	BilirubinDate string            `json:"bilirubin_date,omitempty"`
	ALPDate       string            `json:"alp_date,omitempty"`
	MDISH         *liver.MDISHPoint `json:"mdish,omitempty"`
}

// edish serves each checked subject's peak on-treatment ALT, AST, total
// bilirubin and ALP as multiples of the ULN, with the peaks' dates, the
// arm and the eDISH quadrant, for a plot with reference lines at 3×ULN
// (x) and 2×ULN (y); and, for a subject whose baseline ALT or AST was
// above the ULN, its mDISH point (peaks × baseline, lines at 3× and 2×
// baseline).
func (a *API) edish(w http.ResponseWriter, r *http.Request) {
	pts, err := a.signals.EDISH(r.Context(), r.PathValue("study"), r.URL.Query().Get("site"))
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	study := r.PathValue("study")
	out := make([]edishJSON, 0, len(pts))
	for _, p := range pts {
		if !visible(r.Context(), study, p.Site) {
			continue
		}
		out = append(out, edishJSON{Subject: p.USUBJID, Site: p.Site, Arm: p.Arm, ALT: p.ALT, AST: p.AST, Transaminase: p.Transaminase,
			Bilirubin: p.Bilirubin, ALP: p.ALP, Quadrant: string(p.Quadrant), ALTSeq: p.ALTSeq, ASTSeq: p.ASTSeq, BilirubinSeq: p.BilirubinSeq,
			ALPSeq: p.ALPSeq, ALTDate: string(p.ALTDate), ASTDate: string(p.ASTDate), BilirubinDate: string(p.BilirubinDate),
			ALPDate: string(p.ALPDate), MDISH: p.MDISH})
	}
	jsonhttp.Write(w, http.StatusOK, map[string]any{"study": r.PathValue("study"), "x_limit_xuln": 3, "y_limit_xuln": 2,
		"mdish_x_limit_xbaseline": liver.MDISHTransaminaseLine, "mdish_y_limit_xbaseline": liver.MDISHBilirubinLine,
		"mdish_ceiling_ul": liver.MDISHCeilingUL, "subjects": out})
}

type checkResponse struct {
	Study     string                 `json:"study"`
	Subject   string                 `json:"subject"`
	Complete  bool                   `json:"complete"`
	Sources   checker.SourceStatuses `json:"sources"`
	Signals   []signalJSON           `json:"signals"`
	ElapsedMS int64                  `json:"elapsed_ms"`
	// StoringLater: the findings are being stored behind the answer (their
	// IDs and statuses are not known yet); see checker.Result.
	StoringLater bool   `json:"storing_later,omitempty"`
	Error        string `json:"error,omitempty"`
}

var outcomeStatus = map[checker.Outcome]int{
	checker.OutcomeComplete:           http.StatusOK,
	checker.OutcomeIncomplete:         http.StatusOK,
	checker.OutcomeNotFound:           http.StatusNotFound,
	checker.OutcomeSubjectTimeout:     http.StatusGatewayTimeout,
	checker.OutcomeSubjectUnavailable: http.StatusBadGateway,
	checker.OutcomeError:              http.StatusInternalServerError,
}

func (a *API) postCheck(w http.ResponseWriter, r *http.Request) {
	study, subject := r.PathValue("study"), r.PathValue("subject")
	if all, _ := caller(r).Sites(study); !all {
		id := caller(r)
		// A check stores signals: a caller limited to some sites learns
		// nothing, and changes nothing, about other sites' subjects.
		sub, err := a.src.Subjects.Subject(r.Context(), study, subject)
		switch {
		case errors.Is(err, clinical.ErrNotFound) || (err == nil && !id.CanSee(study, sub.Site)):
			jsonhttp.NotFound(w) // the same bytes as for a subject that does not exist
			return
		case err != nil:
			jsonhttp.ServerError(w, r, a.log, http.StatusBadGateway, fmt.Errorf("looking up the site of subject %s in study %s: %w", subject, study, err))
			return
		}
	}
	ctx := r.Context()
	if t, ok := jsonhttp.Arrived(ctx); ok {
		ctx = checker.WithArrival(ctx, t) // authentication and waiting count against the deadline
	}
	res := a.checker.Check(ctx, study, subject)
	if res.Outcome == checker.OutcomeClientGone {
		a.log.Info("check abandoned by client", "study", res.Study, "subject", res.USUBJID, "elapsed", res.Elapsed)
		return
	}
	out := checkResponse{
		Study: res.Study, Subject: res.USUBJID, Complete: res.Complete, Sources: res.Sources,
		Signals: signalsJSON(res.Signals), ElapsedMS: res.Elapsed.Milliseconds(), StoringLater: res.StoringLater,
	}
	audit.Describe(r.Context(), "", subject, nil, map[string]any{"outcome": res.Outcome, "signals": len(res.Signals)})
	status := outcomeStatus[res.Outcome]
	if status >= 500 {
		// The upstream's or the store's own words stay in the log.
		jsonhttp.ServerErrorWith(w, r, a.log, status, fmt.Errorf("check of %s in study %s: %s (sources %+v): %w", subject, study, res.Outcome, res.Sources, res.Err),
			map[string]any{"study": study, "subject": subject, "sources": res.Sources})
		return
	}
	if res.Err != nil {
		out.Error = res.Err.Error() // not found: the client's own words
	}
	jsonhttp.Write(w, status, out)
}

type signalJSON struct {
	ID       int64             `json:"id,omitempty"`
	Study    string            `json:"study"`
	Site     string            `json:"site"`
	Subject  string            `json:"subject"`
	Rule     clinical.Rule     `json:"rule"`
	Severity clinical.Severity `json:"severity"`
	Key      string            `json:"key"`
	Evidence map[string]any    `json:"evidence"`
	Message  string            `json:"message"`
	Created  time.Time         `json:"created"`
	Status   string            `json:"status,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	Updated  *time.Time        `json:"updated,omitempty"`
	// The finding's first and last record dates; "" when unknown.
	FirstDate clinical.Date `json:"first_date"`
	LastDate  clinical.Date `json:"last_date"`
}

func signalsJSON(sigs []clinical.Signal) []signalJSON {
	out := make([]signalJSON, len(sigs))
	for i, s := range sigs {
		out[i] = signalJSON{ID: s.ID, Study: s.Study, Site: s.Site, Subject: s.USUBJID, Rule: s.Rule,
			Severity: s.Severity, Key: s.Key, Evidence: s.Evidence, Message: s.Message, Created: s.Created,
			Status: string(s.Status), Reason: s.Reason, FirstDate: s.First, LastDate: s.Last}
		if !s.Updated.IsZero() {
			out[i].Updated = &s.Updated
		}
	}
	return out
}

// signalID reads the {id} path segment, answering 400 when it is not one.
func signalID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		jsonhttp.Error(w, http.StatusBadRequest, "signal id in the path: want a positive whole number, got "+strconv.Quote(r.PathValue("id")))
		return 0, false
	}
	return id, true
}

type signalDetail struct {
	signalJSON
	History []signals.StatusChange `json:"history"`
}

func (a *API) writeSignal(w http.ResponseWriter, r *http.Request, sg clinical.Signal) {
	hist, err := a.signals.History(r.Context(), sg.ID)
	if err != nil {
		jsonhttp.ServerError(w, r, a.log, http.StatusInternalServerError, fmt.Errorf("reading the history of signal %d: %w", sg.ID, err))
		return
	}
	if hist == nil {
		hist = []signals.StatusChange{}
	}
	jsonhttp.Write(w, http.StatusOK, signalDetail{signalJSON: signalsJSON([]clinical.Signal{sg})[0], History: hist})
}

func (a *API) getSignal(w http.ResponseWriter, r *http.Request) {
	id, ok := signalID(w, r)
	if !ok {
		return
	}
	sg, err := a.visibleSignal(r, id)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	a.writeSignal(w, r, sg)
}

// visibleSignal reads signal id of the request's study, as not found when
// it belongs to a site the caller may not see.
func (a *API) visibleSignal(r *http.Request, id int64) (clinical.Signal, error) {
	study := r.PathValue("study")
	sg, err := a.signals.Signal(r.Context(), study, id)
	if err == nil && !visible(r.Context(), study, sg.Site) {
		return clinical.Signal{}, fmt.Errorf("signal %d: %w", id, clinical.ErrNotFound)
	}
	return sg, err
}

// visible reports whether the caller may see site of study; a request
// without an identity sees nothing.
func visible(ctx context.Context, study, site string) bool {
	id, ok := auth.FromContext(ctx)
	return ok && id.CanSee(study, site)
}

// statusPatch is the body of PATCH .../signals/{id}. Who acts is the
// authenticated caller, never a field of the body.
type statusPatch struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

func (a *API) patchSignal(w http.ResponseWriter, r *http.Request) {
	id, ok := signalID(w, r)
	if !ok {
		return
	}
	var p statusPatch
	if !jsonhttp.DecodeBody(w, r, 64<<10, &p, `{"status": "acknowledged"|"closed", "reason": "..."}`) {
		return
	}
	to, err := clinical.ParseSignalStatus(p.Status)
	if err != nil {
		jsonhttp.Error(w, http.StatusBadRequest, "status: "+err.Error())
		return
	}
	before, err := a.visibleSignal(r, id)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	audit.Describe(r.Context(), "", strconv.FormatInt(id, 10), map[string]any{"status": before.Status, "reason": before.Reason},
		map[string]any{"status": to, "reason": p.Reason})
	sg, err := a.signals.SetStatus(r.Context(), r.PathValue("study"), id, to, caller(r).Name, p.Reason, time.Now())
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	a.writeSignal(w, r, sg)
}

func (a *API) storeError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, clinical.ErrNotFound):
		jsonhttp.NotFound(w) // another site's signal answers as one that does not exist
	case errors.Is(err, signals.ErrTransition):
		jsonhttp.Error(w, http.StatusConflict, err.Error())
	default:
		jsonhttp.ServerError(w, r, a.log, http.StatusInternalServerError, fmt.Errorf("signal store: %w", err))
	}
}
