package debughttp

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/leakguard/report"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const token = "s3cret-token"

type fakeReporter struct {
	rep report.Report
	err error
}

func (f fakeReporter) Report(context.Context) (report.Report, error) { return f.rep, f.err }

func do(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func auth() map[string]string { return map[string]string{"Authorization": "Bearer " + token} }

func TestBearerToken(t *testing.T) {
	h := Handler(WithBearerToken(token))
	cases := []struct {
		name   string
		header string
		want   int
	}{
		{"missing", "", http.StatusUnauthorized},
		{"wrong", "Bearer nope", http.StatusUnauthorized},
		{"prefix of token", "Bearer " + token[:4], http.StatusUnauthorized},
		{"token with suffix", "Bearer " + token + "x", http.StatusUnauthorized},
		{"basic scheme", "Basic " + token, http.StatusUnauthorized},
		{"right", "Bearer " + token, http.StatusOK},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := do(t, h, "GET", "/debug/pprof/cmdline", map[string]string{"Authorization": tc.header})
			if rec.Code != tc.want {
				t.Fatalf("status = %d, want %d", rec.Code, tc.want)
			}
			if tc.want == http.StatusUnauthorized {
				if got := rec.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("WWW-Authenticate = %q, want a Bearer challenge", got)
				}
				if strings.Contains(rec.Body.String(), "test") {
					t.Errorf("unauthorized response leaked cmdline: %q", rec.Body.String())
				}
			}
		})
	}
}

func TestEmptyTokenRefusesEverything(t *testing.T) {
	h := Handler(WithBearerToken(""))
	for _, hdr := range []string{"", "Bearer ", "Bearer", "Bearer x"} {
		for _, path := range []string{"/debug/", "/debug/leaks", "/debug/pprof/", "/debug/pprof/goroutine"} {
			rec := do(t, h, "GET", path, map[string]string{"Authorization": hdr})
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("%s with %q: status = %d, want 401", path, hdr, rec.Code)
			}
		}
	}
}

func TestNoAuthOptionRefuses(t *testing.T) {
	for _, h := range []http.Handler{Handler(), Handler(WithAuth(nil))} {
		rec := do(t, h, "GET", "/debug/pprof/", nil)
		if rec.Code == http.StatusOK {
			t.Fatalf("handler without auth served %d", rec.Code)
		}
	}
}

func TestCustomAuth(t *testing.T) {
	var calls int
	mw := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			if r.Header.Get("X-Role") != "admin" {
				http.Error(w, "forbidden", http.StatusForbidden)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
	h := Handler(WithAuth(mw), WithReporter(fakeReporter{}))
	if rec := do(t, h, "GET", "/debug/leaks", nil); rec.Code != http.StatusForbidden {
		t.Errorf("without role: %d, want 403", rec.Code)
	}
	if rec := do(t, h, "GET", "/debug/leaks", map[string]string{"X-Role": "admin"}); rec.Code != http.StatusOK {
		t.Errorf("with role: %d, want 200", rec.Code)
	}
	if calls != 2 {
		t.Errorf("middleware ran %d times, want 2", calls)
	}
}

func TestPprofRoutes(t *testing.T) {
	h := Handler(WithBearerToken(token))
	index := do(t, h, "GET", "/debug/pprof/", auth())
	if index.Code != http.StatusOK {
		t.Fatalf("index status %d", index.Code)
	}
	for _, p := range pprof.Profiles() {
		if !strings.Contains(index.Body.String(), "href='"+p.Name()) {
			t.Errorf("index does not link %s", p.Name())
		}
		rec := do(t, h, "GET", "/debug/pprof/"+p.Name()+"?debug=1", auth())
		if rec.Code != http.StatusOK {
			t.Errorf("%s: status %d", p.Name(), rec.Code)
		}
	}
	if rec := do(t, h, "GET", "/debug/pprof/goroutine?debug=2", auth()); !strings.Contains(rec.Body.String(), "goroutine ") {
		t.Errorf("goroutine?debug=2 is not a goroutine dump: %.200q", rec.Body.String())
	}
	if rec := do(t, h, "GET", "/debug/pprof/cmdline", auth()); !strings.Contains(rec.Body.String(), "debughttp") {
		t.Errorf("cmdline = %q, want the test binary", rec.Body.String())
	}
	if rec := do(t, h, "GET", "/debug/pprof/symbol", auth()); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "num_symbols") {
		t.Errorf("symbol: %d %q", rec.Code, rec.Body.String())
	}
	if rec := do(t, h, "GET", "/debug/pprof/no-such-profile", auth()); rec.Code != http.StatusNotFound {
		t.Errorf("unknown profile: %d, want 404", rec.Code)
	}
	if rec := do(t, h, "GET", "/debug/elsewhere", auth()); rec.Code != http.StatusNotFound {
		t.Errorf("unknown route: %d, want 404", rec.Code)
	}
}

