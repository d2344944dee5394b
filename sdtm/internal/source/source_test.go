package source_test

import (
	"errors"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/sdtm/internal/source"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestErrorLocation checks an error names where it is: a CSV line, else a
// row or observation, and the column, or the file alone.
func TestErrorLocation(t *testing.T) {
	for _, tc := range []struct {
		err  *source.Error
		want string
	}{
		{source.Position{Line: 12}.Error("lb.csv", "LBORRES", "not a number"), "lb.csv:12: column LBORRES: not a number"},
		{source.Position{Row: 3}.Error("lb.json", "LBDTC", "not a date"), "lb.json: row 3: column LBDTC: not a date"},
		{source.Position{Line: 2, Row: 3}.Error("lb.csv", "", "too many values"), "lb.csv:2: too many values"},
		{source.Position{}.Error("lb.xpt", "", "not an XPT file"), "lb.xpt: not an XPT file"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
	bad := error(source.BadRow{Err: source.Position{Line: 4}.Error("dm.csv", "AGE", "negative")})
	var row source.BadRow
	if !errors.As(bad, &row) || bad.Error() != "dm.csv:4: column AGE: negative" || row.Err.Line != 4 {
		t.Errorf("BadRow = %v, want the row's error, found by errors.As", bad)
	}
}

func TestSizes(t *testing.T) {
	for n, want := range map[int64]string{
		0:             "0 bytes",
		1000:          "1000 bytes",
		1 << 10:       "1 KiB",
		1536:          "1536 bytes", // not a whole KiB
		64 << 20:      "64 MiB",
		3 << 30:       "3 GiB",
		1<<30 + 1<<20: "1025 MiB",
	} {
		if got := source.SizeText(n); got != want {
			t.Errorf("SizeText(%d) = %q, want %q", n, got, want)
		}
	}
	if got, want := (&source.TooLargeError{File: "lb.xpt.gz", Limit: 1 << 30}).Error(), "lb.xpt.gz: more than 1 GiB once decompressed, the most one upload may hold"; got != want {
		t.Errorf("TooLargeError = %q, want %q", got, want)
	}
	if got, want := source.ValueTooLong(source.Bounds{Value: 64 << 10}), "value longer than 64 KiB, the most a value may be"; got != want {
		t.Errorf("ValueTooLong = %q, want %q", got, want)
	}
}

func TestColumnName(t *testing.T) {
	for in, want := range map[string]string{
		"usubjid":         "USUBJID",
		"  LBTESTCD ":     "LBTESTCD",
		"\ufeffSTUDYID":   "STUDYID", // a UTF-8 byte order mark before the first header
		"\ufeff studyid ": "STUDYID",
	} {
		if got := source.ColumnName(in); got != want {
			t.Errorf("ColumnName(%q) = %q, want %q", in, got, want)
		}
	}
}
