package labgrade_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/clinical/ctcae"
	"github.com/trialwatch/trialwatch/labgrade"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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

// grade reads and grades the files, returning the CSV written.
func grade(t *testing.T, c ctcae.Criteria, lb, dm, study string) string {
	t.Helper()
	in, err := labgrade.ReadFiles(lb, dm, study)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := labgrade.Write(context.Background(), &out, c, in); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

func TestWriteGivesOneRowPerTermAndDirection(t *testing.T) {
	lb := writeFile(t, "lb.csv", lbHeader+
		`"S1","LB","01-001",1,"ALT",30,"U/L",6,40,"Y","2014-01-01"`+"\n"+
		`"S1","LB","01-001",2,"ALT",130,"U/L",6,40,,"2014-02-01"`+"\n"+
		`"S1","LB","01-001",3,"K",2.9,"mmol/L",3.4,5.4,"Y","2014-01-01"`+"\n"+
		`"S1","LB","01-001",4,"MCV",90,"fL",80,100,"Y","2014-01-01"`+"\n"+
		`"S1","LB","01-001",5,"GLUC",,"mmol/L",3.9,5.6,,"2014-02-01"`+"\n"+
		`"S1","LB","01-001",6,"CA",1.9,"mmol/L",2.1,2.6,,"2014-02-01"`+"\n"+
		`"S1","LB","01-001",7,"ALB",40,"g/L",35,50,,"2014-02-01"`+"\n")
	in, err := labgrade.ReadFiles(lb, "", "")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	sum, err := labgrade.Write(context.Background(), &out, ctcae.V50, in)
	if err != nil {
		t.Fatal(err)
	}
	want := "USUBJID,LBSEQ,LBTESTCD,TERM,DIRECTION,GRADE,REASON\n" +
		"01-001,1,ALT,Alanine aminotransferase increased,high,0,\n" +
		"01-001,2,ALT,Alanine aminotransferase increased,high,2,\n" +
		"01-001,3,K,Hypokalemia,low,3,\n" +
		"01-001,3,K,Hyperkalemia,high,0,\n" +
		"01-001,4,MCV,,,,no CTCAE criteria for MCV\n" +
		"01-001,5,GLUC,Hypoglycemia,low,,no result (LBSTRESN)\n" +
		"01-001,5,GLUC,Hyperglycemia,high,,\"CTCAE v5.0 grades hyperglycemia by the change in glucose management it needs, not by glucose value\"\n" +
		// Graded after correction for the albumin of its draw, which the row says.
		"01-001,6,CA,Hypocalcemia,low,2,\"corrected for albumin (Payne) from 1.9 mmol/L, albumin 40 g/L\"\n" +
		"01-001,6,CA,Hypercalcemia,high,0,\"corrected for albumin (Payne) from 1.9 mmol/L, albumin 40 g/L\"\n" +
		"01-001,7,ALB,Hypoalbuminemia,low,0,\n"
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
	if wantSum := (labgrade.Summary{Records: 7, Graded: 7, Severe: 1, NotGradable: 2, NoCriteria: 1}); sum != wantSum {
		t.Errorf("summary %+v, want %+v", sum, wantSum)
	}
}

// Without LBBLFL the baseline comes from DM's first dose. v5.0 grades ALT
// against an abnormal baseline, so the same value grades differently.
func TestBaselineBeforeFirstDose(t *testing.T) {
	lb := writeFile(t, "lb.csv.gz", lbHeader+
		`"S1","LB","01-001",1,"ALT",60,"U/L",6,40,,"2014-01-01"`+"\n"+
		`"S1","LB","01-001",2,"ALT",80,"U/L",6,40,,"2014-01-03"`+"\n"+
		`"S1","LB","01-001",3,"ALT",110,"U/L",6,40,,"2014-02-01"`+"\n")
	dm := writeFile(t, "dm.csv", `"STUDYID","DOMAIN","USUBJID","SITEID","RFXSTDTC"`+"\n"+
		`"S1","DM","01-001","001","2014-01-03"`+"\n")

	if got := gradeOf(t, grade(t, ctcae.V50, lb, "", ""), "3"); got != "" {
		t.Errorf("without DM (no baseline), ALT 110 graded %q, want not gradable", got)
	}
	// Baseline is the day-of-dose 80 U/L (above ULN): 110 < 1.5 x 80.
	if got := gradeOf(t, grade(t, ctcae.V50, lb, dm, ""), "3"); got != "0" {
		t.Errorf("with baseline 80, ALT 110 graded %q, want 0", got)
	}
	// v4.03 ignores the baseline: ULN 40 < 110 <= 3 x ULN.
	if got := gradeOf(t, grade(t, ctcae.V403, lb, dm, ""), "3"); got != "1" {
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

func TestReadFilesChecksTheStudy(t *testing.T) {
	lb := writeFile(t, "lb.csv", lbHeader+`"S1","LB","01-001",1,"ALT",30,"U/L",6,40,"Y","2014-01-01"`+"\n")
	dmOther := writeFile(t, "dm.csv", `"STUDYID","DOMAIN","USUBJID","SITEID","RFXSTDTC"`+"\n"+`"S2","DM","01-001","001","2014-01-03"`+"\n")
	dm := writeFile(t, "dm.csv", `"STUDYID","DOMAIN","USUBJID","SITEID"`+"\n"+`"S1","DM","01-001","001"`+"\n")
	if _, err := labgrade.ReadFiles(lb, "", "S1"); err != nil {
		t.Errorf("study S1: %v", err)
	}
	for _, tt := range []struct {
		name, lb, dm, study, want string
	}{
		{"another study", lb, "", "OTHER", `"S1", but the study being loaded is "OTHER"`},
		{"DM of another study", lb, dmOther, "", "STUDYID"},
		{"unknown format", writeFile(t, "lb.sas7bdat", "x"), "", "", `cannot read ".sas7bdat" files`},
		{"no study to read", writeFile(t, "lb.xpt", "x"), "", "", "give the study"},
		{"empty CSV", writeFile(t, "lb.csv", lbHeader), "", "", "no data row"},
		{"missing file", filepath.Join(t.TempDir(), "none.csv"), "", "S1", "no such file"},
		{"DM given as LB", dm, "", "", "not an LB file"},
		{"LB given as DM", lb, lb, "", "not a DM file"},
	} {
		if _, err := labgrade.ReadFiles(tt.lb, tt.dm, tt.study); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
}

// The whole pilot LB, gzip-compressed as shipped, written to a file.
func TestWriteFilePilot(t *testing.T) {
	if testing.Short() {
		t.Skip("grades the whole pilot LB; skipped with -short")
	}
	pilot := filepath.Join("..", "pilotdata", "cdiscpilot01")
	in, err := labgrade.ReadFiles(filepath.Join(pilot, "lb.csv.gz"), filepath.Join(pilot, "dm.csv.gz"), "")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "grades.csv")
	sum, err := labgrade.WriteFile(context.Background(), out, ctcae.V50, in)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Records != 59580 || sum.NoCriteria != 25102 {
		t.Errorf("summary %+v, want 59580 records, 25102 without criteria", sum)
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
	if len(rows)-1 != 47140+25102 {
		t.Errorf("%d rows, want 47140 term results + 25102 records without criteria", len(rows)-1)
	}
	for key, want := range map[string]int{
		"Alanine aminotransferase increased/2": 2,
		"Hyponatremia/2":                       2,
		"Hyperglycemia/":                       1810,
		"Hyperuricemia/1":                      62,
		"Hypocalcemia/":                        14, // total calcium without an albumin of its draw
		"/":                                    25102,
	} {
		if counts[key] != want {
			t.Errorf("%s: %d rows, want %d", key, counts[key], want)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 1 {
		t.Errorf("temporary files left beside the output: %v", entries)
	}

	// Worst case, as admiral: the same urate values are grade 3.
	var buf bytes.Buffer
	if _, err := labgrade.Write(context.Background(), &buf, ctcae.V50, in, ctcae.WithContext(ctcae.WorstCase)); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), ",Hyperuricemia,high,3,"); n != 62 {
		t.Errorf("worst case: %d urate rows of grade 3, want 62", n)
	}

	// DAIDS grades hemoglobin by sex from DM (clinical/ctcae's pilot golden
	// has 14 of grade 1); without DM it cannot.
	buf.Reset()
	if _, err := labgrade.Write(context.Background(), &buf, ctcae.DAIDS21, in); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), `,"Hemoglobin, Low",low,1,`); n != 14 {
		t.Errorf("DAIDS: %d hemoglobin rows of grade 1, want 14", n)
	}
	buf.Reset()
	in.Subjects = nil
	if _, err := labgrade.Write(context.Background(), &buf, ctcae.DAIDS21, in); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), `,"Hemoglobin, Low",low,,"Hemoglobin, Low: the criteria differ by age`); n != 1809 {
		t.Errorf("DAIDS without DM: %d hemoglobin rows not gradable for want of age, want 1809", n)
	}
}

