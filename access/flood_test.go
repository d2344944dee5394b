package access

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// Flood shape: floodAddrs clients, each from its own loopback address,
// each trying a login every floodEvery (race_off_test.go), in
// floodRounds bursts of floodPhase. That is 160 tries a second: at
// bcrypt cost 12 (a quarter second of a core each) forty cores' worth of
// hashing, were every try hashed.
const (
	floodAddrs  = 32
	floodRounds = 3
	floodPhase  = time.Second
)

// Latency bound: under the flood, the 95th percentile of an
// authenticated request may be at most latencyRatio times its 95th
// percentile in the baseline phases, plus latencySlack. A baseline phase
// follows each burst of the flood and keeps a core hashing, as the
// bounded pool does under the flood, so that what the ratio measures is
// the flood's own cost, and a machine busy with other work slows both
// sides alike. With hashing unbounded, the same flood held such a
// request for 0.8–1.1 s.
const (
	latencyRatio = 4
	latencySlack = 100 * time.Millisecond
)

// TestLoginFloodLeavesTheAPIResponsive floods the login route from many
// client addresses, with made-up names and the name of a real user,
// while timing an authenticated request, against its time in baseline
// phases between the bursts of the flood. The global login limit is set
// out of the way: the per-user limit and the bounded hashing pool alone
// must hold. Every try must be answered 401 or 429 with Retry-After
// (never 5xx), leave one audit record, and the authenticated request must
// stay within its baseline latency. It runs under the race detector too,
// with cheaper hashes (floodHashCost): the ratio is to a baseline under
// the same slowdown.
func TestLoginFloodLeavesTheAPIResponsive(t *testing.T) {
	if testing.Short() {
		t.Skip("floods the login route for seconds; skipped with -short")
	}
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	users, err := auth.Open(ctx, db, auth.WithHashing(1, 2), auth.WithHashCost(floodHashCost))
	if err != nil {
		t.Fatal(err)
	}
	trail, err := audit.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	r := NewRouter(Rules(), WithRateLimit(10_000, 10_000))
	r.Attach(users, trail)
	a := NewAccounts(db, users, trail, nil)
	a.LimitAll(1e6, 1e6)
	a.Register(r)
	grants, _ := auth.ParseGrants("S1", "")
	if _, err := users.AddUser(ctx, nil, "jane", auth.RoleMonitor, grants, "correct horse battery", time.Now()); err != nil {
		t.Fatal(err)
	}
	token, _, err := users.CreateToken(ctx, nil, "jane", "probe", time.Hour, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(SecureHeaders(r, false))
	defer srv.Close() // after every client below is done

	probe := newFloodClient(t, "127.0.0.1")
	me := func() (time.Duration, int) {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		resp, err := probe.Do(req)
		if err != nil {
			t.Errorf("probe: %v", err)
			return time.Since(start), 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return time.Since(start), resp.StatusCode
	}
	// Probes one after another, a little apart, until ctx ends.
	probeCodes := map[int]int{}
	probes := func(ctx context.Context) (lat []time.Duration) {
		for ctx.Err() == nil || len(lat) == 0 {
			d, code := me()
			lat, probeCodes[code] = append(lat, d), probeCodes[code]+1
			time.Sleep(5 * time.Millisecond)
		}
		return lat
	}
	me() // the first request sets up the connection and the token's last use

	type result struct {
		codes      map[int]int
		noRetry    int
		attempts   int
		errorsSeen []string
	}
	results := make([]result, floodAddrs)
	clients := make([]*http.Client, floodAddrs)
	for i := range floodAddrs {
		clients[i] = newFloodClient(t, fmt.Sprintf("127.0.0.%d", 10+i))
		results[i].codes = map[int]int{}
	}
	// flood runs one burst: one goroutine per address, each ending at
	// the phase's end; it returns once all have.
	flood := func(round int, phase context.Context) {
		var wg sync.WaitGroup
		defer wg.Wait()
		for i := range floodAddrs {
			wg.Go(func() { // returns when phase ends
				res := &results[i]
				tick := time.NewTicker(floodEvery)
				defer tick.Stop()
				for n := 0; ; n++ {
					name := fmt.Sprintf("flood%d-%d-%d", round, i, n) // no such user: hashed against the dummy
					if n%4 == 0 {
						name = "jane" // a real user: her own limit refuses most
					}
					res.attempts++
					code, retry, err := floodLogin(clients[i], srv.URL, name)
					switch {
					case err != nil:
						res.errorsSeen = append(res.errorsSeen, err.Error())
					case code == http.StatusTooManyRequests && retry == "":
						res.noRetry++
					}
					res.codes[code]++
					select {
					case <-phase.Done():
						return
					case <-tick.C:
					}
				}
			})
		}
	}
	// hashCore keeps a core hashing until phase ends, as the pool does
	// under the flood; it returns once its last hash is done, the sooner
	// as its hashes are a quarter of the flood's.
	hashCore := func(phase context.Context) {
		for phase.Err() == nil {
			bcrypt.GenerateFromPassword([]byte("correct horse battery"), floodHashCost-2)
		}
	}

	var loaded, baseline []time.Duration
	for round := range floodRounds {
		phase, cancel := context.WithTimeout(ctx, floodPhase)
		var wg sync.WaitGroup
		wg.Go(func() { flood(round, phase) }) // returns when phase ends
		loaded = append(loaded, probes(phase)...)
		wg.Wait()
		cancel()

		phase, cancel = context.WithTimeout(ctx, floodPhase)
		wg.Go(func() { hashCore(phase) }) // returns when phase ends
		baseline = append(baseline, probes(phase)...)
		wg.Wait()
		cancel()
	}

	codes, attempts := map[int]int{}, 0
	for i, res := range results {
		for c, n := range res.codes {
			codes[c] += n
		}
		attempts += res.attempts
		if len(res.errorsSeen) > 0 {
			t.Errorf("flooder %d: %d requests failed, first: %s", i, len(res.errorsSeen), res.errorsSeen[0])
		}
		if res.noRetry > 0 {
			t.Errorf("flooder %d: %d answers 429 without Retry-After", i, res.noRetry)
		}
	}
	for c := range codes {
		if c != http.StatusUnauthorized && c != http.StatusTooManyRequests {
			t.Errorf("flood answers: %d × %d, want only 401 and 429", codes[c], c)
		}
	}
	if len(probeCodes) != 1 || probeCodes[http.StatusOK] == 0 {
		t.Errorf("authenticated requests answered %v, want only 200", probeCodes)
	}

	base, p50, p95 := percentile(baseline, 95), percentile(loaded, 50), percentile(loaded, 95)
	bound := latencyRatio*base + latencySlack
	t.Logf("flood: %d login tries from %d addresses in %d bursts of %v, answers %v; GET /api/v1/me in the baseline phases p50 %v, p95 %v (n=%d), under the flood p50 %v, p95 %v, max %v (n=%d), bound %v",
		attempts, floodAddrs, floodRounds, floodPhase, codes, percentile(baseline, 50), base, len(baseline), p50, p95, slices.Max(loaded), len(loaded), bound)
	if p95 > bound {
		t.Errorf("under the login flood, p95 of an authenticated request %v > %d × its baseline p95 %v + %v", p95, latencyRatio, base, latencySlack)
	}
	if codes[http.StatusTooManyRequests] == 0 || codes[http.StatusUnauthorized] == 0 {
		t.Errorf("flood answers %v: want both checked (401) and refused (429) tries", codes)
	}

	// Nothing unaudited: one record per try, from every address.
	recs, err := trail.Query(ctx, audit.Filter{AllStudies: true, Entity: "login", Limit: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	sources, actions := map[string]bool{}, map[string]int{}
	for _, rec := range recs {
		sources[rec.Source] = true
		actions[rec.Action]++
	}
	if len(recs) != attempts {
		t.Errorf("%d login records for %d tries", len(recs), attempts)
	}
	if len(sources) != floodAddrs {
		t.Errorf("records from %d addresses, want %d: %v", len(sources), floodAddrs, slices.Sorted(maps.Keys(sources)))
	}
	st := trail.AppendStats()
	t.Logf("login records by action: %v; %d records appended on their own in %d transactions", actions, st.Records, st.Transactions)
	verifyLog(t, trail)
}

// newFloodClient is an HTTP client whose connections come from the
// loopback address addr, so the server sees a client of that address.
// Its idle connections close when the test ends.
func newFloodClient(t *testing.T, addr string) *http.Client {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(addr)}, Timeout: 5 * time.Second}
	tr := &http.Transport{DialContext: dialer.DialContext, MaxIdleConnsPerHost: 1}
	t.Cleanup(tr.CloseIdleConnections)
	if c, err := dialer.Dial("tcp", "127.0.0.1:1"); err != nil && strings.Contains(err.Error(), "assign requested address") {
		t.Skipf("cannot connect from loopback address %s: %v", addr, err)
	} else if err == nil {
		c.Close()
	}
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func floodLogin(c *http.Client, base, name string) (code int, retryAfter string, err error) {
	resp, err := c.Post(base+"/api/v1/login", "application/json", strings.NewReader(loginBody(name, "not the password")))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

// percentile is the p-th percentile of ds, nearest rank; ds must not be
// empty.
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[max(0, (len(s)*p+99)/100-1)]
}
