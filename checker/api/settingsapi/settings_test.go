package settingsapi_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/checker/checkertest"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/clinical/rules/liver"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newSettingsFixture serves study S's settings to an admin, and reads
// what is stored.
func newSettingsFixture(t *testing.T) (http.Handler, func() rules.Config) {
	st := checkertest.Open(t, sqldbtest.SQLite(t))
	h := checkertest.As(checkertest.Monitor("admin1", "S"), st.Mux(st.Checker(checker.Sources{}), nil))
	stored := func() rules.Config {
		t.Helper()
		cfg, err := st.Signals.Settings(t.Context(), "S")
		if err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	return h, stored
}

// answered decodes a settings answer, failing on anything but 200.
func answered(t *testing.T, rec interface {
	Result() *http.Response
}, what string) rules.Config {
	t.Helper()
	res := rec.Result()
	var cfg rules.Config
	if err := json.NewDecoder(res.Body).Decode(&cfg); err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("%s: %d, %v", what, res.StatusCode, err)
	}
	return cfg
}

// A PUT replaces the whole document, so one that leaves fields out is
// refused, naming them and pointing to PATCH. Before, a PUT of only the
// AE terms reset the CTCAE version, and a PUT of only the CTCAE version
// wiped the AE terms.
func TestPutSettingsNeedsTheWholeDocument(t *testing.T) {
	h, stored := newSettingsFixture(t)
	base := "/api/v1/studies/S/settings"
	if rec := checkertest.Call(h, http.MethodPut, base, checkertest.FullSettings); rec.Code != http.StatusOK {
		t.Fatalf("PUT of a whole document: %d %s", rec.Code, rec.Body)
	}
	want := stored()
	if want.Criteria != ctcae.V403 || want.AETerms["ALT"][0] != "DRUG-INDUCED LIVER INJURY" || want.Enabled(liver.HysLawQuadrant) ||
		want.OutOfRange.Tolerance != 0.2 || want.OutOfRange.High.Medium != 2 || want.Baseline != rules.BaselineADaMLastPredose {
		t.Fatalf("stored after the PUT: %+v", want)
	}
	for body, missing := range map[string]string{
		`{"ae_terms": {"HGB:low": ["BLOOD LOSS ANAEMIA"]}}`: "ctcae",
		`{"ctcae": "ctcae-v5.0"}`:                           "ae_terms",
		`{}`:                                                "baseline, ctcae, grading_context, out_of_range, rules",
		strings.Replace(checkertest.FullSettings, `, "critical": 5}`, `}`, 1): "out_of_range.high_xuln.critical",
	} {
		rec := checkertest.Call(h, http.MethodPut, base, body)
		var e struct{ Error string }
		json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != http.StatusBadRequest || !strings.Contains(e.Error, missing) || !strings.Contains(e.Error, "PATCH") {
			t.Errorf("PUT %s: %d %q, want 400 naming %s and pointing to PATCH", body, rec.Code, e.Error, missing)
		}
		if got := stored(); !reflect.DeepEqual(got, want) {
			t.Errorf("PUT %s changed the settings to %+v", body, got)
		}
	}
	// The answer is the whole document, itself a valid PUT body.
	got := answered(t, checkertest.Call(h, http.MethodGet, base, ""), "GET")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("GET %+v, want %+v", got, want)
	}
	doc := checkertest.Call(h, http.MethodGet, base, "").Body.String()
	if rec := checkertest.Call(h, http.MethodPut, base, doc); rec.Code != http.StatusOK || !reflect.DeepEqual(stored(), want) {
		t.Errorf("PUT of what GET answered: %d %s", rec.Code, rec.Body)
	}
}

// PATCH changes what the merge patch names: a value replaces, null
// returns to the default, the rest stays.
func TestPatchSettings(t *testing.T) {
	h, stored := newSettingsFixture(t)
	base := "/api/v1/studies/S/settings"
	if rec := checkertest.Call(h, http.MethodPut, base, checkertest.FullSettings); rec.Code != http.StatusOK {
		t.Fatalf("PUT: %d %s", rec.Code, rec.Body)
	}
	steps := []struct {
		patch  string
		change func(*rules.Config)
	}{
		{`{"ae_terms": {"HGB:low": ["BLOOD LOSS ANAEMIA"]}}`, func(c *rules.Config) { c.AETerms["HGB:low"] = []string{"BLOOD LOSS ANAEMIA"} }},
		{`{"ae_terms": {"ALT": null}}`, func(c *rules.Config) { delete(c.AETerms, "ALT") }},
		{`{"ctcae": "v5"}`, func(c *rules.Config) { c.Criteria = ctcae.V50 }},
		{`{"rules": {"SAE_LATE": false, "HYS_LAW_QUADRANT": null}}`, func(c *rules.Config) { c.Rules = map[clinical.Rule]bool{rules.SAELate: false} }},
		{`{"out_of_range": {"high_xuln": {"medium": 1.2}}}`, func(c *rules.Config) { c.OutOfRange.High.Medium = 1.2 }},
		{`{"out_of_range": {"tolerance": null}}`, func(c *rules.Config) { c.OutOfRange.Tolerance = rules.DefaultConfig().OutOfRange.Tolerance }},
		{`{"ctcae": "ctcae-v4.03"}`, func(c *rules.Config) { c.Criteria = ctcae.V403 }},
		{`{"ctcae": null}`, func(c *rules.Config) { c.Criteria = ctcae.Default }},
		{`{}`, func(*rules.Config) {}},
		{`{"ae_terms": null, "rules": null, "out_of_range": null}`, func(c *rules.Config) {
			d := rules.DefaultConfig()
			c.AETerms, c.Rules, c.OutOfRange = map[string][]string{}, map[clinical.Rule]bool{}, d.OutOfRange
		}},
	}
	want := stored()
	for _, s := range steps {
		s.change(&want)
		got := answered(t, checkertest.Call(h, http.MethodPatch, base, s.patch), "PATCH "+s.patch)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("PATCH %s answered %+v\nwant %+v", s.patch, got, want)
		}
		if got := stored(); !reflect.DeepEqual(got, want) {
			t.Errorf("PATCH %s stored %+v\nwant %+v", s.patch, got, want)
		}
	}
}

