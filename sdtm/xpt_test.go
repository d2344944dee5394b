package sdtm

import (
	"bytes"
	"strings"
	"testing"

	"github.com/trialwatch/trialwatch/sdtm/internal/xptfile"
)

var xptDM = table{name: "DM", header: []string{"STUDYID", "DOMAIN", "USUBJID", "SITEID", "AGE"}, rows: [][]any{
	{"S1", "DM", "A", "701", 63.0},
	{"S1", "DM", "B", "701", nil},
	{"S1", "DM", "C", "702", sasMissing('A')},
	{"S1", "DM", "D", "702", sasMissing('_')},
}}

var xptAE = table{name: "AE", header: []string{"STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM"}, rows: [][]any{
	{"S1", "AE", "A", 1.0, "HEADACHE"},
}}

func ages(b *Batch) []int {
	var a []int
	for _, s := range b.Subjects {
		a = append(a, s.Age)
	}
	return a
}

// Observations shorter than a record leave blank padding at the end of
// the member, which must not be read as rows, before the end of the file
// or the next member; either descriptor size reads alike.
func TestXPTMembersAndPadding(t *testing.T) {
	for _, size := range []int{140, 136} {
		file := xpt(size, xptDM, xptAE)
		var b Batch
		if err := ReadXPT("x.xpt", bytes.NewReader(file), "", "S1", &b); err != nil {
			t.Fatalf("first member: %v", err)
		}
		if got := ages(&b); len(got) != 4 || got[0] != 63 || got[1]+got[2]+got[3] != 0 {
			t.Errorf("namestr %d: ages %v, want 63 and three missing", size, got)
		}
		if err := ReadXPT("x.xpt", bytes.NewReader(file), "ae", "S1", &b); err != nil {
			t.Fatalf("member AE: %v", err)
		}
		if len(b.Events) != 1 || b.Events[0].Seq != 1 || b.Events[0].Term != "HEADACHE" {
			t.Errorf("namestr %d: AE read as %+v", size, b.Events)
		}
		wantErrors(t, ReadXPT("x.xpt", bytes.NewReader(file), "LB", "S1", &b), `x.xpt: has no member "LB" (it has DM, AE)`)
	}
}

func TestXPTRejects(t *testing.T) {
	dm := unzip(t, pilotPath("dm", XPT))
	const obsLen = 348 // bytes of one pilot DM observation
	data := bytes.Index(dm, []byte(xptfile.ObsHeader)) + xptfile.RecordSize
	cut := dm[:data+10*obsLen+7]
	v8 := bytes.Replace(dm, []byte("LIBRARY HEADER RECORD"), []byte("LIBV8   HEADER RECORD"), 1)
	for _, c := range []struct {
		in   []byte
		want string
	}{
		{cut, "dm.xpt: row 11: file ends 7 bytes into this 348-byte observation"},
		{dm[:data-40], "dm.xpt: file ends where the observation header was expected: not a complete SAS XPORT file"},
		{v8, "dm.xpt: is SAS XPORT version 8 or 9; trialwatch reads version 5, the one FDA and PMDA require"},
		{[]byte(strings.Repeat("x", 200)), "dm.xpt: not a SAS XPORT file: no library header"},
		{nil, "dm.xpt: empty file: want a SAS XPORT library header"},
	} {
		wantErrors(t, ReadXPT("dm.xpt", bytes.NewReader(c.in), "", pilot, &Batch{}), c.want)
	}
}

// Old SAS sessions wrote Latin-1; the database wants UTF-8.
func TestXPTLatin1(t *testing.T) {
	ae := table{name: "AE", header: xptAE.header, rows: [][]any{{"S1", "AE", "A", 1.0, "NAUS\xC9E"}}}
	var b Batch
	if err := ReadXPT("ae.xpt", bytes.NewReader(xpt(140, ae)), "", "S1", &b); err != nil {
		t.Fatal(err)
	}
	if b.Events[0].Term != "NAUSÉE" {
		t.Errorf("term %q, want NAUSÉE", b.Events[0].Term)
	}
}
