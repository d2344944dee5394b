package jsonhttp_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// A JSON body past a limit is 413 whichever limit it passed, the call's or
// a smaller one the router set; a malformed one 400 saying what the call
// wants.
func TestDecodeBody(t *testing.T) {
	type in struct {
		Name string `json:"name"`
	}
	for _, c := range []struct {
		name   string
		body   string
		router int64 // the router's limit, 0 for none
		code   int
		want   string
	}{
		{"good", `{"name":"x"}`, 0, http.StatusOK, ""},
		{"past the call's limit", `{"name":"` + strings.Repeat("x", 100) + `"}`, 0, http.StatusRequestEntityTooLarge, "request body larger than 64 bytes, the most this call takes"},
		{"past the router's limit", `{"name":"` + strings.Repeat("x", 40) + `"}`, 32, http.StatusRequestEntityTooLarge, "request body larger than 32 bytes"},
		{"unknown field", `{"nome":"x"}`, 0, http.StatusBadRequest, `request body: json: unknown field \"nome\" (want {\"name\": \"...\"})`},
		{"cut short", `{"name":`, 0, http.StatusBadRequest, "request body: unexpected EOF"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(c.body))
			w := httptest.NewRecorder()
			if c.router > 0 {
				r.Body = http.MaxBytesReader(w, r.Body, c.router)
			}
			var v in
			if ok := jsonhttp.DecodeBody(w, r, 64, &v, `{"name": "..."}`); ok != (c.code == http.StatusOK) {
				t.Fatalf("ok = %v, answer %d %s", ok, w.Code, w.Body)
			}
			if w.Code != c.code || !strings.Contains(w.Body.String(), c.want) {
				t.Errorf("answer %d %s, want %d with %s", w.Code, w.Body, c.code, c.want)
			}
		})
	}
}
