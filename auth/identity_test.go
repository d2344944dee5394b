package auth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/trialwatch/trialwatch/auth"
)

func TestParseRole(t *testing.T) {
	for in, want := range map[string]auth.Role{"site": auth.RoleSite, "Monitor": auth.RoleMonitor, " admin ": auth.RoleAdmin, "OPS": auth.RoleOps} {
		if got, err := auth.ParseRole(in); err != nil || got != want {
			t.Errorf("ParseRole(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "root", "sites"} {
		if got, err := auth.ParseRole(in); !errors.Is(err, auth.ErrInvalid) {
			t.Errorf("ParseRole(%q) = %q, want an error", in, got)
		}
	}
}

func TestParseGrants(t *testing.T) {
	for _, tc := range []struct {
		study, sites string
		want         []auth.Grant
		err          bool
	}{
		{study: "S1", sites: "", want: []auth.Grant{{"S1", "*"}}},
		{study: "S1", sites: "*", want: []auth.Grant{{"S1", "*"}}},
		{study: " S1 ", sites: "701, 702,701", want: []auth.Grant{{"S1", "701"}, {"S1", "702"}}},
		{study: "", sites: "701", err: true},
		{study: "  ", sites: "", err: true},
		{study: "S1", sites: "701,,702", err: true},
		{study: "S1", sites: "701, ", err: true},
		{study: "S1", sites: "701,*", err: true},
	} {
		got, err := auth.ParseGrants(tc.study, tc.sites)
		if (err != nil) != tc.err || (err != nil && !errors.Is(err, auth.ErrInvalid)) || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParseGrants(%q, %q) = %v, %v; want %v, error %v", tc.study, tc.sites, got, err, tc.want, tc.err)
		}
	}
}

func TestIdentityAccess(t *testing.T) {
	site := auth.Identity{Role: auth.RoleSite, Grants: []auth.Grant{{"S1", "701"}, {"S1", "702"}, {"S2", "900"}}}
	monitor := auth.Identity{Role: auth.RoleMonitor, Grants: []auth.Grant{{"S1", "*"}}}
	adminAll := auth.Identity{Role: auth.RoleAdmin}
	adminS2 := auth.Identity{Role: auth.RoleAdmin, Grants: []auth.Grant{{"S2", "*"}}}
	ops := auth.Identity{Role: auth.RoleOps, Grants: []auth.Grant{{"S1", "*"}}} // grants ignored
	none := auth.Identity{Role: auth.RoleSite}
	for _, tc := range []struct {
		name        string
		id          auth.Identity
		study, site string
		all         bool
		sites       []string
		can         bool
	}{
		{"site granted", site, "S1", "701", false, []string{"701", "702"}, true},
		{"site other site", site, "S1", "703", false, []string{"701", "702"}, false},
		{"site second study", site, "S2", "900", false, []string{"900"}, true},
		{"site other study", site, "S3", "701", false, nil, false},
		{"monitor study", monitor, "S1", "anything", true, nil, true},
		{"monitor other study", monitor, "S2", "900", false, nil, false},
		{"admin without grants", adminAll, "S9", "1", true, nil, true},
		{"admin granted", adminS2, "S2", "1", true, nil, true},
		{"admin not granted", adminS2, "S1", "1", false, nil, false},
		{"ops", ops, "S1", "701", false, nil, false},
		{"no grants", none, "S1", "701", false, nil, false},
	} {
		all, sites := tc.id.Sites(tc.study)
		if all != tc.all || !reflect.DeepEqual(sites, tc.sites) {
			t.Errorf("%s: Sites(%s) = %v, %v; want %v, %v", tc.name, tc.study, all, sites, tc.all, tc.sites)
		}
		if got := tc.id.CanSee(tc.study, tc.site); got != tc.can {
			t.Errorf("%s: CanSee(%s, %s) = %v", tc.name, tc.study, tc.site, got)
		}
		if got, want := tc.id.HasStudy(tc.study), tc.all || len(tc.sites) > 0; got != want {
			t.Errorf("%s: HasStudy(%s) = %v", tc.name, tc.study, got)
		}
	}
}

func TestContext(t *testing.T) {
	ctx := context.Background()
	if _, ok := auth.FromContext(ctx); ok {
		t.Fatal("FromContext found an identity in an empty context")
	}
	want := auth.Identity{UserID: 3, Name: "jane", Role: auth.RoleMonitor, Grants: []auth.Grant{{"S1", "*"}}, TokenID: 9}
	got, ok := auth.FromContext(auth.NewContext(ctx, want))
	if !ok || !reflect.DeepEqual(got, want) {
		t.Fatalf("FromContext = %+v, %v", got, ok)
	}
}

// No identity is refused, not read as "everything"; the system identity
// is the one that may touch every study and site, and no user can have
// its role.
func TestRequireAndSystem(t *testing.T) {
	if _, err := auth.Require(context.Background()); !errors.Is(err, auth.ErrNoIdentity) {
		t.Fatalf("Require without an identity: %v, want ErrNoIdentity", err)
	}
	id, err := auth.Require(auth.WithSystem(context.Background()))
	if err != nil || id.Role != auth.RoleSystem || !id.AllStudies() || !id.CanSee("ANY", "999") {
		t.Fatalf("system identity %+v, %v: want RoleSystem seeing every study and site", id, err)
	}
	if _, err := auth.ParseRole("system"); err == nil {
		t.Error("ParseRole accepted the system role")
	}
}

func TestCallerAnswers401WithoutAnIdentity(t *testing.T) {
	w := httptest.NewRecorder()
	if _, ok := auth.Caller(w, httptest.NewRequest("GET", "/", nil)); ok || w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") == "" {
		t.Errorf("Caller without an identity: ok=%v, %d %q", ok, w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/", nil)
	req = req.WithContext(auth.NewContext(req.Context(), auth.Identity{Name: "jane", Role: auth.RoleMonitor}))
	if id, ok := auth.Caller(w, req); !ok || id.Name != "jane" || w.Body.Len() != 0 {
		t.Errorf("Caller with an identity: %+v %v, wrote %q", id, ok, w.Body)
	}
}
