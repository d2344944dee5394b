package sdtm

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

var labColumns = []string{"STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBSTRESN", "LBSTRESU", "LBSTNRLO", "LBSTNRHI", "LBDTC"}

// problem is an error expected at a 1-based data row; {first} in msg is
// where the row it duplicates is, which each format names its own way.
type problem struct {
	row         int
	column, msg string
}

// labProblems are rows every format must reject the same way, since they
// share one conversion.
var labProblems = table{name: "LB", header: labColumns, rows: [][]any{
	{"S1", "LB", "A", "1", "ALT", "200", "U/L", "6", "34", "2014-01-02T14:45:30"},
	{"S1", "LB", "A", " 2", "ALT", "abc", "U/L", "6", "34", "2014-13-45"},
	{"S1", "LB", "A", "1.5", "ALT", "1", "mg/dl", "6", "34", "2014"},
	{"S1", "LB", "A", "1", "ALT", "1", "U/L", "6", "34", "2014-01"},
	{"S2", "LB", "", "4", "ALT", "Inf", "furlongs", "6", "34", "2014-02-29"},
	{"S1", "LB", "B", "", "ALT", "NaN", "", "0x10", "34", "2014-01-02T25:00"},
	{"S1", "AE", "B", "7", "", "1", "GI/L", "", "", "2014-01-02T14"},
}}

var labWant = []problem{
	{2, "LBSTRESN", `"abc" is not a number`},
	{2, "LBDTC", `"2014-13-45" is not an ISO 8601 date`},
	{3, "LBSEQ", `"1.5" is not a whole number`},
	{3, "LBSTRESU", `unit "mg/dl" is not one trialwatch knows (did you mean "mg/dL"?)`},
	{4, "LBSEQ", `duplicate key USUBJID "A", LBSEQ 1 (first on {first})`},
	{5, "STUDYID", `"S2", but the study being loaded is "S1"`},
	{5, "USUBJID", `required value is missing`},
	{5, "LBSTRESN", `"Inf" is not a number`},
	{5, "LBSTRESU", `unit "furlongs" is not one trialwatch knows`},
	{5, "LBDTC", `"2014-02-29" is not an ISO 8601 date`},
	{6, "LBSEQ", `required value is missing`},
	{6, "LBSTRESN", `"NaN" is not a number`},
	{6, "LBSTNRLO", `"0x10" is not a number`},
	{6, "LBDTC", `"2014-01-02T25:00" is not an ISO 8601 date`},
	{7, "DOMAIN", `"AE" in a LB file`},
	{7, "LBTESTCD", `required value is missing`},
}

// formats writes a table in each format and says how each locates row n.
var formats = []struct {
	format Format
	write  func(table) []byte
	where  func(n int) string
}{
	{CSV, table.csv, func(n int) string { return fmt.Sprintf("line %d", n+1) }},
	{DatasetJSON, table.json, func(n int) string { return fmt.Sprintf("row %d", n) }},
	{XPT, func(tb table) []byte { return xpt(140, tb) }, func(n int) string { return fmt.Sprintf("row %d", n) }},
}

func TestEveryFormatValidatesAlike(t *testing.T) {
	for _, f := range formats {
		t.Run(string(f.format), func(t *testing.T) {
			file := "lb." + string(f.format)
			var b Batch
			err := Read(file, bytes.NewReader(f.write(labProblems)), f.format, "S1", &b)
			var want []string
			for _, p := range labWant {
				e := &Error{File: file, Column: p.column, Msg: strings.ReplaceAll(p.msg, "{first}", f.where(1))}
				if f.format == CSV {
					e.Line = p.row + 1
				} else {
					e.Row = p.row
				}
				want = append(want, e.Error())
			}
			wantErrors(t, err, want...)
			if b.Len() != 0 {
				t.Errorf("%d records kept from a bad file, want none", b.Len())
			}
		})
	}
}

