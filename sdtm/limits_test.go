package sdtm

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/trialwatch/trialwatch/sdtm/internal/source"
)

const lbCSVHeader = "STUDYID,DOMAIN,USUBJID,LBSEQ,LBTESTCD,LBTEST,LBSTRESN,LBSTRESU,LBSTNRLO,LBSTNRHI\n"

func lbCSVRow(seq int, test string) string {
	return fmt.Sprintf("S1,LB,A,%d,ALT,%s,20,U/L,6,34\n", seq, test)
}

// Each limit stops a read as the input passes it, with a problem that
// names the limit and where it was passed.
func TestLimitsAreNamedWhereTheyArePassed(t *testing.T) {
	small := Limits{Record: 200, Value: 20, Depth: 4}
	long := strings.Repeat("x", 21)
	lbJSON := func(rows string) string {
		return `{"columns":[{"name":"STUDYID"},{"name":"DOMAIN"},{"name":"USUBJID"},{"name":"LBSEQ"},{"name":"LBTESTCD"},{"name":"LBTEST"}],"rows":[` + rows + `]}`
	}
	for _, c := range []struct {
		name   string
		format Format
		in     string
		want   string
	}{
		{"CSV value", CSV, lbCSVHeader + lbCSVRow(1, "ok") + lbCSVRow(2, long),
			"x:3: column LBTEST: value longer than 20 bytes, the most a value may be"},
		{"CSV quoted value over lines", CSV, lbCSVHeader + lbCSVRow(1, `"a`+strings.Repeat("\n", 20)+`b"`),
			"x:2: column LBTEST: value longer than 20 bytes, the most a value may be"},
		{"CSV quoted value with escaped quotes", CSV, lbCSVHeader + lbCSVRow(1, `"a""b""c"`) + lbCSVRow(2, `"`+strings.Repeat(`""`, 21)+`"`),
			"x:3: column LBTEST: value longer than 20 bytes, the most a value may be"},
		{"CSV header value", CSV, "STUDYID," + long + "\n",
			"x:1: value longer than 20 bytes, the most a value may be"},
		{"CSV record", CSV, lbCSVHeader + strings.Repeat("a,", 150) + "\n",
			"x:2: record longer than 200 bytes, the most a record may be"},
		{"JSON nesting", DatasetJSON, `{"sourceSystem":` + strings.Repeat("[", 10) + strings.Repeat("]", 10) + `}`,
			"x: arrays and objects nested more than 4 deep, the most a file may nest (at byte 20)"},
		{"JSON value", DatasetJSON, lbJSON(`["S1","LB","A",1,"ALT","` + long + `"]`),
			"x: row 1: column LBTEST: value longer than 20 bytes, the most a value may be (at byte 177)"},
		{"JSON number", DatasetJSON, lbJSON(`["S1","LB","A",1` + strings.Repeat("0", 30) + `,"ALT","T"]`),
			"x: row 1: column LBSEQ: value longer than 20 bytes, the most a value may be (at byte 168)"},
		{"JSON row", DatasetJSON, lbJSON(`["S1","LB","A",1,"ALT","T"` + strings.Repeat(`,"abcdefghij"`, 20) + `]`),
			"x: row 1: row (or other nested value) longer than 200 bytes, the most a record may be (at byte 333)"},
		{"JSON column name", DatasetJSON, `{"columns":[{"name":"` + long + `"}]}`,
			"x: value longer than 20 bytes, the most a value may be (at byte 42)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Read("x", strings.NewReader(c.in), c.format, "S1", &Batch{}, WithLimits(small))
			wantErrors(t, err, c.want)
		})
	}

	// XPT's fixed layout says a value's length before any is read.
	tb := table{name: "LB", header: ruleLB, rows: [][]any{ruleRow(1, "LBTEST", long)}}
	wantErrors(t, Read("x", bytes.NewReader(xpt(140, tb)), XPT, "S1", &Batch{}, WithLimits(small)),
		"x: variable LBTEST of member LB is 21 bytes long: value longer than 20 bytes, the most a value may be")
	wantErrors(t, Read("x", bytes.NewReader(xpt(140, tb)), XPT, "S1", &Batch{}, WithLimits(Limits{Record: 64})),
		"x: variable LBDTC of member LB lies at bytes 64 to 74 of an observation, longer than 64 bytes, the most a record may be")
}

