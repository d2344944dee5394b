package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/access"
	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/studygen"
)

// The generated study the page benchmarks read: 20,000 subjects with 100
// lab results each, imported and every subject checked, kept in $TMPDIR
// between runs (building it takes a minute or two).
const (
	pageBenchStudy    = "GEN01"
	pageBenchSubjects = 20_000
	pageBenchLabs     = 100
)

// pageBenchDB builds the generated study's database once and returns
// its path.
func pageBenchDB(b *testing.B) string {
	b.Helper()
	path := filepath.Join(os.TempDir(), "trialwatch-page-bench-v2.db")
	if _, err := os.Stat(path); err == nil {
		return path
	}
	b.Logf("building %s: %d subjects, %d lab results, every subject checked", path, pageBenchSubjects, pageBenchSubjects*pageBenchLabs)
	start := time.Now()
	dir := b.TempDir()
	dm, lb, err := studygen.Write(dir, studygen.Options{Subjects: pageBenchSubjects, LabsPerSubject: pageBenchLabs, Study: pageBenchStudy, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	building := filepath.Join(dir, "gen.db")
	if code := run(context.Background(), []string{"import", "--db", building, "--study", pageBenchStudy, dm, lb}, io.Discard, io.Discard); code != 0 {
		b.Fatalf("import exited with %d", code)
	}
	// A node checks every subject the import queued, as a server would.
	func() {
		n := runNode(b, config{rateLimit: 1e6, rateBurst: 1e6, guessRate: 1e6, guessBurst: 1e6, db: building}, nil)
		deadline := time.Now().Add(10 * time.Minute)
		for {
			var queued int
			if err := n.db.QueryRow(`SELECT COUNT(*) FROM check_jobs`).Scan(&queued); err != nil {
				b.Fatal(err)
			}
			if queued == 0 {
				return
			}
			if time.Now().After(deadline) {
				b.Fatalf("%d checks still queued after 10 minutes", queued)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	if err := os.Rename(building, path); err != nil {
		b.Fatal(err)
	}
	b.Logf("built in %v", time.Since(start).Round(time.Second))
	return path
}

// BenchmarkPlotPagesGenerated measures the server time of the plot pages
// on the generated study of 20,000 subjects, in process (no network): the
// subject page against the API answer it is made from, the subject list
// (its first page of 100) and eDISH (20,000 points) against theirs.
// Goal: the subject page within 100 ms.
func BenchmarkPlotPagesGenerated(b *testing.B) {
	if testing.Short() {
		b.Skip("builds a study of 20,000 subjects")
	}
	path := pageBenchDB(b)
	// The node serves a copy: signing in and creating users writes.
	db := filepath.Join(b.TempDir(), "gen.db")
	copyFile(b, path, db)
	n := runNode(b, config{rateLimit: 1e6, rateBurst: 1e6, guessRate: 1e6, guessBurst: 1e6, db: db}, nil)
	ctx := context.Background()
	grants, _ := auth.ParseGrants(pageBenchStudy, "")
	if _, err := n.users.AddUser(ctx, nil, "monitor", auth.RoleMonitor, grants, "", time.Now()); err != nil {
		b.Fatal(err)
	}
	token, _, err := n.users.CreateToken(ctx, nil, "monitor", "bench", time.Hour, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	// The subject with the most findings: the fullest subject page.
	var subject string
	if err := n.db.QueryRow(`SELECT usubjid FROM signals WHERE study = $1 GROUP BY usubjid ORDER BY COUNT(*) DESC, usubjid LIMIT 1`,
		pageBenchStudy).Scan(&subject); err != nil {
		b.Fatal(err)
	}
	serve := func(b *testing.B, path string, page bool) {
		req := httptest.NewRequest("GET", path, nil)
		if page {
			req.AddCookie(&http.Cookie{Name: access.SessionCookie, Value: token})
		} else {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		cpu := processCPU()
		for b.Loop() {
			w := httptest.NewRecorder()
			n.router.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("GET %s: %d %.300s", path, w.Code, w.Body)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
		// On a machine other work keeps busy, wall time says little; the
		// process's CPU time still says what a page costs.
		b.ReportMetric(float64((processCPU()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	}
	for _, c := range []struct {
		name, path string
		page       bool
	}{
		{"SubjectAPI", "/api/v1/studies/GEN01/subjects/" + subject, false},
		{"SubjectPage", "/ui/studies/GEN01/subjects/" + subject, true},
		{"SubjectListAPI", "/api/v1/studies/GEN01/subjects", false},
		{"SubjectListPage", "/ui/studies/GEN01/subjects", true},
		{"EDISHAPI", "/api/v1/studies/GEN01/edish", false},
		{"EDISHPage", "/ui/studies/GEN01/edish", true},
	} {
		b.Run(c.name, func(b *testing.B) { serve(b, c.path, c.page) })
	}
}

func copyFile(b *testing.B, from, to string) {
	b.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		b.Fatal(err)
	}
}

// processCPU is the CPU time (user and system) the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
