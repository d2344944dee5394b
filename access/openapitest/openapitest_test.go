package openapitest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/access/openapitest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func textPlain() http.Header { return http.Header{"Content-Type": {"text/plain; charset=utf-8"}} }

// TestCheck checks the validator passes an exchange the description allows
// and rejects, saying why, one whose route, status or body it does not.
func TestCheck(t *testing.T) {
	v, err := openapitest.New()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		x    openapitest.Exchange
		want string // in the error; "" for none
	}{
		{"allowed", openapitest.Exchange{Method: "GET", URL: "http://node/healthz", Status: 200, RespHeader: textPlain(), RespBody: []byte("ok\n")}, ""},
		{"body not allowed", openapitest.Exchange{Method: "GET", URL: "http://node/healthz", Status: 200, RespHeader: textPlain(), RespBody: []byte("fine")}, "does not match the description"},
		{"status not listed", openapitest.Exchange{Method: "GET", URL: "http://node/healthz", Status: 418, RespHeader: textPlain()}, "which the description does not list"},
		{"no such route", openapitest.Exchange{Method: "GET", URL: "http://node/api/v1/nothing", Status: 200}, "no operation in the description"},
		{"no such method", openapitest.Exchange{Method: "DELETE", URL: "http://node/healthz", Status: 200}, "no operation in the description"},
	} {
		err := v.Check(tc.x)
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: Check = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestCovers(t *testing.T) {
	for path, want := range map[string]bool{"/api/v1/me": true, "/healthz": true, "/readyz": true, "/": false, "/trialwatch.v1.LabService/Get": false} {
		if got := openapitest.Covers(path); got != want {
			t.Errorf("Covers(%q) = %v, want %v", path, got, want)
		}
	}
}

// TestDo checks Do returns the answer and checks it against the
// description for the paths it covers only.
func TestDo(t *testing.T) {
	v, err := openapitest.New()
	if err != nil {
		t.Fatal(err)
	}
	var healthz atomic.Value // what the node answers, changed between requests
	healthz.Store("ok\n")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, healthz.Load().(string))
	}))
	defer srv.Close()
	c := srv.Client()
	defer c.CloseIdleConnections()
	get := func(path string) ([]byte, error) {
		req, err := http.NewRequest("GET", srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, body, err := v.Do(c, req)
		return body, err
	}
	if body, err := get("/healthz"); err != nil || string(body) != "ok\n" {
		t.Errorf("GET /healthz: %q, %v; want ok and no error", body, err)
	}
	healthz.Store("not ok\n")
	if _, err := get("/healthz"); err == nil {
		t.Errorf("GET /healthz answering %q: no error, want the body rejected", healthz.Load())
	}
	if body, err := get("/studies"); err != nil || string(body) != "not ok\n" {
		t.Errorf("GET /studies (a page): %q, %v; want its body unchecked", body, err)
	}
}