// A cancelled write leaves nothing at the path, nor beside it.
func TestWriteFileCancelled(t *testing.T) {
	lb := writeFile(t, "lb.csv", lbHeader+`"S1","LB","01-001",1,"ALT",30,"U/L",6,40,"Y","2014-01-01"`+"\n")
	in, err := labgrade.ReadFiles(lb, "", "")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out := filepath.Join(t.TempDir(), "grades.csv")
	if _, err := labgrade.WriteFile(ctx, out, ctcae.V50, in); err == nil {
		t.Fatal("a cancelled write succeeded")
	}
	if entries, _ := os.ReadDir(filepath.Dir(out)); len(entries) != 0 {
		t.Errorf("a cancelled write left %v", entries)
	}
}

// The baseline convention is a study's setting's: sdtm takes the LBBLFL=Y
// record, adam-last-predose the last value on or before the first dose
// whatever LBBLFL says. v5.0 grades ALT against a baseline above ULN.
func TestBaselineConvention(t *testing.T) {
	lb := writeFile(t, "lb.csv", lbHeader+
		`"S1","LB","01-001",1,"ALT",30,"U/L",6,40,"Y","2013-12-20"`+"\n"+
		`"S1","LB","01-001",2,"ALT",60,"U/L",6,40,,"2014-01-03"`+"\n"+
		`"S1","LB","01-001",3,"ALT",85,"U/L",6,40,,"2014-02-01"`+"\n")
	dm := writeFile(t, "dm.csv", `"STUDYID","DOMAIN","USUBJID","SITEID","RFXSTDTC"`+"\n"+
		`"S1","DM","01-001","001","2014-01-03"`+"\n")
	in, err := labgrade.ReadFiles(lb, dm, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		want string
	}{
		// Baseline 30 (normal): 85 is above ULN, below 3 x ULN.
		{"", "1"},
		{"sdtm", "1"},
		// Baseline 60 (above ULN): grade 1 from 1.5 x 60 = 90.
		{"adam-last-predose", "0"},
		{" ADaM-Last-Predose ", "0"},
	} {
		b, err := labgrade.ParseBaseline(c.name)
		if err != nil {
			t.Fatalf("ParseBaseline(%q): %v", c.name, err)
		}
		in.Baseline = b
		var out bytes.Buffer
		if _, err := labgrade.Write(context.Background(), &out, ctcae.V50, in); err != nil {
			t.Fatal(err)
		}
		if got := gradeOf(t, out.String(), "3"); got != c.want {
			t.Errorf("baseline %q: ALT 85 graded %q, want %s", c.name, got, c.want)
		}
	}
	if _, err := labgrade.ParseBaseline("adam"); err == nil || !strings.Contains(err.Error(), "sdtm or adam-last-predose") {
		t.Errorf("ParseBaseline(adam): %v, want an error naming both conventions", err)
	}
	in.Baseline = "adam"
	if _, err := labgrade.Write(context.Background(), io.Discard, ctcae.V50, in); err == nil {
		t.Error("Write with an unknown baseline convention: no error")
	}
}
