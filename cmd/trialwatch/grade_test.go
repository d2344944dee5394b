package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const lbHeader = `"STUDYID","DOMAIN","USUBJID","LBSEQ","LBTESTCD","LBSTRESN","LBSTRESU","LBSTNRLO","LBSTNRHI","LBBLFL","LBDTC"` + "\n"

// writeFile puts content in the test's temp dir, gzip-compressed when the
// name ends in .gz.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	data := []byte(content)
	if strings.HasSuffix(name, ".gz") {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(data)
		zw.Close()
		data = buf.Bytes()
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func runGrade(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), append([]string{"grade"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// The flags reach package labgrade: --dm gives the baseline, --criteria
// the grading, --out the file with a summary on stdout; without --out the
// CSV goes to stdout. (labgrade's tests cover the grading itself.)
func TestGradeWiring(t *testing.T) {
	lb := writeFile(t, "lb.csv.gz", lbHeader+
		`"S1","LB","01-001",1,"ALT",80,"U/L",6,40,,"2014-01-03"`+"\n"+
		`"S1","LB","01-001",2,"ALT",110,"U/L",6,40,,"2014-02-01"`+"\n")
	dm := writeFile(t, "dm.csv", `"STUDYID","DOMAIN","USUBJID","SITEID","RFXSTDTC"`+"\n"+
		`"S1","DM","01-001","001","2014-01-03"`+"\n")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--lb", lb}, "01-001,2,ALT,Alanine aminotransferase increased,high,,"},
		{[]string{"--lb", lb, "--dm", dm}, "01-001,2,ALT,Alanine aminotransferase increased,high,0,"},
		{[]string{"--lb", lb, "--dm", dm, "--criteria", "ctcae-v4.03", "--study", "S1"}, "01-001,2,ALT,Alanine aminotransferase increased,high,1,"},
	} {
		code, stdout, stderr := runGrade(t, tt.args...)
		if code != 0 || !strings.Contains(stdout, "USUBJID,LBSEQ,LBTESTCD,TERM,DIRECTION,GRADE,REASON\n") || !strings.Contains(stdout, tt.want) {
			t.Errorf("grade %q: exit %d, stdout\n%s\nstderr %s\nwant a row %q", tt.args, code, stdout, stderr, tt.want)
		}
	}
	out := filepath.Join(t.TempDir(), "grades.csv")
	code, stdout, stderr := runGrade(t, "--lb", lb, "--dm", dm, "--out", out)
	if code != 0 || stdout != "graded 2 LB records by ctcae-v5.0 into "+out+": 2 grades (0 of grade 3 or more), 0 not gradable, 0 records without CTCAE criteria\n" {
		t.Errorf("--out: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if data, err := os.ReadFile(out); err != nil || !strings.Contains(string(data), "01-001,2,ALT,Alanine aminotransferase increased,high,0,") {
		t.Errorf("--out wrote %q, %v", data, err)
	}
}

func TestGradeRejectsBadUsage(t *testing.T) {
	lb := writeFile(t, "lb.csv", lbHeader+`"S1","LB","01-001",1,"ALT",30,"U/L",6,40,"Y","2014-01-01"`+"\n")
	dm := writeFile(t, "dm.csv", `"STUDYID","DOMAIN","USUBJID","SITEID"`+"\n"+`"S1","DM","01-001","001"`+"\n")
	for _, tt := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no LB", nil, 2, "trialwatch: --lb: required\n"},
		{"unknown criteria", []string{"--lb", lb, "--criteria", "ctcae-v9"}, 2, `--criteria "ctcae-v9": unknown grading criteria "ctcae-v9" (want one of ctcae-v4.03, ctcae-v5.0, ctcae-v6.0, daids-v2.1)`},
		{"unknown grading context", []string{"--lb", lb, "--grading-context", "symptomatic"}, 2, `--grading-context "symptomatic": unknown grading context`},
		{"unknown baseline", []string{"--lb", lb, "--baseline", "adam"}, 2, `--baseline "adam": unknown baseline convention "adam" (want sdtm or adam-last-predose)`},
		{"stray argument", []string{"--lb", lb, "extra"}, 2, `trialwatch: grade takes no arguments, got ["extra"]` + "\n"},
		{"unknown format", []string{"--lb", writeFile(t, "lb.sas7bdat", "x")}, 1, `cannot read ".sas7bdat" files`},
		{"no study to read", []string{"--lb", writeFile(t, "lb.xpt", "x")}, 1, "give the study"},
		{"missing file", []string{"--lb", filepath.Join(t.TempDir(), "none.csv")}, 1, "no such file"},
		{"DM given as LB", []string{"--lb", dm}, 1, "not an LB file"},
		{"LB given as DM", []string{"--lb", lb, "--dm", lb}, 1, "not a DM file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runGrade(t, tt.args...)
			if code != tt.code || !strings.Contains(stderr, tt.stderr) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, tt.code, tt.stderr)
			}
		})
	}
}
