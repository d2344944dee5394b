package kriapi_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/checker/api/kriapi"
	"github.com/trialwatch/trialwatch/checker/checkertest"
	"github.com/trialwatch/trialwatch/checker/kris"
	"github.com/trialwatch/trialwatch/checker/kris/kristest"
	"github.com/trialwatch/trialwatch/clinical/kri"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// kriServer serves the KRI API over a study of ten sites, the last with
// four times the others' AE rate (flagged red), already recomputed once.
func kriServer(t *testing.T) *http.ServeMux {
	t.Helper()
	db := sqldbtest.SQLite(t)
	st := checkertest.Open(t, db)
	store, err := kris.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	study := &kristest.Study{}
	subs, ds, evs := kristest.Sites(10, 10, 10, 10, 10, 10, 10, 10, 10, 40)
	study.Set(subs, ds, evs, nil)
	svc := kris.NewService(study.Sources(), store, st.Signals)
	mux := http.NewServeMux()
	kriapi.New(svc, nil).Register(mux)
	return mux
}

func serve(h http.Handler, id auth.Identity, method, path, body string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	checkertest.As(id, h).ServeHTTP(rec, httptest.NewRequest(method, path, strings.NewReader(body)))
	return rec
}

func siteUser(study string, sites ...string) auth.Identity {
	var grants []auth.Grant
	for _, s := range sites {
		grants = append(grants, auth.Grant{Study: study, Site: s})
	}
	return auth.Identity{Name: "site", Role: auth.RoleSite, Grants: grants}
}

