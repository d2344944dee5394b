package main

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// Replicas end to end: two `serve checker` processes of the built binary
// on one PostgreSQL schema, with the data services in processes of their
// own. An import queues 2,000 checks; each runs exactly once, and both
// replicas run some. Then one token hammering both replicas gets one
// rate limit, not one per replica; so do bad credentials from one client
// and failed logins of one user.
func TestReplicasEndToEnd(t *testing.T) {
	dsn := sqldbtest.PostgresDSN(t) // skips, saying why, without TRIALWATCH_TEST_PG
	bin := buildBinary(t)
	ctx := context.Background()
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("trialwatch %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return strings.TrimSpace(string(out))
	}
	const subjects, study = 2000, "GEN01"
	data := t.TempDir()
	cli("gen-study", "--subjects", strconv.Itoa(subjects), "--labs-per-subject", "20", "--study", study, "--out", data)

	subj := start(t, bin, "subjects", "serve", "subjects", "--db", dsn)
	expo := start(t, bin, "exposure", "serve", "exposure", "--db", dsn)
	evts := start(t, bin, "events", "serve", "events", "--db", dsn)
	const rate, burst, guessRate, guessBurst = 5, 10, 1, 20
	var replicas []*proc
	for _, name := range []string{"replica-a", "replica-b"} {
		replicas = append(replicas, start(t, bin, name, "serve", "checker", "--db", withAppName(t, dsn, name),
			"--subjects-url", subj.url(), "--exposure-url", expo.url(), "--events-url", evts.url(),
			"--rate-limit", strconv.Itoa(rate), "--rate-burst", strconv.Itoa(burst),
			"--bad-auth-limit", strconv.Itoa(guessRate), "--bad-auth-burst", strconv.Itoa(guessBurst)))
	}

	db, err := sqldb.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Every claim of a job is recorded, with the replica that made it
	// (its connections' application_name): a claim is a check run.
	if _, err := db.ExecContext(ctx, `
		CREATE TABLE check_claims (usubjid TEXT, generation BIGINT, replica TEXT);
		CREATE FUNCTION record_claim() RETURNS trigger AS $$ BEGIN
			INSERT INTO check_claims VALUES (NEW.usubjid, NEW.claimed_generation, current_setting('application_name'));
			RETURN NULL;
		END $$ LANGUAGE plpgsql;
		CREATE TRIGGER record_claim AFTER UPDATE ON check_jobs
			FOR EACH ROW WHEN (NEW.attempts = OLD.attempts + 1) EXECUTE FUNCTION record_claim();`); err != nil {
		t.Fatal(err)
	}

	// One import, one transaction: 2,000 jobs queued at once, found by
	// both replicas' workers polling.
	queued := time.Now()
	if out := cli("import", "--db", dsn, "--study", study, filepath.Join(data, "dm.csv"), filepath.Join(data, "lb.csv")); !strings.Contains(out, "2000 subjects") {
		t.Fatalf("import: %s", out)
	}
	imported := time.Since(queued)
	count := func(query string, args ...any) int {
		t.Helper()
		var n int
		if err := db.QueryRowContext(ctx, query, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	for deadline := time.Now().Add(45 * time.Second); count(`SELECT COUNT(*) FROM check_jobs`) > 0; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d checks still queued after 45s\n%s", count(`SELECT COUNT(*) FROM check_jobs`), subjects, replicas[0].output())
		}
	}
	t.Logf("import %v, queue drained %v after it", imported.Round(time.Millisecond), (time.Since(queued) - imported).Round(time.Millisecond))

	if n := count(`SELECT COUNT(*) FROM (SELECT DISTINCT usubjid, generation FROM check_claims) c`); n != subjects {
		t.Errorf("%d subjects' jobs claimed, want %d", n, subjects)
	}
	if n := count(`SELECT COUNT(*) FROM (SELECT usubjid, generation FROM check_claims GROUP BY 1, 2 HAVING COUNT(*) > 1) c`); n != 0 {
		t.Errorf("%d jobs claimed more than once", n)
	}
	perReplica := map[string]int{}
	for _, r := range replicas {
		perReplica[r.name] = count(`SELECT COUNT(*) FROM check_claims WHERE replica = $1`, r.name)
		if perReplica[r.name] == 0 {
			t.Errorf("%s claimed no job", r.name)
		}
	}
	// The replicas' own counts of the checks they completed agree.
	var completed map[string]int
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		completed = map[string]int{}
		total := 0
		for _, r := range replicas {
			completed[r.name] = metric(t, r, `trialwatch_check_jobs_total{outcome="complete"}`)
			total += completed[r.name]
		}
		if total >= subjects || time.Now().After(deadline) {
			if total != subjects {
				t.Errorf("the replicas completed %v checks, %d in all, want %d", completed, total, subjects)
			}
			break
		}
	}
	t.Logf("jobs claimed per replica %v, completed per replica %v", perReplica, completed)

	// One token on both replicas at once: one bucket of burst, refilling
	// at rate, between them.
	cli("user", "add", "--name", "mon", "--role", "monitor", "--study", study, "--db", dsn)
	token := cli("token", "create", "--user", "mon", "--db", dsn)
	codes, elapsed := hammer(t, replicas, 1500*time.Millisecond, burst, func(base string) *http.Request {
		req, _ := http.NewRequest("GET", base+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		return req
	})
	checkLimit(t, "one token's requests", codes, http.StatusOK, burst, rate, elapsed)

	// Bad credentials from one client address (loopback), on both.
	codes, elapsed = hammer(t, replicas, 500*time.Millisecond, guessBurst, func(base string) *http.Request {
		req, _ := http.NewRequest("GET", base+"/api/v1/me", nil)
		req.Header.Set("Authorization", "Bearer tw_"+strings.Repeat("z", 43))
		return req
	})
	checkLimit(t, "bad credentials", codes, http.StatusUnauthorized, guessBurst, guessRate, elapsed)

	// Failed logins of one user, on both: ten, then five a minute.
	codes, elapsed = hammer(t, replicas, 0, 10, func(base string) *http.Request {
		req, _ := http.NewRequest("POST", base+"/api/v1/login", strings.NewReader(`{"user":"mon","password":"not the password"}`))
		req.Header.Set("Content-Type", "application/json")
		return req
	})
	checkLimit(t, "failed logins of one user", codes, http.StatusUnauthorized, 10, 5.0/60, elapsed)
}

