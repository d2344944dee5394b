package configfile

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var known = []string{"db", "http", "check-workers", "sites", "rate-limit"}

func TestParseReadsScalarsWithTheirLines(t *testing.T) {
	f, err := Parse("tw.yaml", []byte("# settings\ndb: postgres://db/tw\nhttp: \":8080\"\n\ncheck-workers: 8\nsites: 701,702\n"), known)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Value{"db": {"postgres://db/tw", 2}, "http": {":8080", 3}, "check-workers": {"8", 5}, "sites": {"701,702", 6}}
	if len(f.Values) != len(want) {
		t.Errorf("values %v, want %v", f.Values, want)
	}
	for k, v := range want {
		if f.Values[k] != v {
			t.Errorf("%s = %+v, want %+v", k, f.Values[k], v)
		}
	}
	if got := f.Where("check-workers"); got != "tw.yaml:5" {
		t.Errorf("Where = %q", got)
	}
	for _, empty := range []string{"", "# nothing\n", "---\n"} {
		if f, err := Parse("e.yaml", []byte(empty), known); err != nil || len(f.Values) != 0 {
			t.Errorf("%q: %v, %v; want no values", empty, f, err)
		}
	}
}

// Every mistake is refused with the file, the line and what is wrong.
func TestParseRefusesWhatItCannotUse(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"db: x\nrate-limt: 5\n", `tw.yaml:2: unknown key "rate-limt": not a trialwatch flag (did you mean "rate-limit"?)`},

		{"db: x\nhttp: a\ndb: y\n", `tw.yaml:3: key "db" given again (first on line 1)`},
		{"sites:\n  - 701\n  - 702\n", `tw.yaml:2: sites: want a single value`},
		{"db:\n", `tw.yaml:1: db: no value`},
		{"- db\n", `tw.yaml:1: want a mapping of flag names to values`},
		{"db: x\n---\nhttp: y\n", `tw.yaml:2: want one YAML document`},
		{"db: [x\n", `tw.yaml: yaml:`},
		{"? [a, b]\n: c\n", `tw.yaml:1: a key must be a flag name`},
	} {
		_, err := Parse("tw.yaml", []byte(tt.in), known)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: %v, want %q", tt.in, err, tt.want)
		}
	}
}

func TestUnknownKeyFarFromAnyHasNoHint(t *testing.T) {
	_, err := Parse("tw.yaml", []byte("colour: blue\n"), known)
	if err == nil || err.Error() != `tw.yaml:1: unknown key "colour": not a trialwatch flag` {
		t.Errorf("got %v", err)
	}
}
