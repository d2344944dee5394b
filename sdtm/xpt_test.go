package sdtm

import (
	"bytes"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestIBMToFloat(t *testing.T) {
	for _, c := range []struct {
		ibm  uint64
		want float64
	}{
		{0x0000000000000000, 0},
		{0x8000000000000000, 0}, // IBM's negative zero is zero
		{0x4110000000000000, 1},
		{0xC110000000000000, -1},
		{0x4080000000000000, 0.5},
		{0x423F000000000000, 63},
		{0xC170000000000000, -7},
		{0x4264000000000000, 100},
		{0x401999999999999A, 0.1}, // the nearest IBM value to 0.1 is float64's 0.1
		{0xC276A00000000000, -118.625},
		{0x4110000000000001, 1 + 0x1p-52},
		// 56 fraction bits round once to float64's 53, to nearest.
		{0x41FFFFFFFFFFFFFF, 16},
		{0x7FFFFFFFFFFFFFFF, 0x1p252},  // the largest IBM number, rounded
		{0x0010000000000000, 0x1p-260}, // the smallest normalized one, 16^-65
	} {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], c.ibm)
		if got := ibmToFloat(b[:]); got != c.want || math.Signbit(got) != (c.want < 0) {
			t.Errorf("ibmToFloat(%016X) = %v, want %v", c.ibm, got, c.want)
		}
	}
	// SAS stores short numerics as the first bytes of the 8.
	if got := ibmToFloat([]byte{0x42, 0x3F, 0, 0}); got != 63 {
		t.Errorf("4-byte 63 read as %v", got)
	}
	if got := ibmToFloat([]byte{0xC1, 0x70}); got != -7 {
		t.Errorf("2-byte -7 read as %v", got)
	}
}

// Every float64 within IBM's range has an exact IBM form, so writing and
// reading one must give it back bit for bit.
func TestIBMRoundTrip(t *testing.T) {
	if got := floatToIBM(0.1); got != 0x401999999999999A {
		t.Fatalf("test encoder writes 0.1 as %016X", got)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 100000 {
		f := math.Ldexp(r.Float64()+0.5, r.IntN(500)-250)
		if r.IntN(2) == 0 {
			f = -f
		}
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], floatToIBM(f))
		if got := ibmToFloat(b[:]); got != f {
			t.Fatalf("%v (%016X) read back as %v", f, floatToIBM(f), got)
		}
	}
}

func TestMissingNumber(t *testing.T) {
	for _, b := range [][]byte{{'.', 0, 0, 0, 0, 0, 0, 0}, {'_', 0, 0, 0, 0, 0, 0, 0}, {'A', 0, 0, 0}, {'Z', 0}} {
		if !missingNumber(b) {
			t.Errorf("% X not read as missing", b)
		}
	}
	// 'A' is 0x41, the exponent of numbers from 1/16 to 1: with a
	// fraction it is a number.
	for _, b := range [][]byte{{'A', 0x10, 0, 0}, {'.', 0, 0, 1}, {0, 0, 0, 0}} {
		if missingNumber(b) {
			t.Errorf("% X read as missing", b)
		}
	}
}

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
	x := newXPTRecords("dm.xpt", bytes.NewReader(dm), "", DefaultLimits)
	if _, err := x.columns(); err != nil {
		t.Fatal(err)
	}
	data := bytes.Index(dm, []byte(xptObs)) + xptRecord
	cut := dm[:data+10*len(x.obs)+7]
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