// withAppName adds application_name to a PostgreSQL DSN: the name the
// server gives the connections.
func withAppName(t *testing.T, dsn, name string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("application_name", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// metric reads one sample (name with labels) from p's /metrics; 0 when
// absent.
func metric(t *testing.T, p *proc, series string) int {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(body(t, "http://"+p.admin+"/metrics", "e2e-token")))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("%s: %s: %v", p.name, sc.Text(), err)
			}
			return int(f)
		}
	}
	return 0
}

// hammer sends requests to every replica at once, one client each, for
// at least d, at least atLeast to each replica and until each has
// answered 429 five times. It returns each replica's answers by status
// and the time from the first request sent to the last answered.
func hammer(t *testing.T, replicas []*proc, d time.Duration, atLeast int, req func(base string) *http.Request) ([]map[int]int, time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	codes := make([]map[int]int, len(replicas))
	errs := make([]error, len(replicas))
	begin := time.Now()
	var wg sync.WaitGroup
	for i, r := range replicas {
		codes[i] = map[int]int{}
		wg.Go(func() {
			for sent := 0; time.Since(begin) < d || sent < atLeast || codes[i][http.StatusTooManyRequests] < 5; sent++ {
				resp, err := client.Do(req(r.url()))
				if err != nil {
					errs[i] = err
					return
				}
				resp.Body.Close()
				codes[i][resp.StatusCode]++
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(begin)
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return codes, elapsed
}

// checkLimit checks that the replicas together answered want (rather
// than 429) to no more requests than one token bucket allows in elapsed,
// and to at least its burst. Each replica was sent at least the burst:
// limits kept per replica would have allowed a burst each.
func checkLimit(t *testing.T, what string, codes []map[int]int, want, burst int, rate float64, elapsed time.Duration) {
	t.Helper()
	allowed, limited := 0, 0
	for i, c := range codes {
		for code, n := range c {
			switch code {
			case want:
				allowed += n
			case http.StatusTooManyRequests:
				limited += n
			default:
				t.Errorf("%s: replica %d answered %d %d times", what, i, code, n)
			}
		}
	}
	most := float64(burst) + rate*elapsed.Seconds()
	t.Logf("%s: %d allowed (per replica: %d, %d), %d limited in %v; one bucket allows %.1f", what, allowed,
		codes[0][want], codes[1][want], limited, elapsed.Round(time.Millisecond), most)
	if float64(allowed) > most+1 || allowed < burst {
		t.Errorf("%s: %d allowed by both replicas in %v, want %d to %.1f (a burst of %d and %g a second, shared)",
			what, allowed, elapsed.Round(time.Millisecond), burst, most, burst, rate)
	}
	if limited == 0 {
		t.Errorf("%s: no request limited", what)
	}
}
