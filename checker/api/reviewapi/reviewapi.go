// Package reviewapi serves the review of a study's signals: the list
// (filtered, sorted, paged, or exported as CSV), the counts by rule,
// severity and status, one signal with its history, and its status
// changes. Every route shows a caller limited to some sites only theirs.
package reviewapi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/checker/api/scope"
	"github.com/trialwatch/trialwatch/checker/api/wire"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// Store lists stored signals and moves them through review;
// signals.Store is one.
type Store interface {
	Signals(ctx context.Context, f signals.Filter) ([]clinical.Signal, signals.Cursor, error)
	Each(ctx context.Context, f signals.Filter, fn func(clinical.Signal) error) error
	Summary(ctx context.Context, f signals.Filter) ([]signals.Count, error)
	SummaryBySite(ctx context.Context, f signals.Filter) ([]signals.Count, error)
	Signal(ctx context.Context, study string, id int64) (clinical.Signal, error)
	SetStatus(ctx context.Context, study string, id int64, to clinical.SignalStatus, actor, reason string, now time.Time) (clinical.Signal, error)
	History(ctx context.Context, id int64) ([]signals.StatusChange, error)
}

// API serves the signal review endpoints.
type API struct {
	signals Store
	log     *slog.Logger
}

// New returns the review endpoints over store.
func New(store Store, log *slog.Logger) *API {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{signals: store, log: log}
}

// Register mounts the review routes on mux (see scope.Mount).
func (a *API) Register(mux jsonhttp.Mux) {
	scope.Mount(mux, map[string]http.HandlerFunc{
		"GET /api/v1/studies/{study}/signals":         a.listSignals,
		"GET /api/v1/studies/{study}/signals/summary": a.signalSummary,
		"GET /api/v1/studies/{study}/signals/{id}":    a.getSignal,
		"PATCH /api/v1/studies/{study}/signals/{id}":  a.patchSignal,
	})
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

func (a *API) writeSignal(w http.ResponseWriter, r *http.Request, sg clinical.Signal) {
	hist, err := a.signals.History(r.Context(), sg.ID)
	if err != nil {
		jsonhttp.ServerError(w, r, a.log, http.StatusInternalServerError, fmt.Errorf("reading the history of signal %d: %w", sg.ID, err))
		return
	}
	out := wire.SignalDetail{Signal: SignalsJSON([]clinical.Signal{sg})[0], History: make([]wire.StatusChange, len(hist))}
	for i, h := range hist {
		out.History[i] = wire.StatusChange(h)
	}
	jsonhttp.Write(w, http.StatusOK, out)
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
	if err == nil && !scope.Visible(r.Context(), study, sg.Site) {
		return clinical.Signal{}, fmt.Errorf("signal %d: %w", id, clinical.ErrNotFound)
	}
	return sg, err
}

func (a *API) patchSignal(w http.ResponseWriter, r *http.Request) {
	id, ok := signalID(w, r)
	if !ok {
		return
	}
	var p wire.StatusPatch
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
	sg, err := a.signals.SetStatus(r.Context(), r.PathValue("study"), id, to, scope.Caller(r).Name, p.Reason, time.Now())
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
