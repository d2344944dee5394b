package main

import (
	"encoding/csv"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/studygen"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestTallySummary(t *testing.T) {
	tl := tally{bound: 99 * time.Millisecond, since: time.Now()}
	for i := 1; i <= 100; i++ {
		tl.add(200, time.Duration(i)*time.Millisecond, nil, "GET /x")
	}
	tl.add(503, 2*time.Second, nil, "GET /x")
	tl.add(0, 5*time.Second, errors.New("connection reset"), "GET /x")
	s := tl.summary()
	if s.Answered != 101 || s.Failed != 1 || s.ServerErrors != 1 || s.Codes[200] != 100 {
		t.Errorf("counts: %+v", s)
	}
	if s.P50 != 51*time.Millisecond || s.P99 != 100*time.Millisecond || s.Max != 2*time.Second {
		t.Errorf("p50 %v, p99 %v, max %v; want 51ms, 100ms, 2s", s.P50, s.P99, s.Max)
	}
	if s.Over != 2 || len(s.Late) != 2 || !strings.HasPrefix(s.Late[1], "2s at ") { // 100 ms and the 503's 2 s
		t.Errorf("%d over 99ms (%q), want 2", s.Over, s.Late)
	}
	if len(s.Examples) != 2 || !strings.Contains(s.Examples[0], "503") || !strings.Contains(s.Examples[1], "no answer") {
		t.Errorf("examples %q: want the 503 and the unanswered one", s.Examples)
	}
}

func TestPercentileOfNothing(t *testing.T) {
	if p := percentile(nil, 0.99); p != 0 {
		t.Errorf("percentile of none: %v", p)
	}
}

// Connections come and go with load; what must come back to its level is
// everything else.
func TestPooledGoroutines(t *testing.T) {
	for entry, want := range map[string]bool{
		"net/http.(*conn).serve":                                          true,
		"net/http.(*persistConn).readLoop":                                true,
		"database/sql.(*DB).connectionOpener":                             true,
		"github.com/trialwatch/trialwatch/checker.(*Checker).check.func1": false,
		"main.main": false,
	} {
		if got := pooled(entry); got != want {
			t.Errorf("pooled(%q) = %v, want %v", entry, got, want)
		}
	}
}

func TestValidate(t *testing.T) {
	good := config{Duration: time.Minute, Mode: "split", UploadRows: 1000, CheckDeadline: time.Second, Stall: time.Second, Settle: time.Second}
	if err := validate(good); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []func(*config){
		func(c *config) { c.Duration = 0 },
		func(c *config) { c.Mode = "both" },
		func(c *config) { c.UploadRows = 10 },
		func(c *config) { c.Stall = -time.Second },
	} {
		c := good
		bad(&c)
		if err := validate(c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
}

// The changed lab file differs from the generated one in the first five
// results of every twentieth subject, in LBSTRESN alone.
func TestWriteChanged(t *testing.T) {
	dir := t.TempDir()
	_, lb, err := studygen.Write(dir, studygen.Options{Subjects: 40, LabsPerSubject: 10, Study: "T"})
	if err != nil {
		t.Fatal(err)
	}
	changed := filepath.Join(dir, "changed.csv")
	if err := writeChanged(lb, changed); err != nil {
		t.Fatal(err)
	}
	read := func(path string) [][]string {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	a, b := read(lb), read(changed)
	if len(a) != len(b) || len(a) != 401 {
		t.Fatalf("%d and %d records, want 401 each", len(a), len(b))
	}
	differ := 0
	for i := range a {
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				differ++
				if a[0][j] != "LBSTRESN" {
					t.Errorf("record %d: %s changed", i, a[0][j])
				}
			}
		}
	}
	if differ != 2*5 { // subjects 0 and 20
		t.Errorf("%d values changed, want 10", differ)
	}
}
