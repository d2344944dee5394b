package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/trialwatch/trialwatch/pilotdata"
	"github.com/trialwatch/trialwatch/studygen"
)

// config is one soak run's.
type config struct {
	Duration      time.Duration
	Mode          string // split or all-in-one
	DB            string // "" for SQLite files in Dir, or a postgres:// URL
	Dir           string
	Bin           string
	UploadRows    int // LB rows of the large upload
	CheckDeadline time.Duration
	Stall         time.Duration // how long the upstream is stopped
	Settle        time.Duration // how long goroutines and heap get to come back
	// StrictDeadline fails the run on any check answered past the
	// deadline + 50 ms, not only on a p99 past it.
	StrictDeadline bool
	Log            io.Writer
}

// loginUsers is how many monitors the logins take turns as: a user name
// may log in five times a minute, the soak's logins come every 2 s.
const loginUsers = 8

// monitorOf names the ith monitor (mod loginUsers).
func monitorOf(i int) string {
	if i %= loginUsers; i > 0 {
		return fmt.Sprintf("%s%d", monitorName, i+1)
	}
	return monitorName
}

const (
	adminToken   = "soak-admin-token"
	serviceToken = "soak-internal-service-credential-0123456789"
	monitorName  = "soak.monitor"
	siteName     = "soak.site"
	password     = "soak password, long enough"
	genStudy     = "SOAK01"
	labsPerSub   = 500
)

// soak is one run: its processes, users and what it measured.
type soak struct {
	cfg                    config
	procs                  map[string]*proc
	checker                *proc
	upstream               *proc // the data service stalled and restarted; nil in all-in-one mode
	monitor, site          string
	checkerDB              string   // the checker's database, where the audit trail is
	subjects               []string // pilot subjects to check
	client                 *http.Client
	checks, lists, patches tally
	logins, uploads        tally
	events                 []string // what happened when, for the report
	evMu                   sync.Mutex
	began, trafficBegan    time.Time
}

func (s *soak) logf(format string, args ...any) {
	msg := fmt.Sprintf("%6.1fs  ", time.Since(s.began).Seconds()) + fmt.Sprintf(format, args...)
	s.evMu.Lock()
	s.events = append(s.events, msg)
	s.evMu.Unlock()
	fmt.Fprintln(s.cfg.Log, msg)
}

