package scope_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker/api/scope"
	"github.com/trialwatch/trialwatch/checker/checkertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A mounted route runs only for a caller with a grant for the study of
// its path; what it sees of the study's sites is what the grants say.
func TestMountFailsClosed(t *testing.T) {
	var sites []string
	var ran int
	mux := http.NewServeMux()
	scope.Mount(mux, map[string]http.HandlerFunc{
		"GET /api/v1/studies/{study}/things": func(w http.ResponseWriter, r *http.Request) {
			ran++
			sites = scope.Sites(r, r.PathValue("study"))
			w.WriteHeader(http.StatusNoContent)
		},
	})
	const path = "/api/v1/studies/S/things"
	for _, c := range []struct {
		who       string
		h         http.Handler
		code      int
		wantSites []string // nil: every site
	}{
		{"no identity", mux, http.StatusUnauthorized, nil},
		{"a monitor of another study", checkertest.As(checkertest.Monitor("m", "T"), mux), http.StatusNotFound, nil},
		{"a monitor of the study", checkertest.As(checkertest.Monitor("m", "S"), mux), http.StatusNoContent, nil},
		{"a site user", checkertest.As(checkertest.SiteUser("s", "S", "701", "702"), mux), http.StatusNoContent, []string{"701", "702"}},
		{"ops granted the study", checkertest.As(auth.Identity{Name: "o", Role: auth.RoleOps,
			Grants: []auth.Grant{{Study: "S", Site: auth.AllSites}}}, mux), http.StatusNotFound, nil},
	} {
		ran, sites = 0, nil
		rec := httptest.NewRecorder()
		c.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != c.code {
			t.Errorf("%s: %d %s, want %d", c.who, rec.Code, rec.Body, c.code)
		}
		if c.code != http.StatusNoContent && ran != 0 {
			t.Errorf("%s: the handler ran though the request was refused", c.who)
		}
		if c.code == http.StatusNoContent && (!slices.Equal(sites, c.wantSites) || (sites == nil) != (c.wantSites == nil)) {
			t.Errorf("%s: sites %#v, want %#v", c.who, sites, c.wantSites)
		}
	}
}

// A caller limited to sites none of which are of the study sees none:
// an empty list, never nil, which a store filter would take for all.
func TestSitesOfACallerWithoutSitesIsEmptyNotNil(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r = r.WithContext(auth.NewContext(r.Context(), checkertest.SiteUser("s", "T", "701")))
	if got := scope.Sites(r, "S"); got == nil || len(got) != 0 {
		t.Errorf("sites of S for a site user of T: %#v, want an empty list", got)
	}
	if scope.Visible(r.Context(), "S", "701") || !scope.Visible(r.Context(), "T", "701") {
		t.Error("Visible does not follow the grants")
	}
	if scope.Visible(httptest.NewRequest(http.MethodGet, "/", nil).Context(), "T", "701") {
		t.Error("a request without an identity sees a site")
	}
}
