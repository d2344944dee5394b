// Package api mounts the checker's JSON API and serves its one endpoint
// that runs a check. The rest is served by a package per concern, each
// handed only the part of the stores it reads:
//
//   - reviewapi: the signal list, counts, CSV export, one signal and its
//     status changes;
//   - subjectapi: the subject list, a subject's profile and the eDISH plot;
//   - settingsapi: a study's settings;
//   - kriapi: the site KRIs (mounted on its own, over the KRI service).
//
// Every route refuses a request without an identity, and narrows what it
// shows to the caller's sites, in its own code (package scope): the API
// fails closed even when mounted without the access router. It holds no
// storage.
package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/checker/api/reviewapi"
	"github.com/trialwatch/trialwatch/checker/api/scope"
	"github.com/trialwatch/trialwatch/checker/api/settingsapi"
	"github.com/trialwatch/trialwatch/checker/api/subjectapi"
	"github.com/trialwatch/trialwatch/checker/api/wire"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// SignalStore lists stored signals and moves them through review, and
// keeps eDISH points and study settings: what the review, subject and
// settings endpoints read together. signals.Store is one.
type SignalStore interface {
	reviewapi.Store
	subjectapi.Store
	settingsapi.Store
}

// Sources are the study data the API reads besides its own store: the
// checker's sources. Subjects tells a subject's site, for callers limited
// to some sites; the subject endpoints read all four (see
// subjectapi.Sources).
type Sources = subjectapi.Sources

// API serves the checker's JSON endpoints.
type API struct {
	checker  *checker.Checker
	subjects clinical.SubjectSource
	log      *slog.Logger
	parts    []interface{ Register(jsonhttp.Mux) }
}

// New returns the checker's HTTP API: checks run with c, subjects and
// their records come from src (the checker's sources), signals and
// settings from store.
func New(c *checker.Checker, src Sources, store SignalStore, log *slog.Logger) *API {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var opts []subjectapi.Option
	if c != nil {
		opts = append(opts, subjectapi.WithDeadline(c.Deadline())) // a profile is bounded as a check is
	}
	return &API{checker: c, subjects: src.Subjects, log: log, parts: []interface{ Register(jsonhttp.Mux) }{
		reviewapi.New(store, log), subjectapi.New(src, store, log, opts...), settingsapi.New(store, log),
	}}
}

// Register mounts the API's routes on mux. Every route answers 401 to a
// request that carries no identity (see scope.Mount).
func (a *API) Register(mux jsonhttp.Mux) {
	scope.Mount(mux, map[string]http.HandlerFunc{
		"POST /api/v1/studies/{study}/subjects/{subject}/checks": a.postCheck,
	})
	for _, p := range a.parts {
		p.Register(mux)
	}
}

type checkResponse struct {
	Study     string                 `json:"study"`
	Subject   string                 `json:"subject"`
	Complete  bool                   `json:"complete"`
	Sources   checker.SourceStatuses `json:"sources"`
	Signals   []wire.Signal          `json:"signals"`
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
	if scope.Sites(r, study) != nil {
		// A check stores signals: a caller limited to some sites learns
		// nothing, and changes nothing, about other sites' subjects.
		sub, err := a.subjects.Subject(r.Context(), study, subject)
		switch {
		case errors.Is(err, clinical.ErrNotFound) || (err == nil && !scope.Visible(r.Context(), study, sub.Site)):
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
		Signals: reviewapi.SignalsJSON(res.Signals), ElapsedMS: res.Elapsed.Milliseconds(), StoringLater: res.StoringLater,
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