func TestTooManyValuesInACSVRecord(t *testing.T) {
	in := lbCSVHeader + strings.Repeat(",", source.MaxColumns) + "\n"
	wantErrors(t, ReadCSV("x", strings.NewReader(in), "S1", &Batch{}), "x:2: has more than 10000 values, more than any SDTM file")
}

func TestErrorsLimit(t *testing.T) {
	var in strings.Builder
	in.WriteString(lbCSVHeader)
	for i := range 20 {
		in.WriteString(lbCSVRow(-i, "T"))
	}
	var errs Errors
	err := ReadCSV("x", strings.NewReader(in.String()), "S1", &Batch{}, WithLimits(Limits{Errors: 5}))
	if !errors.As(err, &errs) || len(errs) != 6 || errs[5].Msg != "too many errors; stopped reading" {
		t.Fatalf("err = %v, want 5 problems and a last word", err)
	}
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	return buf.Bytes()
}

// What a file holds decompressed is bounded, per read or by a budget that
// reads share, and a file that ends at the limit is read whole.
func TestDecompressedBytes(t *testing.T) {
	in := []byte(lbCSVHeader + lbCSVRow(1, "T") + lbCSVRow(2, "T"))
	for _, data := range [][]byte{in, gzipped(t, in)} {
		var b Batch
		if err := Read("x", bytes.NewReader(data), CSV, "S1", &b, WithLimits(Limits{Bytes: int64(len(in))})); err != nil || len(b.Labs) != 2 {
			t.Fatalf("a file of the limit: %d labs, %v", len(b.Labs), err)
		}
		err := Read("x", bytes.NewReader(data), CSV, "S1", &b, WithLimits(Limits{Bytes: int64(len(in)) - 1}))
		var tooLarge *TooLargeError
		if !errors.As(err, &tooLarge) || err.Error() != fmt.Sprintf("x: more than %d bytes once decompressed, the most one upload may hold", len(in)-1) {
			t.Fatalf("a file past the limit: %v", err)
		}
	}

	budget := NewBudget(int64(2*len(in)) - 1)
	if err := Read("a", bytes.NewReader(in), CSV, "S1", &Batch{}, WithBudget(budget)); err != nil {
		t.Fatal(err)
	}
	// The sniffing of a file's domain takes nothing from the budget.
	if d := Domain("b", bytes.NewReader(in), CSV, WithBudget(budget)); d != "LB" {
		t.Fatalf("domain %q", d)
	}
	err := Stream("b", bytes.NewReader(gzipped(t, in)), CSV, "S1", 1, func(*Batch) error { return nil }, WithBudget(budget))
	var tooLarge *TooLargeError
	if !errors.As(err, &tooLarge) || tooLarge.File != "b" || tooLarge.Limit != int64(2*len(in))-1 {
		t.Fatalf("the second file past the budget: %v", err)
	}
}

// A Dataset-JSON or XPT file whose budget runs out mid-way is too large,
// not malformed, whatever its reader made of its end.
func TestDecompressedBytesInEveryFormat(t *testing.T) {
	tb := table{name: "LB", header: ruleLB, rows: [][]any{ruleRow(1), ruleRow(2), ruleRow(3)}}
	for _, f := range formats {
		data := f.write(tb)
		for _, n := range []int64{1, 50, int64(len(data)) / 2, int64(len(data)) - 1} {
			err := Read("x", bytes.NewReader(gzipped(t, data)), f.format, "S1", &Batch{}, WithLimits(Limits{Bytes: n}))
			var tooLarge *TooLargeError
			if !errors.As(err, &tooLarge) {
				t.Errorf("%s cut at %d: %v, want too large", f.format, n, err)
			}
		}
	}
}

var _ io.Reader = (*budgetReader)(nil)
