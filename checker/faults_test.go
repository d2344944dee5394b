package checker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/checker/checkertest"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/rpc"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// The fault matrix drives the checker through real Connect clients and
// servers while one upstream misbehaves, and proves for each fault the
// HTTP status, the per-source statuses, the answer time, the upstream's
// cancellation and that every goroutine is gone afterwards.

const (
	testDeadline = 400 * time.Millisecond
	// timeSlack is how late after the deadline an answer may come: room
	// for a loaded machine (an answer came 187 ms late at load 6), yet
	// less than slowPastLimit's 300 ms, so a checker that waits for the
	// slow upstream instead of answering at the deadline still fails.
	timeSlack = 250 * time.Millisecond
	study     = "CDISCPILOT01"
	subjectID = "01-701-1015"
)

type behavior string

const (
	behaveOK      behavior = "ok"
	hangForever   behavior = "hangs forever"
	slowPastLimit behavior = "slower than the deadline"
	slowInTime    behavior = "slow but in time"
	failWithError behavior = "returns an error"
	refuse        behavior = "connection refused"
	resetMidway   behavior = "connection reset mid-response"
)

// fakeUpstream is the data behind one Connect service; it behaves as told
// and records whether the call's context was cancelled.
type fakeUpstream struct {
	behave    behavior
	cancelled chan struct{}
	once      sync.Once
}

func newFake(b behavior) *fakeUpstream {
	if b == "" {
		b = behaveOK
	}
	return &fakeUpstream{behave: b, cancelled: make(chan struct{})}
}

func (f *fakeUpstream) act(ctx context.Context) error {
	var wait <-chan time.Time
	switch f.behave {
	case behaveOK:
		return nil
	case failWithError:
		return errors.New("disk on fire")
	case slowInTime:
		wait = time.After(testDeadline / 4)
	case slowPastLimit:
		wait = time.After(testDeadline + 300*time.Millisecond)
	case hangForever:
		// never answers by itself: only the caller's cancellation ends it
	}
	select {
	case <-wait:
		return nil
	case <-ctx.Done():
		f.once.Do(func() { close(f.cancelled) })
		return ctx.Err()
	}
}

func (f *fakeUpstream) Subject(ctx context.Context, st, id string) (clinical.Subject, error) {
	if err := f.act(ctx); err != nil {
		return clinical.Subject{}, err
	}
	if id != subjectID {
		return clinical.Subject{}, clinical.ErrNotFound
	}
	return clinical.Subject{Study: st, USUBJID: id, Site: "701", Sex: "F", Age: 63}, nil
}

func (f *fakeUpstream) Doses(ctx context.Context, st, id string) ([]clinical.Dose, error) {
	return []clinical.Dose{{Study: st, USUBJID: id, Seq: 1, Treatment: "PLACEBO"}}, f.act(ctx)
}

func (f *fakeUpstream) AdverseEvents(ctx context.Context, st, id string) ([]clinical.AdverseEvent, error) {
	return []clinical.AdverseEvent{{Study: st, USUBJID: id, Seq: 1, Term: "PRURITUS"}}, f.act(ctx)
}

// The fakes serve reads only; a check never writes upstream.
var errReadOnly = errors.New("read-only fake")

type subjectFake struct{ *fakeUpstream }

func (subjectFake) Known(context.Context, string, []string) (map[string]string, error) {
	return nil, errReadOnly
}
func (subjectFake) Put(context.Context, string, []clinical.Subject, time.Time) (clinical.Summary, error) {
	return clinical.Summary{}, errReadOnly
}

type doseFake struct{ *fakeUpstream }

func (doseFake) Put(context.Context, string, []clinical.Dose, time.Time) (clinical.Summary, error) {
	return clinical.Summary{}, errReadOnly
}

type eventFake struct{ *fakeUpstream }

func (eventFake) Put(context.Context, string, []clinical.AdverseEvent, time.Time) (clinical.Summary, error) {
	return clinical.Summary{}, errReadOnly
}

