package jsonhttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// TestAccessLog: one line per request, after the answer, with the status
// and bytes the client got (a withheld 5xx body replaced by the generic
// one), the route, the user a guard named, and nothing of the query or
// the headers.
func TestAccessLog(t *testing.T) {
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /quiet", func(http.ResponseWriter, *http.Request) {})
	mux.HandleFunc("GET /users/{name}", func(w http.ResponseWriter, r *http.Request) {
		SetUser(r.Context(), "jane")
		Write(w, http.StatusCreated, map[string]string{"name": r.PathValue("name")})
	})
	mux.HandleFunc("GET /internal/{status}", func(w http.ResponseWriter, r *http.Request) {
		SetUser(r.Context(), ServiceUser)
		code, _ := strconv.Atoi(r.PathValue("status"))
		w.WriteHeader(code)
	})
	mux.HandleFunc("GET /broken", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "pq: secret detail", http.StatusInternalServerError)
	})
	mux.HandleFunc("GET /failed", func(w http.ResponseWriter, r *http.Request) {
		ServerError(w, r, slog.New(slog.DiscardHandler), http.StatusBadGateway, errors.New("upstream down"))
	})
	h := RequestIDs(mux, slog.New(slog.DiscardHandler), WithAccessLog(log))

	for _, tc := range []struct {
		path, route, user, level string
		status                   int
	}{
		{"/quiet", "GET /quiet", "", "INFO", 200},
		{"/users/bob?token=tw_secret", "GET /users/{name}", "jane", "INFO", 201},
		{"/broken", "GET /broken", "", "ERROR", 500},
		{"/failed", "GET /failed", "", "ERROR", 502},
		{"/nowhere", "", "", "INFO", 404},
		// A service's call of another logs at debug unless it failed.
		{"/internal/200", "GET /internal/{status}", ServiceUser, "DEBUG", 200},
		{"/internal/409", "GET /internal/{status}", ServiceUser, "INFO", 409},
		{"/internal/503", "GET /internal/{status}", ServiceUser, "ERROR", 503},
	} {
		logs.Reset()
		req := httptest.NewRequest("GET", tc.path, nil)
		req.Header.Set("Authorization", "Bearer tw_secret")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		if len(lines) != 1 {
			t.Fatalf("%s: %d log lines, want 1:\n%s", tc.path, len(lines), logs.String())
		}
		var rec1 map[string]any
		if err := json.Unmarshal([]byte(lines[0]), &rec1); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"msg": "request", "method": "GET", "route": tc.route, "status": float64(tc.status),
			"bytes": float64(rec.Body.Len()), "request_id": rec.Header().Get(RequestIDHeader), "user": tc.user, "level": tc.level}
		for k, v := range want {
			if rec1[k] != v {
				t.Errorf("%s: %s = %v, want %v (%s)", tc.path, k, rec1[k], v, lines[0])
			}
		}
		if _, ok := rec1["duration_ms"].(float64); !ok {
			t.Errorf("%s: no duration_ms: %s", tc.path, lines[0])
		}
		if strings.Contains(lines[0], "secret") {
			t.Errorf("%s: the line holds the query, a header or a withheld body: %s", tc.path, lines[0])
		}
	}
}