func TestGoroutineLeakProfileRoute(t *testing.T) {
	h := Handler(WithBearerToken(token))
	rec := do(t, h, "GET", "/debug/pprof/goroutineleak?debug=1", auth())
	if pprof.Lookup("goroutineleak") == nil {
		if rec.Code != http.StatusNotFound {
			t.Fatalf("goroutineleak without the experiment: %d, want 404", rec.Code)
		}
		return
	}
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "goroutineleak profile") {
		t.Fatalf("goroutineleak: %d %.200q", rec.Code, rec.Body.String())
	}
	if idx := do(t, h, "GET", "/debug/pprof/", auth()); !strings.Contains(idx.Body.String(), "href='goroutineleak") {
		t.Error("index does not link goroutineleak")
	}
}

// profile and trace run for ?seconds; a request whose context is already
// done makes them return at once with what they collected.
func TestProfileAndTraceStopWithRequest(t *testing.T) {
	h := Handler(WithBearerToken(token))
	for _, path := range []string{"/debug/pprof/profile?seconds=30", "/debug/pprof/trace?seconds=30"} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		req := httptest.NewRequest("GET", path, nil).WithContext(ctx)
		req.Header.Set("Authorization", "Bearer "+token)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Body.Len() == 0 {
			t.Errorf("%s: status %d, %d bytes", path, rec.Code, rec.Body.Len())
		}
	}
}

func TestPrefix(t *testing.T) {
	h := Handler(WithoutAuth(), WithPrefix("/admin/debug"), WithReporter(fakeReporter{}))
	if rec := do(t, h, "GET", "/admin/debug/leaks?format=json", nil); rec.Code != http.StatusOK {
		t.Errorf("leaks under prefix: %d", rec.Code)
	}
	if rec := do(t, h, "GET", "/admin/debug/pprof/cmdline", nil); rec.Code != http.StatusOK {
		t.Errorf("pprof under prefix: %d", rec.Code)
	}
	if rec := do(t, h, "GET", "/admin/debug/", nil); !strings.Contains(rec.Body.String(), `href="/admin/debug/leaks"`) {
		t.Errorf("index links do not carry the prefix: %q", rec.Body.String())
	}
	for _, p := range []string{"/debug/leaks", "/admin/debugger/leaks"} {
		if rec := do(t, h, "GET", p, nil); rec.Code != http.StatusNotFound {
			t.Errorf("%s outside prefix: %d, want 404", p, rec.Code)
		}
	}
}

func sampleReport() report.Report {
	return report.Report{
		GeneratedAt:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Source:          "watchdog",
		Status:          report.Suspect,
		Goroutines:      1234,
		GrowthPerMinute: 60,
		ExcessPerMinute: 58.5,
		Suspected:       1000,
		Reasons:         []string{"goroutines grow 58.50/min beyond load"},
		Growing: []report.Group{{
			Function: "example.com/svc.(*Handler).wait",
			Location: "/src/svc/handler.go:42",
			State:    "chan receive",
			Count:    1000, Before: 10, Delta: 990,
			Stack:  []string{"example.com/svc.(*Handler).wait /src/svc/handler.go:42"},
			Labels: map[string]string{"route": "<script>alert(1)</script>"},
		}},
	}
}

func TestLeaksJSON(t *testing.T) {
	h := Handler(WithBearerToken(token), WithReporter(fakeReporter{rep: sampleReport()}))
	for _, hdr := range []map[string]string{
		{"Authorization": "Bearer " + token, "Accept": "text/html;q=0.5, application/json"},
		{"Authorization": "Bearer " + token},
	} {
		target := "/debug/leaks"
		if hdr["Accept"] == "" {
			target += "?format=json"
		}
		rec := do(t, h, "GET", target, hdr)
		if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
			t.Fatalf("%s: content type %q", target, ct)
		}
		var got report.Report
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		if got.Status != report.Suspect || len(got.Growing) != 1 || got.Growing[0].Location != "/src/svc/handler.go:42" || got.Growing[0].Delta != 990 {
			t.Errorf("decoded report = %+v", got)
		}
	}
}

