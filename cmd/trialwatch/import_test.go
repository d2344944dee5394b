package main

import (
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/pilotdata"
)

// pilotCSV writes the pilot's domain as a CSV file in dir.
func pilotCSV(t *testing.T, dir, domain string) string {
	t.Helper()
	rc, err := pilotdata.Open(domain)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	path := filepath.Join(dir, domain+".csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, rc); err != nil {
		t.Fatal(err)
	}
	return path
}

// import DIR imports the domains trialwatch reads and lists the files it
// skipped; off a terminal its progress is log lines, with rows/s and
// the time left.
func TestImportFolderSkipsOtherDomains(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"dm", "ae", "lb"} {
		pilotCSV(t, dir, d)
	}
	os.WriteFile(filepath.Join(dir, "sv.csv"), []byte(`"STUDYID","DOMAIN","USUBJID","SVSEQ"`+"\n"+`"CDISCPILOT01","SV","01-701-1015",1`+"\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "define.xml"), []byte("<ODM/>"), 0o644)
	defer func(every time.Duration) { progressEvery = every }(progressEvery)
	progressEvery = 0 // a line on every step of the read

	db := filepath.Join(t.TempDir(), "tw.db")
	code, out, errOut := runCmd(t, "import", dir, "--db", db, "--study", pilotdata.Study)
	if code != 0 {
		t.Fatalf("import %s: exit %d\n%s%s", dir, code, out, errOut)
	}
	if !strings.Contains(out, "306 subjects, 0 doses, 1191 adverse events, 59580 lab results") ||
		!strings.Contains(out, "skipped 2 file(s) of domains or formats trialwatch does not read") {
		t.Errorf("stdout:\n%s", out)
	}
	for _, want := range []string{
		"skipped " + filepath.Join(dir, "define.xml") + ": not a format trialwatch reads",
		"skipped " + filepath.Join(dir, "sv.csv") + ": domain SV is not read by trialwatch",
		`level=INFO msg=finished step="importing dm.csv" elapsed=`,
		` rows=306 rows_per_s=`,
		` rows=59580 rows_per_s=`,
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr has no %q:\n%s", want, errOut)
		}
	}
	if !regexp.MustCompile(`msg="in progress" step="importing lb.csv" elapsed=\S+ rows=\d+ rows_per_s=\d+ done=\d+\.\d% size="[\d.]+ MiB" eta=\S+`).MatchString(errOut) {
		t.Errorf("no progress line with rows/s and the time left:\n%s", errOut)
	}
	if strings.Contains(errOut, "\r") || strings.Contains(errOut, "\033") {
		t.Error("control characters in a log that is not a terminal")
	}
}

// LB without DM: one line per unknown subject, with its rows and lines,
// and the true total, not a hundred copies of one message.
func TestImportWithoutDMGroupsTheUnknownSubjects(t *testing.T) {
	dir := t.TempDir()
	lb := pilotCSV(t, dir, "lb")
	code, _, errOut := runCmd(t, "import", "--db", filepath.Join(dir, "tw.db"), "--study", pilotdata.Study, lb)
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, errOut)
	}
	var problems []string
	for _, line := range strings.Split(strings.TrimSpace(errOut), "\n") {
		if !strings.Contains(line, "level=INFO") {
			problems = append(problems, line)
		}
	}
	want0 := "trialwatch: " + lb + `:2: column USUBJID: subject "01-701-1015" is neither in DM nor known to the study: `
	if len(problems) != 102 || !strings.HasPrefix(problems[0], want0) ||
		problems[101] != lb+": in all 59580 rows of 254 subject(s) neither in DM nor known to the study" {
		t.Errorf("%d lines, want 102 starting %q and ending with the total:\n%s", len(problems), want0, strings.Join(problems, "\n"))
	}
}