// upstreamURL serves h as f says: a real Connect server, a port nobody
// listens on, or a server that resets the connection mid-response.
func upstreamURL(t testing.TB, b behavior, path string, h http.Handler) string {
	switch b {
	case refuse:
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		return "http://" + addr
	case resetMidway:
		srv := httptest.NewServer(http.HandlerFunc(resetConnection))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	mux := http.NewServeMux()
	mux.Handle(path, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// resetConnection promises a body, sends a few bytes of it and resets the
// TCP connection (SO_LINGER 0), as a crashing upstream does.
func resetConnection(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/proto\r\nContent-Length: 512\r\n\r\n\x0a\x10")
	buf.Flush()
	conn.(*net.TCPConn).SetLinger(0)
	conn.Close()
}

// system is a checker wired to three upstreams over Connect.
type system struct {
	url        string
	fakes      map[string]*fakeUpstream
	transports []*http.Transport
	client     *http.Client
}

// sutBuilder builds the HTTP handler under test from its upstream sources.
type sutBuilder func(t testing.TB, src checker.Sources) http.Handler

// realChecker is the checker's API over SQLite stores, serving requests
// as a monitor of the study, as the access router would pass them on.
func realChecker(t testing.TB, src checker.Sources) http.Handler {
	st := checkertest.Open(t, sqldbtest.SQLite(t))
	labs := []clinical.LabResult{
		{Study: study, USUBJID: subjectID, Seq: 1, TestCode: "ALT", Value: 200, HasValue: true, Unit: "U/L", High: 40, HasHigh: true, Date: "2014-01-16"},
		{Study: study, USUBJID: subjectID, Seq: 2, TestCode: "ALB", Value: 38, HasValue: true, Unit: "g/L", Low: 33, HasLow: true, High: 49, HasHigh: true, Date: "2014-01-16"},
	}
	if _, err := st.Labs.PutLabs(context.Background(), study, labs, time.Now()); err != nil {
		t.Fatal(err)
	}
	c := st.Checker(src, checker.WithDeadline(testDeadline), checker.WithLogger(slog.New(slog.DiscardHandler)))
	return checkertest.As(checkertest.Monitor("monitor1", study), st.Mux(c, src.Subjects))
}

func startSystem(t testing.TB, build sutBuilder, behaviors map[string]behavior) *system {
	s := &system{fakes: map[string]*fakeUpstream{}}
	newClient := func() *http.Client {
		hc := rpc.NewHTTPClient()
		s.transports = append(s.transports, hc.Transport.(*http.Transport))
		return hc
	}
	url := func(name string, path string, h http.Handler) string {
		return upstreamURL(t, behaviors[name], path, h)
	}
	for _, name := range []string{"subject", "exposure", "adverse_events"} {
		s.fakes[name] = newFake(behaviors[name])
	}
	subjPath, subjH := rpc.SubjectHandler(subjectFake{s.fakes["subject"]})
	expPath, expH := rpc.ExposureHandler(doseFake{s.fakes["exposure"]})
	evPath, evH := rpc.EventHandler(eventFake{s.fakes["adverse_events"]})
	hc := newClient()
	src := checker.Sources{
		Subjects: rpc.NewSubjectClient(hc, url("subject", subjPath, subjH)),
		Exposure: rpc.NewExposureClient(hc, url("exposure", expPath, expH)),
		Events:   rpc.NewEventClient(hc, url("adverse_events", evPath, evH)),
	}
	srv := httptest.NewServer(build(t, src))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	s.client = newClient()
	s.client.Timeout = testDeadline + 2*time.Second
	return s
}

// closeIdle drops kept-alive connections so their goroutines end and the
// goroutine count can return to its baseline.
func (s *system) closeIdle() {
	for _, tr := range s.transports {
		tr.CloseIdleConnections()
	}
}

type checkBody struct {
	Complete bool                   `json:"complete"`
	Sources  checker.SourceStatuses `json:"sources"`
	Signals  []struct {
		Rule string `json:"rule"`
	} `json:"signals"`
}

type expectation struct {
	status  int
	sources checker.SourceStatuses
	// cancelled names the fake whose context must end up cancelled.
	cancelled string
	// subjectFailed: the other sources may be ok or cancelled, depending
	// on whether they answered before the subject's failure.
	subjectFailed bool
}

// runScenario is the harness: it checks one request against what is
// expected and that no goroutine outlives it. It reports through tb so a
// test can prove that the harness catches a leaky fan-out.
func runScenario(tb testing.TB, s *system, ctx context.Context, want expectation) {
	tb.Helper()
	s.closeIdle()
	baseline := runtime.NumGoroutine()

	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/api/v1/studies/"+study+"/subjects/"+subjectID+"/checks", nil)
	resp, err := s.client.Do(req)
	elapsed := time.Since(start)
	if want.status == 0 { // the client gives up: nothing to read
		if err == nil {
			resp.Body.Close()
			tb.Errorf("request succeeded with %s, want it abandoned", resp.Status)
		}
	} else {
		checkResponse(tb, resp, err, want)
		if elapsed > testDeadline+timeSlack {
			tb.Errorf("answered after %v, want within deadline %v + %v", elapsed, testDeadline, timeSlack)
		}
	}
	if want.cancelled != "" {
		select {
		case <-s.fakes[want.cancelled].cancelled:
		case <-time.After(2 * time.Second):
			tb.Errorf("%s upstream's context was never cancelled", want.cancelled)
		}
	}
	s.closeIdle()
	if n, ok := waitGoroutines(baseline, 2*time.Second, s.closeIdle); !ok {
		tb.Errorf("goroutines leaked: %d after the check, %d before\n%s", n, baseline, goroutineDump())
	}
}

func checkResponse(tb testing.TB, resp *http.Response, err error, want expectation) {
	tb.Helper()
	if err != nil {
		tb.Errorf("request failed: %v", err)
		return
	}
	defer resp.Body.Close()
	var body checkBody
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		tb.Errorf("response is not JSON: %v", err)
		return
	}
	if resp.StatusCode != want.status {
		tb.Errorf("status %d, want %d", resp.StatusCode, want.status)
	}
	got := body.Sources
	if want.subjectFailed {
		for _, st := range []*Status{&got.Exposure, &got.AdverseEvents} {
			if *st == checker.StatusCancelled {
				*st = checker.StatusOK
			}
		}
	}
	if got != want.sources {
		tb.Errorf("sources %+v, want %+v", body.Sources, want.sources)
	}
	if want.status != http.StatusOK {
		return
	}
	complete := want.sources == checker.SourceStatuses{Subject: "ok", Exposure: "ok", AdverseEvents: "ok"}
	if body.Complete != complete {
		tb.Errorf("complete = %v, want %v", body.Complete, complete)
	}
	rules := map[string]int{}
	for _, s := range body.Signals {
		rules[s.Rule]++
	}
	if rules[string(clinical.RuleLabOutOfRange)] != 1 {
		tb.Errorf("lab signals %d, want 1 (the ALT at 5×ULN)", rules[string(clinical.RuleLabOutOfRange)])
	}
	if got := rules[string(clinical.RuleCheckIncomplete)]; (got == 1) == complete {
		tb.Errorf("CHECK_INCOMPLETE signals %d with complete=%v", got, complete)
	}
}

// waitGoroutines polls until at most want goroutines run, or gives up.
func waitGoroutines(want int, limit time.Duration, nudge func()) (int, bool) {
	deadline := time.Now().Add(limit)
	for {
		n := runtime.NumGoroutine()
		if n <= want {
			return n, true
		}
		if time.Now().After(deadline) {
			return n, false
		}
		nudge()
		runtime.Gosched()
		time.Sleep(5 * time.Millisecond)
	}
}

func goroutineDump() string {
	buf := make([]byte, 1<<20)
	return string(buf[:runtime.Stack(buf, true)])
}

type fault struct {
	b         behavior
	status    Status
	cancelled bool
}

type Status = checker.Status

var faults = []fault{
	{hangForever, checker.StatusTimeout, true},
	{slowPastLimit, checker.StatusTimeout, true},
	{slowInTime, checker.StatusOK, false},
	{failWithError, checker.StatusError, false},
	{refuse, checker.StatusUnavailable, false},
	{resetMidway, checker.StatusUnavailable, false},
}

func allOK() checker.SourceStatuses {
	return checker.SourceStatuses{Subject: "ok", Exposure: "ok", AdverseEvents: "ok"}
}

func TestFaultMatrix(t *testing.T) {
	for _, upstream := range []string{"subject", "exposure", "adverse_events"} {
		for _, f := range faults {
			t.Run(upstream+"/"+string(f.b), func(t *testing.T) {
				s := startSystem(t, realChecker, map[string]behavior{upstream: f.b, "subject": orOK(upstream == "subject", f.b)})
				want := expectation{status: http.StatusOK, sources: allOK()}
				setSource(&want.sources, upstream, f.status)
				if f.cancelled {
					want.cancelled = upstream
				}
				if upstream == "subject" && f.status != checker.StatusOK {
					want.status = map[Status]int{checker.StatusTimeout: 504, checker.StatusError: 502, checker.StatusUnavailable: 502}[f.status]
					want.subjectFailed = true
				}
				runScenario(t, s, context.Background(), want)
			})
		}
	}
}

func orOK(cond bool, b behavior) behavior {
	if cond {
		return b
	}
	return behaveOK
}

func setSource(s *checker.SourceStatuses, name string, st Status) {
	switch name {
	case "subject":
		s.Subject = st
	case "exposure":
		s.Exposure = st
	case "adverse_events":
		s.AdverseEvents = st
	}
}

// A client that disconnects mid-check cancels every upstream call.
func TestClientDisconnectCancelsUpstreams(t *testing.T) {
	s := startSystem(t, realChecker, map[string]behavior{"subject": hangForever, "exposure": hangForever, "adverse_events": hangForever})
	ctx, cancel := context.WithTimeout(context.Background(), testDeadline/4)
	defer cancel()
	runScenario(t, s, ctx, expectation{cancelled: "subject"})
	for _, name := range []string{"exposure", "adverse_events"} {
		select {
		case <-s.fakes[name].cancelled:
		case <-time.After(2 * time.Second):
			t.Errorf("%s upstream was not cancelled after the client left", name)
		}
	}
}

// The subject service saying "no such subject" is a 404.
func TestUnknownSubjectIs404(t *testing.T) {
	s := startSystem(t, realChecker, map[string]behavior{})
	resp, err := s.client.Post(s.url+"/api/v1/studies/"+study+"/subjects/nobody/checks", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(b), "not found") {
		t.Fatalf("got %d %s, want 404 naming the subject", resp.StatusCode, b)
	}
	s.closeIdle()
}

// naiveFanOut is the leaky pattern this project exists to prevent: three
// goroutines each sending on an unbuffered channel, and a caller that
// receives from each in turn with no deadline and gives up on the first
// error. It keeps its channels so the test can drain them afterwards.
type naiveFanOut struct {
	mu      sync.Mutex
	pending []chan error
}

func (n *naiveFanOut) build(_ testing.TB, src checker.Sources) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		subj, exp, ev := make(chan error), make(chan error), make(chan error)
		n.mu.Lock()
		n.pending = append(n.pending, subj, exp, ev)
		n.mu.Unlock()
		ctx := r.Context()
		go func() { _, err := src.Subjects.Subject(ctx, study, subjectID); subj <- err }()
		go func() { _, err := src.Exposure.Doses(ctx, study, subjectID); exp <- err }()
		go func() { _, err := src.Events.AdverseEvents(ctx, study, subjectID); ev <- err }()
		for _, ch := range []chan error{subj, exp, ev} {
			if err := <-ch; err != nil {
				http.Error(w, fmt.Sprintf(`{"error":%q}`, err), http.StatusBadGateway)
				return
			}
		}
		w.Write([]byte(`{"complete":true,"sources":{"subject":"ok","exposure":"ok","adverse_events":"ok"},"signals":[]}`))
	})
}

