// Package settingsapi serves a study's settings, the rules.Config its
// checks run with (CTCAE version, grading context, AE terms, rules on or
// off, out-of-range thresholds, baseline convention): read, replaced
// whole (PUT) or changed in part (PATCH, a JSON merge patch), each
// change validated and audited.
package settingsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/checker/api/scope"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// Store keeps the studies' settings; signals.Store is one.
type Store interface {
	Settings(ctx context.Context, study string) (rules.Config, error)
	PutSettings(ctx context.Context, study string, cfg rules.Config, now time.Time) error
}

// API serves the settings endpoints.
type API struct {
	store Store
	log   *slog.Logger
}

// New returns the settings endpoints over store.
func New(store Store, log *slog.Logger) *API {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &API{store: store, log: log}
}

// Register mounts the settings routes on mux (see scope.Mount).
func (a *API) Register(mux jsonhttp.Mux) {
	scope.Mount(mux, map[string]http.HandlerFunc{
		"GET /api/v1/studies/{study}/settings":   a.getSettings,
		"PUT /api/v1/studies/{study}/settings":   a.putSettings,
		"PATCH /api/v1/studies/{study}/settings": a.patchSettings,
	})
}

// maxSettingsBody bounds a settings document.
const maxSettingsBody = 1 << 20

// settingsDoc is a study's settings as the API answers them: maps empty
// rather than null, so the answer is itself a valid PUT body.
func settingsDoc(cfg rules.Config) rules.Config {
	if cfg.AETerms == nil {
		cfg.AETerms = map[string][]string{}
	}
	if cfg.Rules == nil {
		cfg.Rules = map[clinical.Rule]bool{}
	}
	return cfg
}

func (a *API) getSettings(w http.ResponseWriter, r *http.Request) {
	cfg, err := a.store.Settings(r.Context(), r.PathValue("study"))
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, settingsDoc(cfg))
}

// putSettings replaces the whole settings document. Every field must be
// given: a document that left one out used to reset it to its default
// without a word, so it is refused, pointing to PATCH.
func (a *API) putSettings(w http.ResponseWriter, r *http.Request) {
	body, ok := readSettingsBody(w, r)
	if !ok {
		return
	}
	doc, isObject := decodeJSON(body).(map[string]any)
	if !isObject {
		jsonhttp.Error(w, http.StatusBadRequest, "request body: want a JSON object, the whole settings document (GET .../settings gives the current one)")
		return
	}
	if missing := missingFields(doc, mustMap(settingsDoc(rules.DefaultConfig())), ""); len(missing) > 0 {
		jsonhttp.Error(w, http.StatusBadRequest, "request body: missing "+strings.Join(missing, ", ")+
			": PUT replaces the whole settings document, so it must give every field; to change some fields only, use PATCH (JSON merge patch)")
		return
	}
	a.saveSettings(w, r, body)
}

// patchSettings changes the fields a JSON merge patch (RFC 7396) names:
// a value replaces the field's, null returns it to its default, and a
// field the patch leaves out keeps its value.
func (a *API) patchSettings(w http.ResponseWriter, r *http.Request) {
	body, ok := readSettingsBody(w, r)
	if !ok {
		return
	}
	patch, isObject := decodeJSON(body).(map[string]any)
	if !isObject {
		jsonhttp.Error(w, http.StatusBadRequest, `request body: want a JSON object, a merge patch of the settings document, e.g. {"rules": {"HYS_LAW_QUADRANT": false}}`)
		return
	}
	current, err := a.store.Settings(r.Context(), r.PathValue("study"))
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	merged, err := json.Marshal(mergePatch(mustMap(settingsDoc(current)), patch))
	if err != nil {
		jsonhttp.ServerError(w, r, a.log, http.StatusInternalServerError, fmt.Errorf("merging a settings patch: %w", err))
		return
	}
	a.saveSettings(w, r, merged)
}

func readSettingsBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSettingsBody))
	if err != nil {
		if !jsonhttp.TooLarge(w, err) {
			jsonhttp.Error(w, http.StatusBadRequest, "request body: "+err.Error())
		}
		return nil, false
	}
	return body, true
}

// saveSettings reads doc over the defaults (a null or absent field keeps
// its default), validates it and stores it as the study's settings.
func (a *API) saveSettings(w http.ResponseWriter, r *http.Request, doc []byte) {
	study := r.PathValue("study")
	cfg := rules.DefaultConfig()
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		jsonhttp.Error(w, http.StatusBadRequest, "settings: "+describeJSONError(err))
		return
	}
	if dec.More() {
		jsonhttp.Error(w, http.StatusBadRequest, "settings: more than one JSON value in the body")
		return
	}
	if err := cfg.Validate(); err != nil {
		jsonhttp.Error(w, http.StatusBadRequest, "settings: "+err.Error())
		return
	}
	cfg.Criteria, _ = ctcae.ParseCriteria(string(cfg.Criteria)) // valid: its canonical name
	cfg.GradingContext, _ = ctcae.ParseContext(string(cfg.GradingContext))
	cfg = settingsDoc(cfg)
	before, err := a.store.Settings(r.Context(), study)
	if err != nil {
		a.storeError(w, r, err)
		return
	}
	audit.Describe(r.Context(), "", study, settingsDoc(before), cfg)
	if err := a.store.PutSettings(r.Context(), study, cfg, time.Now()); err != nil {
		a.storeError(w, r, err)
		return
	}
	jsonhttp.Write(w, http.StatusOK, cfg)
}

// describeJSONError says what is wrong with a settings document, naming
// the field.
func describeJSONError(err error) string {
	if e, ok := errors.AsType[*json.UnmarshalTypeError](err); ok && e.Field != "" {
		return fmt.Sprintf("%s: want a %s, got a JSON %s", e.Field, e.Type, e.Value)
	}
	// "json: unknown field \"x\"" and syntax errors name what they found.
	return strings.TrimPrefix(err.Error(), "json: ")
}

// decodeJSON is the one JSON value body holds, nil if it holds no valid
// one. Numbers stay as written, so one too big for a float64 is refused
// later, by the field that holds it.
func decodeJSON(body []byte) any {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil
	}
	return v
}

// mustMap is v (a settings document) as a JSON object.
func mustMap(v any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // rules.Config always marshals
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}

// missingFields lists the fields of want, a document with every field,
// that doc lacks, descending into objects whose fields are fixed (not the
// maps: ae_terms and rules name what they like).
func missingFields(doc, want map[string]any, prefix string) []string {
	var out []string
	for name, wv := range want {
		v, ok := doc[name]
		if !ok {
			out = append(out, prefix+name)
			continue
		}
		wm, fixed := wv.(map[string]any)
		if sub, isObject := v.(map[string]any); fixed && len(wm) > 0 && isObject {
			out = append(out, missingFields(sub, wm, prefix+name+".")...)
		}
	}
	slices.Sort(out)
	return out
}

// mergePatch applies a JSON merge patch (RFC 7396) to target.
func mergePatch(target any, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if !ok {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}

// storeError answers the store's failure with 500, the detail in the log.
func (a *API) storeError(w http.ResponseWriter, r *http.Request, err error) {
	jsonhttp.ServerError(w, r, a.log, http.StatusInternalServerError, fmt.Errorf("settings of study %s: %w", r.PathValue("study"), err))
}