// setUp builds what the run needs: the pilot study loaded, users and
// tokens, the generated study's files, the processes started.
func (s *soak) setUp(ctx context.Context) error {
	s.began = time.Now()
	s.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: 30 * time.Second}}
	pilot, err := writePilot(s.cfg.Dir)
	if err != nil {
		return err
	}
	dbOf := func(service string) string {
		if s.cfg.DB != "" {
			return s.cfg.DB
		}
		if s.cfg.Mode != "split" {
			return filepath.Join(s.cfg.Dir, "trialwatch.db")
		}
		return filepath.Join(s.cfg.Dir, service+".db") // one SQLite file per service, as the README advises
	}
	loadInto := []string{"checker"}
	if s.cfg.Mode == "split" && s.cfg.DB == "" {
		loadInto = []string{"checker", "subjects", "exposure", "events"}
	}
	for _, svc := range loadInto {
		if _, err := cli(ctx, s.cfg.Bin, "", append([]string{"import", "--db", dbOf(svc), "--study", pilotdata.Study}, pilot...)...); err != nil {
			return err
		}
	}
	checkerDB := dbOf("checker")
	s.checkerDB = checkerDB
	sites := make([]string, 50)
	for i := range sites {
		sites[i] = fmt.Sprint(700 + i) // studygen's
	}
	steps := [][]string{
		{"user", "add", "--db", checkerDB, "--name", siteName, "--role", "site", "--study", genStudy, "--sites", strings.Join(sites, ",")},
	}
	for i := range loginUsers {
		steps = append(steps, []string{"user", "add", "--db", checkerDB, "--name", monitorOf(i), "--role", "monitor", "--study", pilotdata.Study, "--password-stdin"})
	}
	for _, args := range steps {
		if _, err := cli(ctx, s.cfg.Bin, password+"\n", args...); err != nil {
			return err
		}
	}
	if s.monitor, err = cli(ctx, s.cfg.Bin, "", "token", "create", "--db", checkerDB, "--user", monitorOf(0)); err != nil {
		return err
	}
	if s.site, err = cli(ctx, s.cfg.Bin, "", "token", "create", "--db", checkerDB, "--user", siteName); err != nil {
		return err
	}
	subjects := max(1, s.cfg.UploadRows/labsPerSub)
	s.logf("generating %s: %d subjects, %d lab results", genStudy, subjects, subjects*labsPerSub)
	_, lb, err := studygen.Write(s.cfg.Dir, studygen.Options{Subjects: subjects, LabsPerSubject: labsPerSub, Study: genStudy})
	if err != nil {
		return err
	}
	if err := writeChanged(lb, filepath.Join(s.cfg.Dir, "lb-changed.csv")); err != nil {
		return err
	}
	if err := s.loadSubjects(ctx); err != nil {
		return err
	}
	env := []string{"TRIALWATCH_ADMIN_TOKEN=" + adminToken, "TRIALWATCH_SERVICE_TOKEN=" + serviceToken}
	// Limits high enough for the soak's one monitor token and one
	// address: it measures the service, not its rate limits.
	common := []string{"--rate-limit", "10000", "--rate-burst", "10000", "--bad-auth-burst", "1000", "--bad-auth-limit", "100",
		"--check-deadline", s.cfg.CheckDeadline.String(), "--shutdown-grace", "20s"}
	s.procs = map[string]*proc{}
	add := func(name string, args ...string) (*proc, error) {
		p, err := newProc(s.cfg.Dir, s.cfg.Bin, name, env, args...)
		if err == nil {
			s.procs[name] = p
			err = p.start(ctx)
		}
		return p, err
	}
	if s.cfg.Mode != "split" {
		s.checker, err = add("trialwatch", append([]string{"serve", "--db", checkerDB}, common...)...)
		return err
	}
	var up [3]*proc
	for i, svc := range []string{"subjects", "exposure", "events"} {
		if up[i], err = add(svc, "serve", svc, "--db", dbOf(svc)); err != nil {
			return err
		}
	}
	s.upstream = up[2]
	s.checker, err = add("checker", append([]string{"serve", "checker", "--db", checkerDB,
		"--subjects-url", up[0].url(), "--exposure-url", up[1].url(), "--events-url", up[2].url()}, common...)...)
	return err
}

// loadSubjects reads the pilot's subject list, the checks' targets.
func (s *soak) loadSubjects(ctx context.Context) error {
	rc, err := pilotdata.Open("dm")
	if err != nil {
		return err
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		return err
	}
	for i, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ",")
		if i == 0 || len(f) < 3 {
			continue
		}
		s.subjects = append(s.subjects, strings.Trim(f[2], `"`))
	}
	if len(s.subjects) == 0 {
		return errors.New("no subjects in the pilot's DM")
	}
	return ctx.Err()
}

