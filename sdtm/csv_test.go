package sdtm

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const lbHeader = `"STUDYID","DOMAIN","USUBJID","LBSEQ","LBTESTCD","LBTEST","LBSTRESN","LBSTRESU","LBSTNRLO","LBSTNRHI","LBBLFL","LBDTC","VISIT"` + "\n"

func TestReadCSVLab(t *testing.T) {
	in := lbHeader + `"S1","LB","01-701-1015",1,"ALT","Alanine Aminotransferase",200,"U/L",6,34,"Y","2014-01-02T14:45","BASELINE"
"S1","LB","01-701-1015",2,"ALB","Albumin",NA,"g/L",NA,49,NA,"2014-01","WEEK 2"
`
	var b Batch
	if err := ReadCSV("lb.csv", strings.NewReader(in), "S1", &b); err != nil {
		t.Fatal(err)
	}
	if len(b.Labs) != 2 {
		t.Fatalf("%d labs, want 2", len(b.Labs))
	}
	alt, alb := b.Labs[0], b.Labs[1]
	if alt.Value != 200 || !alt.HasValue || alt.High != 34 || !alt.Baseline || alt.Date != "2014-01-02T14:45" || alt.Study != "S1" {
		t.Errorf("ALT read as %+v", alt)
	}
	if alb.HasValue || alb.HasLow || !alb.HasHigh || alb.Baseline {
		t.Errorf("NA cells of ALB read as values: %+v", alb)
	}
}

// ISO 8601 allows a time zone offset and fractional seconds; the date is
// kept as written, and the rules compare it in UTC.
func TestReadCSVDatesWithOffsetsAndFractions(t *testing.T) {
	in := lbHeader + `"S1","LB","A",1,"ALT","x",20,"U/L",6,34,"","2014-01-02T14:45:30.250+01:00","V"
"S1","LB","A",2,"ALT","x",20,"U/L",6,34,"","2014-01-02T14:45Z","V"
"S1","LB","A",3,"ALT","x",20,"U/L",6,34,"","2014-01-02T09-0500","V"
`
	var b Batch
	if err := ReadCSV("lb.csv", strings.NewReader(in), "S1", &b); err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"2014-01-02T14:45:30.250+01:00", "2014-01-02T14:45Z", "2014-01-02T09-0500"} {
		if got := string(b.Labs[i].Date); got != want {
			t.Errorf("LBSEQ %d date read as %q, want %q", i+1, got, want)
		}
	}
	bad := lbHeader + `"S1","LB","A",1,"ALT","x",20,"U/L",6,34,"","2014-01-02T14:45+25:00","V"
"S1","LB","A",2,"ALT","x",20,"U/L",6,34,"","2014-01-02+01:00","V"
"S1","LB","A",3,"ALT","x",20,"U/L",6,34,"","2014-01-02T14:45:30.","V"
`
	wantErrors(t, ReadCSV("lb.csv", strings.NewReader(bad), "S1", &Batch{}),
		`lb.csv:2: column LBDTC: "2014-01-02T14:45+25:00" is not an ISO 8601 date`,
		`lb.csv:3: column LBDTC: "2014-01-02+01:00" is not an ISO 8601 date`,
		`lb.csv:4: column LBDTC: "2014-01-02T14:45:30." is not an ISO 8601 date`)
}

func TestReadCSVRejectsWholeFileAndLocatesErrors(t *testing.T) {
	in := lbHeader + `"S1","LB","A",1,"ALT","x",200,"U/L",6,34,"","2014-01-02","V"
"S1","LB","A",2,"ALT","x",abc,"U/L",6,34,"","2014-13-45","V"
"S2","LB","A",3,"ALT","x",1,"U/L",6,34,"","2014-01-02","V"
`
	var b Batch
	err := ReadCSV("lb.csv", strings.NewReader(in), "S1", &b)
	want := []string{
		`lb.csv:3: column LBSTRESN: "abc" is not a number`,
		`lb.csv:3: column LBDTC: "2014-13-45" is not an ISO 8601 date`,
		`lb.csv:4: column STUDYID: "S2", but the study being loaded is "S1"`,
	}
	wantErrors(t, err, want...)
	if b.Len() != 0 {
		t.Errorf("%d records kept from a bad file, want none", b.Len())
	}
}

func TestReadCSVMissingColumns(t *testing.T) {
	in := `"STUDYID","DOMAIN","USUBJID"` + "\n" + `"S1","LB","A"` + "\n"
	err := ReadCSV("lb.csv", strings.NewReader(in), "S1", &Batch{})
	if err == nil || !strings.Contains(err.Error(), "lacks required column(s) LBSEQ, LBTESTCD") {
		t.Fatalf("err = %v, want the missing columns named", err)
	}
	err = ReadCSV("vs.csv", strings.NewReader(`"STUDYID","DOMAIN","USUBJID"`+"\n"+`"S1","VS","A"`+"\n"), "S1", &Batch{})
	if err == nil || !strings.Contains(err.Error(), `domain "VS" is not one trialwatch reads`) {
		t.Fatalf("err = %v, want unknown domain", err)
	}
	if err := ReadCSV("x.csv", strings.NewReader(""), "S1", &Batch{}); err == nil {
		t.Fatal("empty file accepted")
	}
}