// The rows that are valid on their own, partial dates included, make a
// valid file in every format.
func TestEveryFormatReadsPartialDatesAndPaddedNumbers(t *testing.T) {
	good := table{name: "LB", header: labColumns, rows: [][]any{
		labProblems.rows[0],
		{"S1", "LB", "A", " 2 ", "ALT", " -7", "U/L", "NA", "34", "2014"},
		{"S1", "LB", "A", "3", "ALT", "1", "U/L", "6", "34", "2014-01"},
		{"S1", "LB", "A", "4", "ALT", "", "", "6", "34", "2014-01-02T14"},
	}}
	for _, f := range formats {
		var b Batch
		if err := Read("lb", bytes.NewReader(f.write(good)), f.format, "S1", &b); err != nil {
			t.Fatalf("%s: %v", f.format, err)
		}
		var got []string
		for _, l := range b.Labs {
			got = append(got, fmt.Sprintf("%d %v/%v %v/%v %s", l.Seq, l.Value, l.HasValue, l.Low, l.HasLow, l.Date))
		}
		want := "1 200/true 6/true 2014-01-02T14:45:30|2 -7/true 0/false 2014|3 1/true 6/true 2014-01|4 0/false 6/true 2014-01-02T14"
		if g := strings.Join(got, "|"); g != want {
			t.Errorf("%s read\n%s\nwant\n%s", f.format, g, want)
		}
	}
}

func TestDuplicateSubjectInDM(t *testing.T) {
	dm := table{name: "DM", header: []string{"STUDYID", "DOMAIN", "USUBJID", "SITEID"}, rows: [][]any{
		{"S1", "DM", "A", "701"}, {"S1", "DM", "B", "701"}, {"S1", "DM", "A", "702"},
	}}
	err := ReadCSV("dm.csv", bytes.NewReader(dm.csv()), "S1", &Batch{})
	wantErrors(t, err, `dm.csv:4: column USUBJID: subject "A" appears twice (first on line 2)`)
}

func TestWrongNumberOfValues(t *testing.T) {
	in := "STUDYID,DOMAIN,USUBJID,SITEID\nS1,DM,A,701\nS1,DM,B\nS1,DM,C,701,x\n"
	wantErrors(t, ReadCSV("dm.csv", strings.NewReader(in), "S1", &Batch{}),
		"dm.csv:3: has 3 values, want 4 (one per column)",
		"dm.csv:4: has 5 values, want 4 (one per column)")
	js := `{"columns":[{"name":"STUDYID"},{"name":"DOMAIN"},{"name":"USUBJID"},{"name":"SITEID"}],
		"rows":[["S1","DM","A","701"],["S1","DM","B"],["S1","DM","C","701",1,2,3]]}`
	wantErrors(t, ReadDatasetJSON("dm.json", strings.NewReader(js), "S1", &Batch{}),
		"dm.json: row 2: has 3 values, want 4 (one per column)",
		"dm.json: row 3: has 7 values, want 4 (one per column)")
}

// A file with thousands of bad rows stops early with a bounded report.
func TestErrorLimit(t *testing.T) {
	var in strings.Builder
	in.WriteString("STUDYID,DOMAIN,USUBJID,SITEID\n")
	for i := range 1000 {
		fmt.Fprintf(&in, "S1,DM,%d,\n", i)
	}
	err := ReadCSV("dm.csv", strings.NewReader(in.String()), "S1", &Batch{})
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != maxErrors+1 {
		t.Fatalf("got %d errors, want %d and a last word", len(errs), maxErrors)
	}
	if errs[maxErrors-1].Line != maxErrors+1 || errs[maxErrors].Msg != "too many errors; stopped reading" {
		t.Errorf("report ends %v; %v", errs[maxErrors-1], errs[maxErrors])
	}
}

func TestLabUnitsIncludeThePilots(t *testing.T) {
	for _, u := range []string{"mmol/L", "GI/L", "U/L", "umol/L", "g/L", "fmol(Fe)", "TI/L", "1", "fL", "pmol/L", "mU/L", "FRACTION"} {
		if !knownLabUnit(u) {
			t.Errorf("pilot unit %q unknown", u)
		}
	}
	if knownLabUnit("MU/L") || labUnitLike("MU/L") != "mU/L" {
		t.Error("mega-units taken for milli-units")
	}
}