// writePilot writes the embedded pilot's domains as files to import.
func writePilot(dir string) ([]string, error) {
	var paths []string
	for _, d := range pilotdata.Domains {
		rc, err := pilotdata.Open(d)
		if err != nil {
			return nil, err
		}
		p := filepath.Join(dir, "pilot-"+strings.ToLower(d)+".csv")
		b, err := io.ReadAll(rc)
		rc.Close()
		if err == nil {
			err = os.WriteFile(p, b, 0o644)
		}
		if err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// call makes one API request and tallies its answer in t.
func (s *soak) call(run context.Context, t *tally, timeout time.Duration, method, path, token, contentType string, body io.Reader) (int, []byte) {
	ctx, cancel := context.WithTimeout(run, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.checker.url()+path, body)
	if err != nil {
		t.add(0, 0, err, method+" "+path)
		return 0, nil
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	began := time.Now()
	resp, err := s.client.Do(req)
	var b []byte
	if err == nil {
		b, err = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	took := time.Since(began)
	if err != nil && run.Err() != nil {
		return 0, nil // the load ended, not the server's answer
	}
	if err != nil {
		t.add(0, took, err, method+" "+path)
		return 0, nil
	}
	t.add(resp.StatusCode, took, nil, method+" "+path)
	return resp.StatusCode, b
}

// traffic runs the mixed load until ctx ends: checks, signal lists and
// status changes by a monitor, logins, and the site's large upload again
// and again. Each loop's goroutine ends with ctx; wait returns once all
// have.
func (s *soak) traffic(ctx context.Context) (wait func()) {
	var wg sync.WaitGroup
	loop := func(n int, every time.Duration, fn func(ctx context.Context, rng *rand.Rand)) {
		for i := range n {
			wg.Go(func() { // ends when ctx does
				rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
				for ctx.Err() == nil {
					fn(ctx, rng)
					select {
					case <-ctx.Done():
					case <-time.After(every):
					}
				}
			})
		}
	}
	study := "/api/v1/studies/" + pilotdata.Study
	checkTimeout := s.cfg.CheckDeadline + 30*time.Second // to see how late an answer is, not to cut it
	loop(3, 20*time.Millisecond, func(ctx context.Context, rng *rand.Rand) {
		subject := s.subjects[rng.IntN(len(s.subjects))]
		s.call(ctx, &s.checks, checkTimeout, "POST", study+"/subjects/"+subject+"/checks", s.monitor, "application/json", nil)
	})
	loop(2, 50*time.Millisecond, func(ctx context.Context, rng *rand.Rand) {
		q := []string{"?limit=50", "?status=new&limit=20", "?min_severity=high", "?sort=-severity&limit=100"}[rng.IntN(4)]
		s.call(ctx, &s.lists, 30*time.Second, "GET", study+"/signals"+q, s.monitor, "", nil)
	})
	loop(1, 100*time.Millisecond, func(ctx context.Context, rng *rand.Rand) {
		s.changeStatus(ctx, rng)
	})
	logins := 0
	loop(1, 2*time.Second, func(ctx context.Context, rng *rand.Rand) {
		logins++ // one goroutine: taking turns, the monitors stay within their limit per user name
		body := fmt.Sprintf(`{"user": %q, "password": %q}`, monitorOf(logins), password)
		s.call(ctx, &s.logins, 30*time.Second, "POST", "/api/v1/login", "", "application/json", strings.NewReader(body))
	})
	wg.Go(func() { // ends when ctx does
		s.uploadLoop(ctx)
	})
	return wg.Wait
}

// changeStatus acknowledges a new signal, or closes an acknowledged one.
func (s *soak) changeStatus(ctx context.Context, rng *rand.Rand) {
	study := "/api/v1/studies/" + pilotdata.Study
	from, body := "new", `{"status": "acknowledged"}`
	if rng.IntN(2) == 0 {
		from, body = "acknowledged", `{"status": "closed", "reason": "soak: reviewed"}`
	}
	code, b := s.call(ctx, &s.lists, 30*time.Second, "GET", study+"/signals?limit=20&status="+from, s.monitor, "", nil)
	if code != http.StatusOK {
		return
	}
	var list struct {
		Signals []struct {
			ID int64 `json:"id"`
		} `json:"signals"`
	}
	if json.Unmarshal(b, &list) != nil || len(list.Signals) == 0 {
		return
	}
	id := list.Signals[rng.IntN(len(list.Signals))].ID
	s.call(ctx, &s.patches, 30*time.Second, "PATCH", fmt.Sprintf("%s/signals/%d", study, id), s.monitor, "application/json", strings.NewReader(body))
}

// uploadLoop uploads the generated study's DM, then its LB again and
// again: first new, then with a few results of one subject in twenty
// changed (lb-changed.csv), then as first, and so on: each upload after
// the first compares 2,000,000 rows (by default) and changes a few
// thousand, of hundreds of subjects.
func (s *soak) uploadLoop(ctx context.Context) {
	path := "/api/v1/studies/" + genStudy + "/uploads"
	send := func(domain, file string) bool {
		f, err := os.Open(filepath.Join(s.cfg.Dir, file))
		if err != nil {
			s.uploads.add(0, 0, err, "opening "+file)
			return false
		}
		defer f.Close()
		began := time.Now()
		code, b := s.call(ctx, &s.uploads, 30*time.Minute, "POST", path+"?format=csv&domain="+domain, s.site, "text/csv", f)
		if code == 0 {
			return false
		}
		var res struct {
			Domains map[string]struct {
				Inserted, Updated, Unchanged int
			} `json:"domains"`
		}
		json.Unmarshal(b, &res)
		d := res.Domains[domain]
		s.logf("upload of %s: %d in %v (inserted %d, updated %d, unchanged %d)", file, code, time.Since(began).Round(time.Millisecond), d.Inserted, d.Updated, d.Unchanged)
		return code == http.StatusOK
	}
	if !send("DM", "dm.csv") {
		return
	}
	for i := 0; ctx.Err() == nil; i++ {
		if !send("LB", []string{"lb.csv", "lb-changed.csv"}[i%2]) {
			select { // a refusal is in the tally; do not spin on it
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
}

// faults stops the upstream data service for cfg.Stall a quarter into the
// run, then kills and restarts it at three fifths; it returns when done
// or when ctx ends.
func (s *soak) faults(ctx context.Context) {
	if s.upstream == nil {
		s.logf("all-in-one mode: no upstream process to stall")
		return
	}
	at := func(frac float64) bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(time.Until(s.trafficBegan.Add(time.Duration(frac * float64(s.cfg.Duration))))):
			return true
		}
	}
	if !at(0.25) {
		return
	}
	s.logf("stalling %s (SIGSTOP) for %v", s.upstream.name, s.cfg.Stall)
	s.upstream.signal(syscall.SIGSTOP)
	select {
	case <-ctx.Done():
	case <-time.After(s.cfg.Stall):
	}
	s.upstream.signal(syscall.SIGCONT)
	s.logf("%s resumed (SIGCONT)", s.upstream.name)
	if !at(0.6) {
		return
	}
	s.logf("killing %s (SIGKILL) and starting it again", s.upstream.name)
	s.upstream.kill()
	if err := s.upstream.start(ctx); err != nil {
		s.logf("restarting %s failed: %v", s.upstream.name, err)
		return
	}
	s.logf("%s ready again after %v", s.upstream.name, s.upstream.readyAfter.Round(time.Millisecond))
}

// tearDown stops every process.
func (s *soak) tearDown() {
	for _, p := range s.procs {
		if err := p.stop(30 * time.Second); err != nil {
			s.logf("stopping %s: %v", p.name, err)
		}
	}
}

// writeChanged writes the lab file from as it would be with the first
// five results (LBSEQ 1-5) of every twentieth subject changed.
func writeChanged(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	r, w := csv.NewReader(bufio.NewReaderSize(in, 1<<20)), csv.NewWriter(out)
	r.ReuseRecord = true
	var col map[string]int
	subject, last := -1, ""
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			out.Close()
			return err
		}
		if col == nil {
			col = map[string]int{}
			for i, name := range rec {
				col[name] = i
			}
		} else {
			if id := rec[col["USUBJID"]]; id != last {
				subject, last = subject+1, id
			}
			if seq, _ := strconv.Atoi(rec[col["LBSEQ"]]); subject%20 == 0 && seq <= 5 {
				v, _ := strconv.ParseFloat(rec[col["LBSTRESN"]], 64)
				rec[col["LBSTRESN"]] = strconv.FormatFloat(v+1, 'f', -1, 64)
			}
		}
		if err := w.Write(rec); err != nil {
			out.Close()
			return err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
