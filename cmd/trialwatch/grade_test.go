package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
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

func TestGradeWritesOneRowPerTermAndDirection(t *testing.T) {
	lb := writeFile(t, "lb.csv", lbHeader+
		`"S1","LB","01-001",1,"ALT",30,"U/L",6,40,"Y","2014-01-01"`+"\n"+
		`"S1","LB","01-001",2,"ALT",130,"U/L",6,40,,"2014-02-01"`+"\n"+
		`"S1","LB","01-001",3,"K",2.9,"mmol/L",3.4,5.4,"Y","2014-01-01"`+"\n"+
		`"S1","LB","01-001",4,"MCV",90,"fL",80,100,"Y","2014-01-01"`+"\n"+
		`"S1","LB","01-001",5,"GLUC",,"mmol/L",3.9,5.6,,"2014-02-01"`+"\n")
	code, stdout, stderr := runGrade(t, "--lb", lb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	want := "USUBJID,LBSEQ,LBTESTCD,TERM,DIRECTION,GRADE,REASON\n" +
		"01-001,1,ALT,Alanine aminotransferase increased,high,0,\n" +
		"01-001,2,ALT,Alanine aminotransferase increased,high,2,\n" +
		"01-001,3,K,Hypokalemia,low,3,\n" +
		"01-001,3,K,Hyperkalemia,high,0,\n" +
		"01-001,4,MCV,,,,no CTCAE criteria for MCV\n" +
		"01-001,5,GLUC,Hypoglycemia,low,,no result (LBSTRESN)\n" +
		"01-001,5,GLUC,Hyperglycemia,high,,\"CTCAE v5.0 grades hyperglycemia by the change in glucose management it needs, not by glucose value\"\n"
	if stdout != want {
		t.Errorf("got\n%s\nwant\n%s", stdout, want)
	}
}

// Without LBBLFL the baseline comes from DM's first dose. v5.0 grades ALT
// against an abnormal baseline, so the same value grades differently.
func TestGradeTakesTheBaselineBeforeFirstDose(t *testing.T) {
	lb := writeFile(t, "lb.csv.gz", lbHeader+
		`"S1","LB","01-001",1,"ALT",60,"U/L",6,40,,"2014-01-01"`+"\n"+
		`"S1","LB","01-001",2,"ALT",80,"U/L",6,40,,"2014-01-03"`+"\n"+
		`"S1","LB","01-001",3,"ALT",110,"U/L",6,40,,"2014-02-01"`+"\n")
	dm := writeFile(t, "dm.csv", `"STUDYID","DOMAIN","USUBJID","SITEID","RFXSTDTC"`+"\n"+
		`"S1","DM","01-001","001","2014-01-03"`+"\n")

	_, withoutDM, _ := runGrade(t, "--lb", lb)
	if got := gradeOf(t, withoutDM, "3"); got != "" {
		t.Errorf("without DM (no baseline), ALT 110 graded %q, want not gradable", got)
	}
	code, withDM, stderr := runGrade(t, "--lb", lb, "--dm", dm)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	// Baseline is the day-of-dose 80 U/L (above ULN): 110 < 1.5 x 80.
	if got := gradeOf(t, withDM, "3"); got != "0" {
		t.Errorf("with baseline 80, ALT 110 graded %q, want 0", got)
	}
	// v4.03 ignores the baseline: ULN 40 < 110 <= 3 x ULN.
	_, v4, _ := runGrade(t, "--lb", lb, "--dm", dm, "--criteria", "ctcae-v4.03")
	if got := gradeOf(t, v4, "3"); got != "1" {
		t.Errorf("v4.03 ALT 110 graded %q, want 1", got)
	}
}

// gradeOf returns the GRADE column of the first output row with LBSEQ seq.
func gradeOf(t *testing.T, out, seq string) string {
	t.Helper()
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("output is not CSV: %v\n%s", err, out)
	}
	for _, r := range rows[1:] {
		if r[1] == seq {
			return r[5]
		}
	}
	t.Fatalf("no row with LBSEQ %s in\n%s", seq, out)
	return ""
}

func TestGradeStudy(t *testing.T) {
	lb := writeFile(t, "lb.csv", lbHeader+`"S1","LB","01-001",1,"ALT",30,"U/L",6,40,"Y","2014-01-01"`+"\n")
	if code, _, stderr := runGrade(t, "--lb", lb, "--study", "S1"); code != 0 {
		t.Errorf("--study S1: exit %d: %s", code, stderr)
	}
	code, _, stderr := runGrade(t, "--lb", lb, "--study", "OTHER")
	if code != 1 || !strings.Contains(stderr, `"S1", but the study being loaded is "OTHER"`) {
		t.Errorf("--study OTHER: exit %d, stderr %q; want 1 and the STUDYID mismatch", code, stderr)
	}
	dm := writeFile(t, "dm.csv", `"STUDYID","DOMAIN","USUBJID","SITEID","RFXSTDTC"`+"\n"+`"S2","DM","01-001","001","2014-01-03"`+"\n")
	if code, _, stderr := runGrade(t, "--lb", lb, "--dm", dm); code != 1 || !strings.Contains(stderr, "STUDYID") {
		t.Errorf("DM of another study: exit %d, stderr %q; want 1 and a STUDYID error", code, stderr)
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
		{"no LB", nil, 2, "Usage: trialwatch grade"},
		{"unknown criteria", []string{"--lb", lb, "--criteria", "ctcae-v6"}, 2, `unknown CTCAE criteria "ctcae-v6"`},
		{"stray argument", []string{"--lb", lb, "extra"}, 2, "Usage: trialwatch grade"},
		{"unknown format", []string{"--lb", writeFile(t, "lb.sas7bdat", "x")}, 1, `cannot read ".sas7bdat" files`},
		{"study only from CSV", []string{"--lb", writeFile(t, "lb.xpt", "x")}, 1, "give --study"},
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

// The whole pilot LB, gzip-compressed as shipped, written with --out.
func TestGradePilotIntoFile(t *testing.T) {
	if testing.Short() {
		t.Skip("grades the whole pilot LB; skipped with -short")
	}
	out := filepath.Join(t.TempDir(), "grades.csv")
	code, stdout, stderr := runGrade(t, "--lb", filepath.Join("..", "..", "pilotdata", "cdiscpilot01", "lb.csv.gz"),
		"--dm", filepath.Join("..", "..", "pilotdata", "cdiscpilot01", "dm.csv.gz"), "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "graded 59580 LB records by ctcae-v5.0 into "+out) {
		t.Errorf("summary %q", stdout)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// Counts from clinical/ctcae/testdata/pilot-grades-v5.0.golden.
	counts := map[string]int{}
	for _, r := range rows[1:] {
		counts[r[3]+"/"+r[5]]++
	}
	if len(rows)-1 != 45312+26930 {
		t.Errorf("%d rows, want 45312 term results + 26930 records without criteria", len(rows)-1)
	}
	for key, want := range map[string]int{
		"Alanine aminotransferase increased/2": 2,
		"Hyponatremia/2":                       2,
		"Hyperglycemia/":                       1810,
		"/":                                    26930,
	} {
		if counts[key] != want {
			t.Errorf("%s: %d rows, want %d", key, counts[key], want)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
		t.Errorf("temporary files left beside the output: %v", entries)
	}
}