func TestLeaksHTML(t *testing.T) {
	h := Handler(WithBearerToken(token), WithReporter(fakeReporter{rep: sampleReport()}))
	rec := do(t, h, "GET", "/debug/leaks", map[string]string{"Authorization": "Bearer " + token, "Accept": "text/html"})
	body := rec.Body.String()
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	for _, want := range []string{"suspect", "1234 goroutines", "(*Handler).wait", "/src/svc/handler.go:42", "+990 (was 10)", "chan receive", "Growing since last healthy snapshot"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>alert") {
		t.Error("label value was not escaped")
	}
}

func TestLeaksErrors(t *testing.T) {
	h := Handler(WithoutAuth(), WithReporter(fakeReporter{err: errors.New("boom")}))
	if rec := do(t, h, "GET", "/debug/leaks", nil); rec.Code != http.StatusInternalServerError {
		t.Errorf("reporter error: %d, want 500", rec.Code)
	}
	if rec := do(t, h, "POST", "/debug/leaks", nil); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d, want 405", rec.Code)
	}
}

//go:noinline
func parkedInDebughttpTest(ch chan struct{}) { <-ch }

// Without a reporter the handler captures and groups a live snapshot.
func TestLeaksSnapshotWithoutReporter(t *testing.T) {
	ch := make(chan struct{})
	const n = 7
	for range n {
		go parkedInDebughttpTest(ch) // ended by close(ch) below
	}
	defer close(ch)

	srv := httptest.NewServer(Handler(WithBearerToken(token)))
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/debug/leaks?format=json", nil)
	req.Header.Set("Authorization", "Bearer "+token)

	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var rep report.Report
		if err := json.Unmarshal(body, &rep); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if rep.Source != "snapshot" {
			t.Fatalf("source = %q", rep.Source)
		}
		for _, g := range rep.Top {
			if strings.HasSuffix(g.Function, ".parkedInDebughttpTest") && g.Count == n {
				if !strings.Contains(g.Location, "debughttp_test.go:") || g.State != "chan receive" {
					t.Fatalf("group = %+v", g)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("parked goroutines never showed up as one group of %d: %+v", n, rep.Top)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type ackReporter struct {
	fakeReporter
	got   [][]string
	known map[string]bool
}

func (a *ackReporter) Acknowledge(_ context.Context, names ...string) (int, error) {
	for _, n := range names {
		if !a.known[n] {
			return 0, errors.New("no leaking group named " + n)
		}
	}
	a.got = append(a.got, names)
	if len(names) == 0 {
		return len(a.known), nil
	}
	return len(names), nil
}

func TestAcknowledge(t *testing.T) {
	rep := &ackReporter{known: map[string]bool{"/src/fan.go:17": true, "svc.worker": true}}
	h := Handler(WithBearerToken(token), WithReporter(rep))
	post := func(body string, hdr map[string]string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest("POST", "/debug/leaks/ack", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := post("all=1", nil); rec.Code != http.StatusUnauthorized || len(rep.got) != 0 {
		t.Fatalf("without token: %d, acknowledged %v", rec.Code, rep.got)
	}
	if rec := do(t, h, "GET", "/debug/leaks/ack", auth()); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET = %d, want 405", rec.Code)
	}
	for body, want := range map[string]string{
		"":                         "missing group",
		"all=1&group=svc.worker":   "not both",
		"group=%2Fsrc%2Fnope.go:1": "nope.go",
	} {
		rec := post(body, auth())
		if rec.Code/100 != 4 || !strings.Contains(rec.Body.String(), want) {
			t.Errorf("POST %q = %d %q, want 4xx naming %q", body, rec.Code, rec.Body.String(), want)
		}
	}
	rec := post("group=%2Fsrc%2Ffan.go:17&group=svc.worker", auth())
	if rec.Code != http.StatusOK || strings.TrimSpace(rec.Body.String()) != `{"acknowledged":2}` {
		t.Errorf("POST groups = %d %q", rec.Code, rec.Body.String())
	}
	if rec := post("all=1", auth()); rec.Code != http.StatusOK {
		t.Errorf("POST all=1 = %d %q", rec.Code, rec.Body.String())
	}
	if len(rep.got) != 2 || len(rep.got[0]) != 2 || rep.got[0][0] != "/src/fan.go:17" || len(rep.got[1]) != 0 {
		t.Errorf("acknowledged %q", rep.got)
	}
	// A reporter that cannot take acknowledgements says so.
	plain := Handler(WithBearerToken(token), WithReporter(fakeReporter{}))
	req := httptest.NewRequest("POST", "/debug/leaks/ack?all=1", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec = httptest.NewRecorder()
	plain.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), "acknowledgements") {
		t.Errorf("plain reporter: %d %q", rec.Code, rec.Body.String())
	}
}
