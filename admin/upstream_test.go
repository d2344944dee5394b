package admin

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadyAt(t *testing.T) {
	ready := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" {
			http.NotFound(w, r)
			return
		}
		if !ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	check := ReadyAt(srv.Client(), srv.URL+"/")
	if err := check(t.Context()); err != nil {
		t.Errorf("a ready service: %v", err)
	}
	ready = false
	if err := check(t.Context()); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("a service not ready: %v, want its 503", err)
	}
	if got := RedactURL("https://svc:s3cret@subjects:8443/x"); strings.Contains(got, "s3cret") {
		t.Errorf("RedactURL kept the password: %s", got)
	}
}
