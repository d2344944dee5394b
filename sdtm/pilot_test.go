package sdtm

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// The pilot's DM, AE and EX exist in all three formats, exported by
// different tools (R to CSV and Dataset-JSON, SAS to XPT); read alike,
// they must give the same records to the last field.
func TestPilotFormatsAgree(t *testing.T) {
	for _, c := range []struct {
		domain  string
		formats []Format
	}{
		{"dm", []Format{CSV, DatasetJSON, XPT}},
		{"ae", []Format{CSV, DatasetJSON, XPT}},
		{"ex", []Format{CSV, DatasetJSON, XPT}},
		{"cm", []Format{CSV, DatasetJSON}},
		// pharmaversesdtm rebuilt DS (850 rows); the submission's is 596.
		{"ds", []Format{DatasetJSON, XPT}},
	} {
		first := withoutSpans(readPilot(t, c.domain, c.formats[0]))
		if c.domain == "dm" {
			first = withoutBirthDates(t, first)
		}
		for _, f := range c.formats[1:] {
			if got := withoutSpans(readPilot(t, c.domain, f)); !reflect.DeepEqual(got, first) {
				t.Errorf("%s: %s differs from %s", c.domain, f, c.formats[0])
			}
		}
	}
}

// withoutBirthDates is the pilot's DM without BRTHDTC, which
// pharmaversesdtm's CSV added (the submission's XPT and Dataset-JSON have
// none); it checks every CSV subject has one.
func withoutBirthDates(t *testing.T, b Batch) Batch {
	t.Helper()
	b.Subjects = slices.Clone(b.Subjects)
	for i := range b.Subjects {
		if _, ok := b.Subjects[i].BirthDate.Day(); !ok {
			t.Errorf("dm csv: %s has BRTHDTC %q, want a full date", b.Subjects[i].USUBJID, b.Subjects[i].BirthDate)
		}
		b.Subjects[i].BirthDate = ""
	}
	return b
}

// withoutSpans is a batch's records without where they were read.
func withoutSpans(b *Batch) Batch {
	c := *b
	c.spans = nil
	return c
}

func TestPilotValues(t *testing.T) {
	for _, f := range []Format{CSV, DatasetJSON, XPT} {
		dm := readPilot(t, "dm", f).Subjects
		if b := dm[0].BirthDate; (f == CSV) != (b == "1950-12-26") {
			t.Errorf("%s: BRTHDTC %q (only the CSV has it: 1950-12-26)", f, b)
		}
		dm[0].BirthDate = ""
		ae := readPilot(t, "ae", f).Events
		ex := readPilot(t, "ex", f).Doses
		got := []any{
			len(dm), dm[0], dm[305].USUBJID, dm[305].Age, dm[305].EndOfStudy,
			len(ae), ae[1190].USUBJID, ae[1190].Seq, ae[1190].Term, ae[1190].Start, ae[1190].End,
			len(ex), ex[0],
		}
		want := []any{
			306, "{CDISCPILOT01 01-701-1015 701 F 63 Placebo  2014-01-02 2014-07-02 2014-01-02 2014-07-02 2014-07-02T11:45  }", "01-718-1427", 74, "2013-06-03",
			1191, "01-718-1427", 16, "NAUSEA", "2013-02-04", "2013-02-25",
			591, "{CDISCPILOT01 01-701-1015 1 PLACEBO 0 true mg TRANSDERMAL 2014-01-02 2014-01-16}",
		}
		assertValues(t, string(f), got, want)
	}
	for _, f := range []Format{DatasetJSON, XPT} {
		ds := readPilot(t, "ds", f).Dispositions
		decoded := map[string]int{}
		for _, d := range ds {
			decoded[d.Decoded]++
		}
		got := []any{len(ds), ds[0], ds[595], decoded["COMPLETED"], decoded["ADVERSE EVENT"], decoded["DEATH"]}
		want := []any{
			596, "{CDISCPILOT01 01-701-1015 1 PROTOCOL COMPLETED COMPLETED DISPOSITION EVENT  2014-07-02}",
			"{CDISCPILOT01 01-718-1427 3 FINAL RETRIEVAL VISIT FINAL RETRIEVAL VISIT OTHER EVENT  2013-06-03}", 110, 92, 3,
		}
		assertValues(t, "ds "+string(f), got, want)
	}
	cm := readPilot(t, "cm", DatasetJSON).ConMeds
	subjects := map[string]bool{}
	for _, c := range cm {
		subjects[c.USUBJID] = true
	}
	assertValues(t, "cm", []any{len(cm), len(subjects), cm[0], cm[7509]}, []any{
		7510, 229, "{CDISCPILOT01 01-701-1015 1 ASPIRIN ACETYLSALICYLIC ACID 2003 }",
		"{CDISCPILOT01 01-718-1427 10 MYLANTA UNCODED 2013-01-21 2013-01-24}",
	})
	lb := readPilot(t, "lb", CSV).Labs
	assertValues(t, "lb", []any{len(lb), lb[0], lb[59579].TestCode, lb[59579].Value, lb[59579].Unit}, []any{
		59580, "{CDISCPILOT01 01-701-1015 1 ALB Albumin CHEMISTRY 38 true g/L 33 true 49 true true 2013-12-26T14:45 SCREENING 1}",
		"MONOLE", 0.3, "FRACTION",
	})
}

// assertValues compares values as printed, so that whole records read
// as one line.
func assertValues(t *testing.T, what string, got, want []any) {
	t.Helper()
	for i := range want {
		if g, w := fmt.Sprint(got[i]), fmt.Sprint(want[i]); g != w {
			t.Errorf("%s: value %d = %s, want %s", what, i, g, w)
		}
	}
}
