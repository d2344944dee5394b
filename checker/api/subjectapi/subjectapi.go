package subjectapi

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/checker/api/query"
	"github.com/trialwatch/trialwatch/checker/api/scope"
	"github.com/trialwatch/trialwatch/checker/api/wire"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/clinical/rules/liver"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// Sources are the study data the subject endpoints read: the checker's
// sources. A subject source that also lists a study's subjects
// (clinical.StudySubjects) serves the subject list; without one it
// answers 501.
type Sources struct {
	Subjects clinical.SubjectSource
	Exposure clinical.ExposureSource
	Events   clinical.EventSource
	Labs     clinical.LabSource
}

// Store is what the subject endpoints read of the signal store: the
// findings, the study's settings (for grading) and the eDISH points;
// signals.Store is one.
type Store interface {
	Signals(ctx context.Context, f signals.Filter) ([]clinical.Signal, signals.Cursor, error)
	OpenBySubject(ctx context.Context, f signals.Filter) (map[string]map[clinical.Severity]int, error)
	Settings(ctx context.Context, study string) (rules.Config, error)
	EDISH(ctx context.Context, study, site string) ([]liver.EDISHPoint, error)
}

// API serves the subject endpoints.
type API struct {
	src      Sources
	signals  Store
	log      *slog.Logger
	deadline time.Duration
}

// Option configures the API.
type Option func(*API)

// WithDeadline bounds the data service calls of one profile, as a check
// is bounded (checker.Checker.Deadline); checker.DefaultDeadline by
// default.
func WithDeadline(d time.Duration) Option { return func(a *API) { a.deadline = d } }

// New returns the subject endpoints, reading subjects and their records
// from src and findings, settings and eDISH points from store.
func New(src Sources, store Store, log *slog.Logger, opts ...Option) *API {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &API{src: src, signals: store, log: log, deadline: checker.DefaultDeadline}
	for _, o := range opts {
		o(a)
	}
	return a
}

// Register mounts the subject routes on mux (see scope.Mount).
func (a *API) Register(mux jsonhttp.Mux) {
	scope.Mount(mux, map[string]http.HandlerFunc{
		"GET /api/v1/studies/{study}/subjects":           a.listSubjects,
		"GET /api/v1/studies/{study}/subjects/{subject}": a.getSubject,
		"GET /api/v1/studies/{study}/edish":              a.edish,
	})
}

// queryError answers a bad query with 400, anything else as the store's
// failure.
func (a *API) queryError(w http.ResponseWriter, r *http.Request, err error) {
	query.Fail(w, r, a.log, "subjects of study "+r.PathValue("study"), err)
}

// edish serves each checked subject's peak on-treatment ALT, AST, total
// bilirubin and ALP as multiples of the ULN, with the peaks' dates, the
// arm and the eDISH quadrant, for a plot with reference lines at 3×ULN
// (x) and 2×ULN (y); and, for a subject whose baseline ALT or AST was
// above the ULN, its mDISH point (peaks × baseline, lines at 3× and 2×
// baseline).
func (a *API) edish(w http.ResponseWriter, r *http.Request) {
	study := r.PathValue("study")
	pts, err := a.signals.EDISH(r.Context(), study, r.URL.Query().Get("site"))
	if err != nil {
		jsonhttp.ServerError(w, r, a.log, http.StatusInternalServerError, fmt.Errorf("eDISH points of study %s: %w", study, err))
		return
	}
	out := make([]wire.EDISHPoint, 0, len(pts))
	for _, p := range pts {
		if !scope.Visible(r.Context(), study, p.Site) {
			continue
		}
		out = append(out, wire.EDISHPoint{Subject: p.USUBJID, Site: p.Site, Arm: p.Arm, ALT: p.ALT, AST: p.AST, Transaminase: p.Transaminase,
			Bilirubin: p.Bilirubin, ALP: p.ALP, Quadrant: string(p.Quadrant), ALTSeq: p.ALTSeq, ASTSeq: p.ASTSeq, BilirubinSeq: p.BilirubinSeq,
			ALPSeq: p.ALPSeq, ALTDate: string(p.ALTDate), ASTDate: string(p.ASTDate), BilirubinDate: string(p.BilirubinDate),
			ALPDate: string(p.ALPDate), MDISH: p.MDISH})
	}
	jsonhttp.Write(w, http.StatusOK, wire.EDISH{Study: study, XLimit: 3, YLimit: 2,
		MDISHXLimit: liver.MDISHTransaminaseLine, MDISHYLimit: liver.MDISHBilirubinLine,
		MDISHCeilingUL: liver.MDISHCeilingUL, Subjects: out})
}
