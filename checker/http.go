package checker

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
)

// SignalLister lists stored signals; the checker's Store is one.
type SignalLister interface {
	Signals(ctx context.Context, f SignalFilter) ([]clinical.Signal, int64, error)
}

// API serves the checker's JSON endpoints.
type API struct {
	checker *Checker
	signals SignalLister
	log     *slog.Logger
}

// NewAPI returns the checker's HTTP API.
func NewAPI(c *Checker, signals SignalLister, log *slog.Logger) *API {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{checker: c, signals: signals, log: log}
}

// Register mounts the API's routes on mux.
func (a *API) Register(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/v1/studies/{study}/subjects/{subject}/checks", a.postCheck)
	mux.HandleFunc("GET /api/v1/studies/{study}/signals", a.listSignals)
}

type checkResponse struct {
	Study     string         `json:"study"`
	Subject   string         `json:"subject"`
	Complete  bool           `json:"complete"`
	Sources   SourceStatuses `json:"sources"`
	Signals   []signalJSON   `json:"signals"`
	ElapsedMS int64          `json:"elapsed_ms"`
	Error     string         `json:"error,omitempty"`
}

var outcomeStatus = map[Outcome]int{
	OutcomeComplete:           http.StatusOK,
	OutcomeIncomplete:         http.StatusOK,
	OutcomeNotFound:           http.StatusNotFound,
	OutcomeSubjectTimeout:     http.StatusGatewayTimeout,
	OutcomeSubjectUnavailable: http.StatusBadGateway,
	OutcomeError:              http.StatusInternalServerError,
}

func (a *API) postCheck(w http.ResponseWriter, r *http.Request) {
	res := a.checker.Check(r.Context(), r.PathValue("study"), r.PathValue("subject"))
	if res.Outcome == OutcomeClientGone {
		a.log.Info("check abandoned by client", "study", res.Study, "subject", res.USUBJID, "elapsed", res.Elapsed)
		return
	}
	out := checkResponse{
		Study: res.Study, Subject: res.USUBJID, Complete: res.Complete, Sources: res.Sources,
		Signals: signalsJSON(res.Signals), ElapsedMS: res.Elapsed.Milliseconds(),
	}
	if res.Err != nil {
		out.Error = res.Err.Error()
		if res.Outcome == OutcomeError {
			a.log.Error("check failed", "study", res.Study, "subject", res.USUBJID, "error", res.Err)
		}
	}
	writeJSON(w, outcomeStatus[res.Outcome], out)
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
}

func signalsJSON(sigs []clinical.Signal) []signalJSON {
	out := make([]signalJSON, len(sigs))
	for i, s := range sigs {
		out[i] = signalJSON{ID: s.ID, Study: s.Study, Site: s.Site, Subject: s.USUBJID, Rule: s.Rule,
			Severity: s.Severity, Key: s.Key, Evidence: s.Evidence, Message: s.Message, Created: s.Created}
	}
	return out
}

// Paging limits for the signal list.
const (
	defaultPageSize = 50
	maxPageSize     = 500
)

func (a *API) listSignals(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := SignalFilter{Study: r.PathValue("study"), Site: q.Get("site"), USUBJID: q.Get("subject"), Limit: defaultPageSize}
	if v := q.Get("severity"); v != "" {
		sev, err := clinical.ParseSeverity(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "query parameter severity: "+err.Error())
			return
		}
		f.MinSeverity = sev
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			writeError(w, http.StatusBadRequest, "query parameter limit: want a whole number from 1 to "+strconv.Itoa(maxPageSize)+", got "+strconv.Quote(v))
			return
		}
		f.Limit = n
	}
	if v := q.Get("page_token"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			writeError(w, http.StatusBadRequest, "query parameter page_token: not a token this API returned: "+strconv.Quote(v))
			return
		}
		f.BeforeID = n
	}
	sigs, next, err := a.signals.Signals(r.Context(), f)
	if err != nil {
		a.log.Error("listing signals", "study", f.Study, "error", err)
		writeError(w, http.StatusInternalServerError, "listing signals failed")
		return
	}
	out := struct {
		Signals       []signalJSON `json:"signals"`
		NextPageToken string       `json:"next_page_token,omitempty"`
	}{Signals: signalsJSON(sigs)}
	if next > 0 {
		out.NextPageToken = strconv.FormatInt(next, 10)
	}
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
