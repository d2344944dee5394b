package sdtm

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
)

var ruleLB = []string{"STUDYID", "DOMAIN", "USUBJID", "LBSEQ", "LBTESTCD", "LBTEST", "LBSTRESN", "LBSTRESU", "LBSTNRLO", "LBSTNRHI", "LBDTC"}

// ruleRow is a valid LB row with some of its cells replaced.
func ruleRow(seq float64, edits ...any) []any {
	r := []any{"S1", "LB", "A", seq, "ALT", "Alanine Aminotransferase", 20.0, "U/L", 6.0, 34.0, "2014-01-02"}
	for i := 0; i < len(edits); i += 2 {
		r[slices.Index(ruleLB, edits[i].(string))] = edits[i+1]
	}
	return r
}

// Every rule refuses the same problem the same way in every format: the
// same message, at the same column, of the row the format counts (a CSV
// line, a Dataset-JSON row, an XPT observation; a problem with the file's
// columns is on line 1 of a CSV file, and of no row in the others).
func TestEveryRuleInEveryFormat(t *testing.T) {
	ae := []string{"STUDYID", "DOMAIN", "USUBJID", "AESEQ", "AETERM", "AESTDTC", "AEENDTC"}
	for _, c := range []struct {
		rule string
		tb   table
		want []problem
		// latin1 says XPT reads the file without a problem: XPT text that
		// is not UTF-8 is Latin-1, as SAS v5 sessions wrote it.
		latin1 bool
	}{
		{"invalid UTF-8", table{"LB", ruleLB, [][]any{ruleRow(1, "LBTEST", "caf\xe9")}},
			[]problem{{1, "LBTEST", "text is not valid UTF-8 (byte 4); save the file as UTF-8"}}, true},
		{"unpaired surrogate", table{"LB", ruleLB, [][]any{ruleRow(1, "LBTEST", "x\xed\xa0\x80y")}},
			[]problem{{1, "LBTEST", "unpaired UTF-16 surrogate U+D800 at character 2: text must be characters (UTF-8)"}}, true},
		{"control character", table{"LB", ruleLB, [][]any{ruleRow(1, "LBTEST", "x\x01y"), ruleRow(2, "LBTEST", "x\x00y")}},
			[]problem{
				{1, "LBTEST", "control character U+0001 at character 2: text may hold tabs and line breaks, no other control characters"},
				{2, "LBTEST", "control character U+0000 at character 2: text may hold tabs and line breaks, no other control characters"},
			}, false},
		{"negative or zero --SEQ", table{"LB", ruleLB, [][]any{ruleRow(-1), ruleRow(0), ruleRow(1)}},
			[]problem{{1, "LBSEQ", `"-1" is not a positive whole number`}, {2, "LBSEQ", `"0" is not a positive whole number`}}, false},
		{"duplicate --SEQ", table{"LB", ruleLB, [][]any{ruleRow(1), ruleRow(2), ruleRow(1)}},
			[]problem{{3, "LBSEQ", `duplicate key USUBJID "A", LBSEQ 1 (first on {first})`}}, false},
		{"duplicated column", table{"LB", append(slices.Clone(ruleLB), "lbseq"), [][]any{append(ruleRow(1), 2.0)}},
			[]problem{{0, "LBSEQ", "the file has this column twice (columns 4 and 12)"}}, false},
		{"inverted normal range", table{"LB", ruleLB, [][]any{ruleRow(1, "LBSTNRLO", 34.0, "LBSTNRHI", 6.0), ruleRow(2, "LBSTNRLO", 6.0, "LBSTNRHI", 6.0)}},
			[]problem{{1, "LBSTNRHI", `"6" is below LBSTNRLO "34": the range is inverted`}}, false},
		{"inverted dates", table{"AE", ae, [][]any{
			{"S1", "AE", "A", 1.0, "RASH", "2014-03-02", "2014-02"},
			{"S1", "AE", "A", 2.0, "RASH", "2014-03-02T10:00", "2014-03-02T09"},
			{"S1", "AE", "A", 3.0, "RASH", "2014-03-02T10:00", "2014-03"}, // the same month: may be later
			{"S1", "AE", "A", 4.0, "RASH", "2014-03", "2014-03-01"},
			// Offsets compare in UTC: 10:00+02:00 is 08:00Z, before 09:00Z,
			// though its text sorts after it.
			{"S1", "AE", "A", 5.0, "RASH", "2014-03-02T10:00+02:00", "2014-03-02T09:00Z"},
			{"S1", "AE", "A", 6.0, "RASH", "2014-03-02T10:00Z", "2014-03-02T11:00+02:00"},
			{"S1", "AE", "A", 7.0, "RASH", "2014-03-02T10:00:00.5", "2014-03-02T10:00:00.25"},
		}}, []problem{
			{1, "AEENDTC", `"2014-02" is before AESTDTC "2014-03-02"`},
			{2, "AEENDTC", `"2014-03-02T09" is before AESTDTC "2014-03-02T10:00"`},
			{6, "AEENDTC", `"2014-03-02T11:00+02:00" is before AESTDTC "2014-03-02T10:00Z"`},
			{7, "AEENDTC", `"2014-03-02T10:00:00.25" is before AESTDTC "2014-03-02T10:00:00.5"`},
		}, false},
		{"impossible dates", table{"LB", ruleLB, [][]any{ruleRow(1, "LBDTC", "0000-01-01"), ruleRow(2, "LBDTC", "2014-02-30"), ruleRow(3, "LBDTC", "1899")}},
			[]problem{
				{1, "LBDTC", `"0000-01-01" is not a plausible date: the year is before 1900`},
				{2, "LBDTC", `"2014-02-30" is not an ISO 8601 date`},
				{3, "LBDTC", `"1899" is not a plausible date: the year is before 1900`},
			}, false},
	} {
		for _, f := range formats {
			t.Run(c.rule+"/"+string(f.format), func(t *testing.T) {
				file := "x." + string(f.format)
				var b Batch
				err := Read(file, bytes.NewReader(f.write(c.tb)), f.format, "S1", &b)
				if c.latin1 && f.format == XPT {
					if err != nil {
						t.Fatalf("XPT reads text that is not UTF-8 as Latin-1, but: %v", err)
					}
					return
				}
				var want []string
				for _, p := range c.want {
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
					t.Errorf("%d records kept from a refused file", b.Len())
				}
			})
		}
	}
}

func TestQuotedShortensLongValues(t *testing.T) {
	long := strings.Repeat("é", 100)
	got := quoted(long)
	if want := fmt.Sprintf("%q… (200 bytes)", strings.Repeat("é", 32)); got != want {
		t.Errorf("quoted = %s, want %s", got, want)
	}
	if got := quoted("short"); got != `"short"` {
		t.Errorf("quoted(short) = %s", got)
	}
}
