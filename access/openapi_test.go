package access_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/access/openapitest"
)

// described reports whether pattern is a route the OpenAPI description
// covers: the API and the health routes, not the data services' Connect
// routes or the web pages.
func described(pattern string, rule access.Rule) bool {
	if rule.Service {
		return false
	}
	_, path, _ := strings.Cut(pattern, " ")
	return strings.HasPrefix(path, "/api/") || path == "/healthz" || path == "/readyz"
}

// TestOpenAPIMatchesRules: the description is valid OpenAPI 3.1, it has
// exactly the routes of access.Rules it covers, each with the roles the
// rule allows (x-roles) and public exactly where the rule is.
func TestOpenAPIMatchesRules(t *testing.T) {
	doc, err := openapitest.Load()
	if err != nil {
		t.Fatal(err)
	}
	var inDoc []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			pattern := method + " " + path
			inDoc = append(inDoc, pattern)
			rule, ok := access.Rules()[pattern]
			if !ok {
				continue // reported below
			}
			public := op.Security != nil && len(*op.Security) == 0
			if public != rule.Public {
				t.Errorf("%s: public in the description %v, in the rules %v", pattern, public, rule.Public)
			}
			var roles []string
			if raw, ok := op.Extensions["x-roles"]; ok {
				b, _ := json.Marshal(raw)
				if err := json.Unmarshal(b, &roles); err != nil {
					t.Errorf("%s: x-roles: %v", pattern, err)
				}
			}
			var want []string
			for _, r := range rule.Roles {
				want = append(want, string(r))
			}
			sort.Strings(want)
			if !slices.Equal(roles, want) {
				t.Errorf("%s: x-roles %v in the description, the rules allow %v", pattern, roles, want)
			}
		}
	}
	var inRules []string
	for pattern, rule := range access.Rules() {
		if described(pattern, rule) {
			inRules = append(inRules, pattern)
		}
	}
	sort.Strings(inDoc)
	sort.Strings(inRules)
	for _, p := range inRules {
		if !slices.Contains(inDoc, p) {
			t.Errorf("route %q is in access.Rules but not in access/openapi.json: describe it", p)
		}
	}
	for _, p := range inDoc {
		if !slices.Contains(inRules, p) {
			t.Errorf("access/openapi.json describes %q, which access.Rules does not have", p)
		}
	}
}

// TestOpenAPIServed: the route serves the embedded description, and its
// answer is valid by the description itself.
func TestOpenAPIServed(t *testing.T) {
	r := access.NewRouter(access.Rules())
	access.RegisterOpenAPI(r)
	srv := httptest.NewServer(r)
	defer srv.Close()
	v, err := openapitest.New()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", srv.URL+access.OpenAPIPath, nil)
	resp, body, err := v.Do(srv.Client(), req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || string(body) != string(access.OpenAPI()) {
		t.Fatalf("GET %s: %d, %d bytes, want 200 and the %d bytes of the description", access.OpenAPIPath, resp.StatusCode, len(body), len(access.OpenAPI()))
	}
}