// Text goes to the stores as it is: bytes PostgreSQL refuses, and other
// control characters, are refused here, each located.
func TestReadCSVRefusesControlCharactersAndBadUTF8(t *testing.T) {
	in := lbHeader + "\"S1\",\"LB\",\"A\",1,\"ALT\",\"x\x1fy\",200,\"U/L\",6,34,\"\",\"2014-01-02\",\"V\"\n" +
		"\"S1\",\"LB\",\"A\",2,\"ALT\",\"x\",200,\"U/L\",6,34,\"\",\"2014-01-02\",\"Vis\x00\"\n" +
		"\"S1\",\"LB\",\"A\",3,\"ALT\",\"x\",200,\"U/L\",6,34,\"\",\"2014-01-02\",\"caf\xe9\"\n" +
		"\"S1\",\"LB\",\"A\",4,\"ALT\",\"two\tparts\",200,\"U/L\",6,34,\"\",\"2014-01-02\",\"line\nbreak \u00e9\"\n"
	var b Batch
	err := ReadCSV("lb.csv", strings.NewReader(in), "S1", &b)
	want := []string{
		`lb.csv:2: column LBTEST: control character U+001F at character 2: text may hold tabs and line breaks, no other control characters`,
		`lb.csv:3: column VISIT: control character U+0000 at character 4: text may hold tabs and line breaks, no other control characters`,
		`lb.csv:4: column VISIT: text is not valid UTF-8 (byte 4); save the file as UTF-8`,
	}
	wantErrors(t, err, want...)
	if b.Len() != 0 {
		t.Errorf("%d records kept from a bad file, want none", b.Len())
	}
}

// DM's reference period (RFSTDTC, RFENDTC) and DS's EPOCH are read when
// present, validated as dates where they are dates, and empty when the
// file lacks them.
func TestReadCSVReferencePeriodAndEpoch(t *testing.T) {
	dm := `"STUDYID","DOMAIN","USUBJID","SITEID","RFSTDTC","RFENDTC","BRTHDTC"
"S1","DM","A","701","2014-01-02","2014-07","1950-12-26"
"S1","DM","B","701","",NA,"1948"
`
	var b Batch
	if err := ReadCSV("dm.csv", strings.NewReader(dm), "S1", &b); err != nil {
		t.Fatal(err)
	}
	if a, c := b.Subjects[0], b.Subjects[1]; a.RefStart != "2014-01-02" || a.RefEnd != "2014-07" || c.RefStart != "" || c.RefEnd != "" {
		t.Errorf("reference periods read as %q–%q and %q–%q", a.RefStart, a.RefEnd, c.RefStart, c.RefEnd)
	}
	// BRTHDTC, for age at collection to the day (DAIDS), partial or not.
	if a, c := b.Subjects[0], b.Subjects[1]; a.BirthDate != "1950-12-26" || c.BirthDate != "1948" {
		t.Errorf("birth dates read as %q and %q", a.BirthDate, c.BirthDate)
	}
	wantErrors(t, ReadCSV("dm.csv", strings.NewReader(strings.Replace(dm, `"1948"`, `"1948-13"`, 1)), "S1", &Batch{}),
		`dm.csv:3: column BRTHDTC: "1948-13" is not an ISO 8601 date`)
	bad := strings.Replace(dm, `"2014-07"`, `"2014-07-32"`, 1)
	wantErrors(t, ReadCSV("dm.csv", strings.NewReader(bad), "S1", &Batch{}), `dm.csv:2: column RFENDTC: "2014-07-32" is not an ISO 8601 date`)
	inverted := strings.Replace(dm, `"2014-07"`, `"2013-12"`, 1)
	wantErrors(t, ReadCSV("dm.csv", strings.NewReader(inverted), "S1", &Batch{}), `dm.csv:2: column RFENDTC: "2013-12" is before RFSTDTC "2014-01-02"`)

	ds := `"STUDYID","DOMAIN","USUBJID","DSSEQ","DSTERM","DSDECOD","DSCAT","EPOCH","DSSTDTC"
"S1","DS","A",1,"RANDOMIZED","RANDOMIZED","PROTOCOL MILESTONE","SCREENING","2014-01-02"
`
	b = Batch{}
	if err := ReadCSV("ds.csv", strings.NewReader(ds), "S1", &b); err != nil {
		t.Fatal(err)
	}
	if d := b.Dispositions[0]; d.Epoch != "SCREENING" || d.Category != "PROTOCOL MILESTONE" || d.Start != "2014-01-02" {
		t.Errorf("DS read as %+v", d)
	}
}
