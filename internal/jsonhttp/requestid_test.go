package jsonhttp_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const detail = `pq: relation "lab_results_secret" does not exist`

// logRecords decodes a JSON log, one record a line.
func logRecords(t *testing.T, logs *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.Lines(logs.String()) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, rec)
	}
	return out
}

// serve runs the handler build returns behind RequestIDs; both log JSON to
// the returned buffer.
func serve(t *testing.T, build func(log *slog.Logger) http.HandlerFunc, requestID string) (*httptest.ResponseRecorder, *bytes.Buffer) {
	t.Helper()
	var logs bytes.Buffer
	log := slog.New(jsonhttp.LogRequestIDs(slog.NewJSONHandler(&logs, nil)))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /things/{id}", build(log))
	req := httptest.NewRequest("GET", "/things/7", nil)
	if requestID != "" {
		req.Header.Set(jsonhttp.RequestIDHeader, requestID)
	}
	w := httptest.NewRecorder()
	jsonhttp.RequestIDs(mux, log).ServeHTTP(w, req)
	return w, &logs
}

// generic checks a 5xx answer: only the generic message and the id the
// header carries.
func generic(t *testing.T, w *httptest.ResponseRecorder, status int, msg string) string {
	t.Helper()
	id := w.Header().Get(jsonhttp.RequestIDHeader)
	var body map[string]string
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %q: %v", w.Body, err)
	}
	if w.Code != status || id == "" || body["error"] != msg || body["request_id"] != id || len(body) != 2 {
		t.Errorf("answer %d %q (X-Request-Id %q); want %d with only {error: %q, request_id: the header's}", w.Code, w.Body, id, status, msg)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	return id
}

func TestServerErrorAnswersGenericallyAndLogsTheDetail(t *testing.T) {
	for status, msg := range map[int]string{
		http.StatusInternalServerError: "internal error",
		http.StatusBadGateway:          "bad gateway",
		http.StatusServiceUnavailable:  "service unavailable",
		http.StatusGatewayTimeout:      "gateway timeout",
		http.StatusConflict:            "internal error", // not a server error: answered as 500
	} {
		w, logs := serve(t, func(log *slog.Logger) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				jsonhttp.ServerError(w, r, log, status, errors.New(detail))
			}
		}, "")
		want := status
		if status < 500 {
			want = http.StatusInternalServerError
		}
		id := generic(t, w, want, msg)
		recs := logRecords(t, logs)
		if len(recs) != 1 || recs[0]["request_id"] != id || recs[0]["error"] != detail || recs[0]["route"] != "GET /things/{id}" {
			t.Errorf("status %d: log %v; want one record with request_id %s, the route and the error", status, recs, id)
		}
	}
}

// handler is serve's build for a handler that does not log.
func handler(h http.HandlerFunc) func(*slog.Logger) http.HandlerFunc {
	return func(*slog.Logger) http.HandlerFunc { return h }
}

func TestRequestIDsReplaceA5xxBodyTheHandlerWrote(t *testing.T) {
	w, logs := serve(t, handler(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		http.Error(w, "storing failed: "+detail, http.StatusInternalServerError)
		w.Write([]byte("and more"))
	}), "")
	id := generic(t, w, http.StatusInternalServerError, "internal error")
	if strings.Contains(w.Body.String(), "lab_results") {
		t.Errorf("the answer leaks the detail: %q", w.Body)
	}
	recs := logRecords(t, logs)
	if len(recs) != 1 || recs[0]["request_id"] != id || !strings.Contains(recs[0]["body"].(string), detail) ||
		!strings.Contains(recs[0]["body"].(string), "and more") {
		t.Errorf("log %v; want one record with request_id %s and the withheld body", recs, id)
	}
}

func TestPassServerErrorsKeepsTheBody(t *testing.T) {
	w, logs := serve(t, handler(func(w http.ResponseWriter, r *http.Request) {
		jsonhttp.PassServerErrors(r)
		jsonhttp.Error(w, http.StatusServiceUnavailable, detail)
	}), "")
	var body map[string]string
	json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != http.StatusServiceUnavailable || body["error"] != detail || logs.Len() != 0 {
		t.Errorf("answer %d %q, log %q; want the handler's own 503 body and nothing logged", w.Code, w.Body, logs)
	}
}