func TestKRIAPIScopesAndAnswersGsmShape(t *testing.T) {
	mux := kriServer(t)
	mon := checkertest.Monitor("m", "S")
	if rec := serve(mux, mon, "GET", "/api/v1/studies/S/kris", ""); rec.Code != http.StatusNotFound {
		t.Fatalf("before any recompute: %d %s; want 404", rec.Code, rec.Body)
	}
	var done struct{ Flagged int }
	if rec := serve(mux, mon, "POST", "/api/v1/studies/S/kris/recompute", ""); rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &done) != nil || done.Flagged != 1 {
		t.Fatalf("recompute: %d %s; want 1 site×KRI flagged", rec.Code, rec.Body)
	}
	var all struct {
		AsOf string `json:"as_of"`
		KRIs []struct {
			KRI    string   `json:"kri"`
			Site   string   `json:"site"`
			Score  *float64 `json:"score"`
			Flag   *int     `json:"flag"`
			Metric float64  `json:"metric"`
		} `json:"kris"`
		RiskScores []struct {
			Site  string  `json:"site"`
			Score float64 `json:"score"`
		} `json:"risk_scores"`
	}
	rec := serve(mux, mon, "GET", "/api/v1/studies/S/kris", "")
	if err := json.Unmarshal(rec.Body.Bytes(), &all); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s: %v", rec.Code, rec.Body, err)
	}
	if all.AsOf == "" || len(all.RiskScores) != 10 {
		t.Errorf("as_of %q, %d risk scores", all.AsOf, len(all.RiskScores))
	}
	var sawNull, sawRed bool
	for _, k := range all.KRIs {
		if k.KRI == "kri0006" && (k.Score != nil || k.Flag != nil) {
			t.Errorf("kri0006 at site %s has 1 enrolled, below gsm's minimum of 3: score %v flag %v, want null", k.Site, k.Score, k.Flag)
		}
		sawNull = sawNull || k.KRI == "kri0006" && k.Score == nil
		if k.KRI == "kri0001" && k.Site == "10" {
			sawRed = k.Flag != nil && *k.Flag == 2 && *k.Score == 3 && k.Metric == 0.4
		}
	}
	if !sawNull || !sawRed {
		t.Errorf("want null scores for kri0006 and site 10's kri0001 at score 3, flag 2: %s", rec.Body)
	}

	// A site user sees its own site's rows and nothing of site 10.
	own := siteUser("S", "3")
	rec = serve(mux, own, "GET", "/api/v1/studies/S/kris", "")
	all.KRIs, all.RiskScores = nil, nil
	if err := json.Unmarshal(rec.Body.Bytes(), &all); err != nil {
		t.Fatal(err)
	}
	sites := map[string]bool{}
	for _, k := range all.KRIs {
		sites[k.Site] = true
	}
	if len(sites) != 1 || !sites["3"] || len(all.KRIs) != 11 || len(all.RiskScores) != 1 || all.RiskScores[0].Site != "3" {
		t.Errorf("site 3's user sees: %s", rec.Body)
	}
	rec = serve(mux, own, "GET", "/api/v1/studies/S/kris/kri0001", "")
	var one struct {
		Sites  []map[string]any `json:"sites"`
		Bounds []struct {
			Denominator float64             `json:"denominator"`
			Limits      map[string]*float64 `json:"limits"`
		} `json:"bounds"`
		Factor float64 `json:"overdispersion"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &one); err != nil || rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
	if len(one.Sites) != 1 || len(one.Bounds) != 1 || one.Bounds[0].Denominator != 100 || one.Bounds[0].Limits["-2"] != nil ||
		*one.Bounds[0].Limits["3"] != 0.4 || one.Factor != 6.2308 {
		t.Errorf("kri0001 for site 3's user: %s", rec.Body)
	}
	if rec := serve(mux, own, "GET", "/api/v1/studies/S/kris/kri0001/sites/10/history", ""); rec.Code != http.StatusNotFound {
		t.Errorf("another site's history: %d, want 404", rec.Code)
	}
	rec = serve(mux, mon, "GET", "/api/v1/studies/S/kris/kri0001/sites/10/history", "")
	var hist struct {
		Streak  int              `json:"flagged_in_a_row"`
		History []map[string]any `json:"history"`
	}
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &hist) != nil || hist.Streak != 1 || len(hist.History) != 1 {
		t.Errorf("site 10's history: %d %s", rec.Code, rec.Body)
	}
	for path, want := range map[string]int{
		"/api/v1/studies/S/kris/kri9999":                            404,
		"/api/v1/studies/S/kris/kri0001/sites/10/history?limit=0":   400,
		"/api/v1/studies/S/kris?format=xml":                         400,
		"/api/v1/studies/T/kris":                                    404, // no grant
		"/api/v1/studies/S/kris/kri0001/sites/10/history?limit=5":   200,
		"/api/v1/studies/S/kris/tw0003":                             200,
		"/api/v1/studies/S/kris/kri0015/sites/1/history?limit=1000": 200,
	} {
		if rec := serve(mux, mon, "GET", path, ""); rec.Code != want {
			t.Errorf("GET %s: %d, want %d: %s", path, rec.Code, want, rec.Body)
		}
	}

	rec = serve(mux, mon, "GET", "/api/v1/studies/S/kris?format=csv", "")
	rows, err := csv.NewReader(rec.Body).ReadAll()
	if err != nil || rec.Header().Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("CSV: %v, %s", err, rec.Header())
	}
	if len(rows) != 1+10*11 || rows[0][1] != "kri" || rows[0][7] != "score" {
		t.Errorf("CSV: %d rows, header %v; want 1 + 10 sites × 11 KRIs", len(rows), rows[0])
	}
}

func TestKRISettingsRefuseBadInputNamingTheField(t *testing.T) {
	mux := kriServer(t)
	admin := auth.Identity{Name: "a", Role: auth.RoleAdmin}
	for body, want := range map[string]string{
		`{"kris": {"kri0042": {}}}`:                                     `kris: unknown KRI \"kri0042\"`,
		`{"qtls": {"qtl9": 0.1}}`:                                       `qtls: unknown QTL \"qtl9\"`,
		`{"kris": {"kri0005": {"thresholds": [-1, 3]}}}`:                `kris.kri0005.thresholds[0]: -1 is negative`,
		`{"kris": {"kri0001": {"min_denominator": -5}}}`:                `kris.kri0001.min_denominator: -5`,
		`{"qtls": {"kri0006": -0.1}}`:                                   `qtls.kri0006: -0.1`,
		`{"kris": {"kri0001": {"thresholds": [-2, -1, 2, 1e999]}}}`:     `request body`,
		`{"kris": {"kri0001": {"thresholds": [-2, -1, 2, 3]}}, "x": 1}`: `unknown field`,
	} {
		rec := serve(mux, admin, "PUT", "/api/v1/studies/S/kri-settings", body)
		if rec.Code != http.StatusBadRequest || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("%s: %d %s; want 400 naming %s", body, rec.Code, rec.Body, want)
		}
	}
	huge := `{"qtls": {"kri0006": 0.3}, "x": "` + strings.Repeat("x", 2<<20) + `"}`
	if rec := serve(mux, admin, "PUT", "/api/v1/studies/S/kri-settings", huge); rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("2 MiB of settings: %d %s, want 413", rec.Code, rec.Body)
	}
	rec := serve(mux, admin, "PUT", "/api/v1/studies/S/kri-settings", `{"kris": {"kri0001": {"thresholds": [-3, -2, 2, 3]}}, "qtls": {}}`)
	if rec.Code != 200 {
		t.Fatalf("valid settings: %d %s", rec.Code, rec.Body)
	}
	rec = serve(mux, admin, "GET", "/api/v1/studies/S/kri-settings", "")
	var set kri.Settings
	if err := json.Unmarshal(rec.Body.Bytes(), &set); err != nil {
		t.Fatal(err)
	}
	ae := set.KRIs["kri0001"]
	if !reflect.DeepEqual(ae.Thresholds, []float64{-3, -2, 2, 3}) || *ae.MinDenominator != 30 || set.QTLs == nil || len(set.QTLs) != 0 || len(set.KRIs) != 11 {
		t.Errorf("settings read back: %s", rec.Body)
	}
}
