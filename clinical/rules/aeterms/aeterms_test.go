package aeterms

import "testing"

func TestFoldTerm(t *testing.T) {
	for in, want := range map[string]string{
		"Anaemia": "ANEMIA", " hyperkalaemia ": "HYPERKALEMIA", "HAEMOGLOBIN  DECREASED": "HEMOGLOBIN DECREASED",
		"ALANINE AMINOTRANSFERASE INCREASED": "ALANINE AMINOTRANSFERASE INCREASED",
	} {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every direction CTCAE grades in the table must be a real direction, and
// every term written in capitals as MedDRA prints them.
func TestDefaultTable(t *testing.T) {
	for side, terms := range Default {
		if side.Direction != "high" && side.Direction != "low" {
			t.Errorf("%v: direction", side)
		}
		if len(terms) == 0 {
			t.Errorf("%v: no terms", side)
		}
		for _, term := range terms {
			if term != foldTermCase(term) {
				t.Errorf("%v: term %q not in MedDRA capitals", side, term)
			}
		}
	}
}

func foldTermCase(s string) string {
	out := []rune(s)
	for i, r := range out {
		if r >= 'a' && r <= 'z' {
			out[i] = r - 'a' + 'A'
		}
	}
	return string(out)
}