func TestEveryAnswerHasARequestID(t *testing.T) {
	for name, h := range map[string]http.HandlerFunc{
		"200":             func(w http.ResponseWriter, r *http.Request) { jsonhttp.Write(w, http.StatusOK, "ok") },
		"400":             func(w http.ResponseWriter, r *http.Request) { jsonhttp.Error(w, http.StatusBadRequest, "bad") },
		"500":             func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) },
		"nothing written": func(http.ResponseWriter, *http.Request) {},
	} {
		w, _ := serve(t, handler(h), "")
		if id := w.Header().Get(jsonhttp.RequestIDHeader); len(id) < 16 {
			t.Errorf("%s: X-Request-Id %q; want a random id", name, id)
		}
	}
	// The mux's own 404 too.
	w := httptest.NewRecorder()
	jsonhttp.RequestIDs(http.NewServeMux(), nil).ServeHTTP(w, httptest.NewRequest("GET", "/nowhere", nil))
	if w.Code != http.StatusNotFound || w.Header().Get(jsonhttp.RequestIDHeader) == "" {
		t.Errorf("mux 404: %d, X-Request-Id %q", w.Code, w.Header().Get(jsonhttp.RequestIDHeader))
	}
}

func TestAnIncomingRequestIDIsKeptOnlyWhenSane(t *testing.T) {
	for sent, kept := range map[string]bool{
		"4bf92f35-77b3-4da6-a3ce-929d0e0e4736": true,
		"req_01J~x.y|z":                        true,
		strings.Repeat("a", 64):                true,
		strings.Repeat("a", 65):                false,
		"two words":                            false,
		`"quoted"`:                             false,
		"a=b":                                  false,
		"é":                                    false,
		"tab\there":                            false,
	} {
		var seen string
		w, _ := serve(t, handler(func(w http.ResponseWriter, r *http.Request) { seen = jsonhttp.RequestID(r.Context()) }), sent)
		got := w.Header().Get(jsonhttp.RequestIDHeader)
		if got == "" || got != seen || (got == sent) != kept {
			t.Errorf("sent %q: answer's id %q, context's %q; want the sent one kept: %v", sent, got, seen, kept)
		}
	}
}

// A log line written with the request's context names the request once,
// also when the caller already named it.
func TestLogRequestIDsAddsTheIDOnce(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(jsonhttp.LogRequestIDs(slog.NewTextHandler(&logs, nil))).With("component", "test")
	h := jsonhttp.RequestIDs(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "one")
		log.InfoContext(r.Context(), "two", "request_id", jsonhttp.RequestID(r.Context()))
		log.Info("three, without the context")
	}), nil)
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set(jsonhttp.RequestIDHeader, "abc123")
	h.ServeHTTP(httptest.NewRecorder(), req)
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 3 || strings.Count(lines[0], "request_id=abc123") != 1 || strings.Count(lines[1], "request_id=abc123") != 1 ||
		strings.Contains(lines[2], "request_id") {
		t.Errorf("log:\n%s\nwant request_id=abc123 once on the first two lines, not on the third", logs.String())
	}
}

// Without RequestIDs in front (a handler mounted alone), ServerError still
// gives the answer and the log line one id.
func TestServerErrorWithoutTheMiddleware(t *testing.T) {
	var logs bytes.Buffer
	w := httptest.NewRecorder()
	jsonhttp.ServerError(w, httptest.NewRequest("GET", "/", nil), slog.New(slog.NewJSONHandler(&logs, nil)), http.StatusInternalServerError, errors.New(detail))
	id := generic(t, w, http.StatusInternalServerError, "internal error")
	if recs := logRecords(t, &logs); len(recs) != 1 || recs[0]["request_id"] != id || recs[0]["error"] != detail {
		t.Errorf("log %v; want request_id %s and the error", recs, id)
	}
}