// drain unblocks whatever the naive fan-out left sending, so this test
// process ends clean.
func (n *naiveFanOut) drain() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, ch := range n.pending {
		select {
		case <-ch:
		default:
		}
	}
}

// recorder is a testing.TB that remembers failures instead of failing.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	errors []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}

func (r *recorder) caught(substr string) bool {
	for _, e := range r.errors {
		if strings.Contains(e, substr) {
			return true
		}
	}
	return false
}

// The harness must be able to fail: run the naive fan-out through it and
// require that it reports the leak and the missed deadline.
func TestHarnessCatchesNaiveFanOut(t *testing.T) {
	t.Run("leak when the subject fails", func(t *testing.T) {
		naive := &naiveFanOut{}
		// exposure and AE answer after the subject's error, so their
		// goroutines block forever on the unbuffered send.
		s := startSystem(t, naive.build, map[string]behavior{"subject": failWithError, "exposure": slowInTime, "adverse_events": slowInTime})
		rec := &recorder{TB: t}
		runScenario(rec, s, context.Background(), expectation{status: http.StatusBadGateway})
		naive.drain()
		if !rec.caught("goroutines leaked") {
			t.Fatalf("the harness did not catch the naive fan-out's leak; it reported: %q", rec.errors)
		}
		s.closeIdle()
		if _, ok := waitGoroutines(runtime.NumGoroutine(), 2*time.Second, s.closeIdle); !ok {
			t.Fatal("drained goroutines did not exit")
		}
	})
	t.Run("no deadline when an upstream hangs", func(t *testing.T) {
		naive := &naiveFanOut{}
		s := startSystem(t, naive.build, map[string]behavior{"exposure": hangForever})
		rec := &recorder{TB: t}
		runScenario(rec, s, context.Background(), expectation{status: http.StatusOK, sources: checker.SourceStatuses{Subject: "ok", Exposure: "timeout", AdverseEvents: "ok"}})
		naive.drain()
		if !rec.caught("request failed") && !rec.caught("answered after") {
			t.Fatalf("the harness did not catch the naive fan-out's missing deadline; it reported: %q", rec.errors)
		}
	})
}
