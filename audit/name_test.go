package audit_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestName(t *testing.T) {
	long := strings.Repeat("é", 2500) // 5,000 bytes
	for _, tc := range []struct{ in, want string }{
		{"jane", "jane"},
		{"site.user@example.org", "site.user@example.org"},
		{"-x", "-x"}, // a user name may start so; the CSV export neutralises it
		{"", `""`},
		{"jane doe", `"jane doe"`},
		{"ja\x00ne", `"ja\x00ne"`},
		{"jane\nINFO forged line", `"jane\nINFO forged line"`},
		{"\x1b[31mroot", `"\x1b[31mroot"`},
		{"ja\xffne", `"ja\xffne"`},
		{"admin\u202egnp.exe", `"admin\u202egnp.exe"`},
		{"Émile", `"Émile"`},
		{`"jane"`, `"\"jane\""`},
		{strings.Repeat("a", audit.MaxNameBytes), strings.Repeat("a", audit.MaxNameBytes)},
		{strings.Repeat("a", 200), `"` + strings.Repeat("a", 128-len(`""…[200 bytes]`)) + `"…[200 bytes]`},
		{long, `"` + strings.Repeat("é", (128-len(`""…[5000 bytes]`))/2) + `"…[5000 bytes]`},
		{strings.Repeat("\x00", 100), `"` + strings.Repeat(`\x00`, (128-len(`""…[100 bytes]`))/4) + `"…[100 bytes]`},
	} {
		got, cut := audit.CutName(tc.in)
		if got != tc.want {
			t.Errorf("Name(%.40q) = %q, want %q", tc.in, got, tc.want)
		}
		if len(got) > audit.MaxNameBytes || !utf8.ValidString(got) || strings.ContainsAny(got, "\x00\n\x1b\u202e") {
			t.Errorf("Name(%.40q) = %q: too long, bad UTF-8 or control characters", tc.in, got)
		}
		if wantCut := strings.HasSuffix(tc.want, " bytes]"); cut != wantCut {
			t.Errorf("Name(%.40q): cut = %v, want %v", tc.in, cut, wantCut)
		}
	}
}

// Every name, as Name writes it, makes a record both backends store.
func TestNameIsStorable(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		l := open(t, db)
		for _, name := range []string{"", "\x00", "ja\xffne", strings.Repeat("\xff", 300), "\u202e"} {
			if _, err := l.Append(t.Context(), audit.Record{Actor: audit.Name(name), Entity: "login", EntityID: audit.Name(name), Action: "failed"}); err != nil {
				t.Errorf("record of name %q: %v", name, err)
			}
		}
	})
}

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{
		"":                         "",
		"jane":                     "jane",
		"=HYPERLINK(\"http://x\")": "'=HYPERLINK(\"http://x\")",
		"+1":                       "'+1",
		"-2+3":                     "'-2+3",
		"@SUM(A1)":                 "'@SUM(A1)",
		"\t=1":                     "'\t=1",
		"\r=1":                     "'\r=1",
		`{"reason":"=1"}`:          `{"reason":"=1"}`,
		"'=1":                      "'=1",
		"a=1":                      "a=1",
	} {
		if got := audit.CSVCell(in); got != want {
			t.Errorf("CSVCell(%q) = %q, want %q", in, got, want)
		}
	}
}
