package sdtm

import (
	"bytes"
	"testing"

	"github.com/trialwatch/trialwatch/clinical"
)

func TestCheckSubjects(t *testing.T) {
	var b Batch
	dm := table{name: "DM", header: []string{"STUDYID", "DOMAIN", "USUBJID", "SITEID"}, rows: [][]any{{"S1", "DM", "NEW", "701"}}}
	ae := table{name: "AE", header: []string{"STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM"}, rows: [][]any{
		{"S1", "AE", "NEW", "1", "RASH"},   // in this batch's DM
		{"S1", "AE", "OLD", "1", "RASH"},   // in the database
		{"S1", "AE", "GHOST", "1", "RASH"}, // nowhere
		{"S1", "AE", "GHOST", "2", "FALL"},
	}}
	lb := table{name: "LB", header: labColumns, rows: [][]any{{"S1", "LB", "NEW", "1", "ALT", "1", "U/L", "6", "34", ""}}}
	ghostLB := table{name: "LB", header: labColumns, rows: [][]any{{"S1", "LB", "GHOST", "1", "ALT", "1", "U/L", "6", "34", ""}}}
	var uploaded Batch
	for _, r := range []struct {
		name string
		in   []byte
		f    Format
		into *Batch
	}{
		{"dm.csv", dm.csv(), CSV, &b}, {"ae.csv", ae.csv(), CSV, &b}, {"lb.json", lb.json(), DatasetJSON, &b},
		{"lb.xpt", xpt(140, ghostLB), XPT, &uploaded},
	} {
		if err := Read(r.name, bytes.NewReader(r.in), r.f, "S1", r.into); err != nil {
			t.Fatal(err)
		}
	}
	// A batch appended to another keeps where its records were read.
	b.Append(&uploaded)
	// Records added by hand are named by domain and index.
	b.ConMeds = append(b.ConMeds, ConMed{USUBJID: "GHOST"})
	asked := map[string]int{}
	errs := b.CheckSubjects(func(id string) bool { asked[id]++; return id == "OLD" })
	wantErrors(t, errs,
		`ae.csv:4: column USUBJID: subject "GHOST" is neither in DM nor known to the study`,
		`ae.csv:5: column USUBJID: subject "GHOST" is neither in DM nor known to the study`,
		`lb.xpt: row 1: column USUBJID: subject "GHOST" is neither in DM nor known to the study`,
		`CM record 1: column USUBJID: subject "GHOST" is neither in DM nor known to the study`)
	if len(asked) != 2 || asked["OLD"] != 1 || asked["GHOST"] != 1 {
		t.Errorf("asked the database %v, want once each for OLD and GHOST", asked)
	}
}

func TestCheckSubjectsLimit(t *testing.T) {
	b := Batch{Labs: make([]clinical.LabResult, 500)}
	errs := b.CheckSubjects(nil)
	if len(errs) != maxErrors+1 || errs[maxErrors].Msg != "too many records of unknown subjects; stopped checking" {
		t.Errorf("%d errors, last %v", len(errs), errs[len(errs)-1])
	}
	if errs := readPilot(t, "dm", CSV).CheckSubjects(nil); len(errs) != 0 {
		t.Errorf("DM alone: %v", errs)
	}
}