// PUT and PATCH validate alike: each bad document is a 400 naming the
// field, and stores nothing.
func TestSettingsValidation(t *testing.T) {
	h, stored := newSettingsFixture(t)
	base := "/api/v1/studies/S/settings"
	before := stored()
	whole := func(field, value string) string {
		var doc map[string]any
		json.Unmarshal([]byte(checkertest.FullSettings), &doc)
		var v any
		if err := json.Unmarshal([]byte(value), &v); err != nil {
			t.Fatal(err)
		}
		doc[field] = v
		b, _ := json.Marshal(doc)
		return string(b)
	}
	for _, c := range []struct{ field, value, names string }{
		{"ctcae", `"ctcae-v9"`, "ctcae"},
		{"ctcae", `5`, "ctcae"},
		{"rules", `{"NO_SUCH_RULE": true}`, "rules"},
		{"rules", `{"HYS_LAW": "off"}`, "rules"},
		{"ae_terms", `{"ALT": [""]}`, "ae_terms"},
		{"ae_terms", `{"ALT:sideways": ["X"]}`, "ae_terms"},
		{"out_of_range", `{"tolerance": -0.1}`, "out_of_range.tolerance"},
		{"out_of_range", `{"tolerance": "a lot"}`, "out_of_range.tolerance"},
		{"out_of_range", `{"tolerance": 1e999}`, "out_of_range.tolerance"},
		{"out_of_range", `{"high_xuln": {"medium": -1}}`, "out_of_range.high_xuln.medium"},
		{"out_of_range", `{"high_xuln": {"critical": 2}}`, "out_of_range.high_xuln"},
		{"out_of_range", `{"colour": 1}`, "colour"},
		{"colour", `"red"`, "colour"},
		{"baseline", `"adam"`, "baseline"},
		{"baseline", `true`, "baseline"},
	} {
		bodies := map[string]string{http.MethodPatch: `{"` + c.field + `": ` + c.value + `}`}
		if c.field != "out_of_range" { // a PUT of a partial out_of_range is refused as incomplete
			bodies[http.MethodPut] = whole(c.field, c.value)
		}
		for method, body := range bodies {
			rec := checkertest.Call(h, method, base, body)
			var e struct{ Error string }
			json.Unmarshal(rec.Body.Bytes(), &e)
			if rec.Code != http.StatusBadRequest || !strings.Contains(e.Error, c.names) {
				t.Errorf("%s %s: %d %q, want 400 naming %s", method, body, rec.Code, e.Error, c.names)
			}
		}
	}
	for _, body := range []string{`not json`, `[]`, `"x"`, `null`, `{"ctcae": "v5"} {}`} {
		for _, method := range []string{http.MethodPut, http.MethodPatch} {
			if rec := checkertest.Call(h, method, base, body); rec.Code != http.StatusBadRequest {
				t.Errorf("%s %s: %d, want 400", method, body, rec.Code)
			}
		}
	}
	if got := stored(); !reflect.DeepEqual(got, before) {
		t.Errorf("refused documents changed the settings to %+v", got)
	}
}

// A body past its limit is 413, as the README promises, not 400; the
// settings are unchanged.
func TestBodiesPastTheLimitAre413(t *testing.T) {
	h, stored := newSettingsFixture(t)
	before := stored()
	huge := `{"ae_terms": {"ALT": ["` + strings.Repeat("x", 2<<20) + `"]}}`
	for _, c := range []struct{ method, path string }{
		{http.MethodPut, "/api/v1/studies/S/settings"},
		{http.MethodPatch, "/api/v1/studies/S/settings"},
		{http.MethodPatch, "/api/v1/studies/S/signals/1"},
	} {
		if rec := checkertest.Call(h, c.method, c.path, huge); rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "request body larger than") {
			t.Errorf("%s %s of 2 MiB: %d %s, want 413", c.method, c.path, rec.Code, rec.Body)
		}
	}
	if after := stored(); !reflect.DeepEqual(after, before) {
		t.Errorf("settings changed to %+v", after)
	}
}
