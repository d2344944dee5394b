package rules

import (
	"testing"

	"github.com/trialwatch/trialwatch/clinical"
)

func TestLabAEReconciliation(t *testing.T) {
	// Haemoglobin 75 g/L is CTCAE v4.03 grade 3 anemia (<80 g/L).
	const day = "2014-02-10T09:00"
	anemia := lab(4, "HGB", 75, 120, 160, day)
	ae := func(term, decoded string, start, end clinical.Date) clinical.AdverseEvent {
		return clinical.AdverseEvent{Seq: 1, Term: term, Decoded: decoded, Start: start, End: end}
	}
	tests := []struct {
		name   string
		cfg    Config
		lab    clinical.LabResult
		events []clinical.AdverseEvent
		query  bool
	}{
		{"no AE", v403, anemia, nil, true},
		{"MedDRA PT on the day", v403, anemia, []clinical.AdverseEvent{ae("LOW HB", "ANAEMIA", "2014-02-10", "")}, false},
		{"American spelling, verbatim term only", v403, anemia, []clinical.AdverseEvent{ae("anemia", "", "2014-02-10", "")}, false},
		{"onset 7 days after", v403, anemia, []clinical.AdverseEvent{ae("ANAEMIA", "ANAEMIA", "2014-02-17", "")}, false},
		{"onset 8 days after", v403, anemia, []clinical.AdverseEvent{ae("ANAEMIA", "ANAEMIA", "2014-02-18", "")}, true},
		{"resolved 7 days before", v403, anemia, []clinical.AdverseEvent{ae("ANAEMIA", "ANAEMIA", "2014-01-20", "2014-02-03")}, false},
		{"resolved 8 days before", v403, anemia, []clinical.AdverseEvent{ae("ANAEMIA", "ANAEMIA", "2014-01-20", "2014-02-02")}, true},
		{"ongoing since long before", v403, anemia, []clinical.AdverseEvent{ae("ANAEMIA", "ANAEMIA", "2013-11-01", "")}, false},
		{"onset 7 days before, still going", v403, anemia, []clinical.AdverseEvent{ae("ANAEMIA", "ANAEMIA", "2014-02-03", "2014-02-04")}, false},
		{"partial onset that may be in the window", v403, anemia, []clinical.AdverseEvent{ae("ANAEMIA", "ANAEMIA", "2014-02", "")}, false},
		{"partial onset certainly after the window", v403, anemia, []clinical.AdverseEvent{ae("ANAEMIA", "ANAEMIA", "2014-03", "")}, true},
		{"no onset date", v403, anemia, []clinical.AdverseEvent{ae("ANAEMIA", "ANAEMIA", "", "")}, false},
		{"other term", v403, anemia, []clinical.AdverseEvent{ae("NAUSEA", "NAUSEA", "2014-02-10", "")}, true},
		{"term of the other direction", v403, anemia, []clinical.AdverseEvent{ae("POLYCYTHAEMIA", "POLYCYTHAEMIA", "2014-02-10", "")}, true},
		{"study mapping for the direction", Config{Criteria: v403.Criteria, AETerms: map[string][]string{"HGB:low": {"Blood loss anaemia"}}},
			anemia, []clinical.AdverseEvent{ae("BLOOD LOSS ANEMIA", "", "2014-02-10", "")}, false},
		{"study mapping for both directions", Config{Criteria: v403.Criteria, AETerms: map[string][]string{"hgb": {"BLOOD LOSS ANAEMIA"}}},
			anemia, []clinical.AdverseEvent{ae("BLOOD LOSS ANAEMIA", "", "2014-02-10", "")}, false},
		{"study mapping for the other direction", Config{Criteria: v403.Criteria, AETerms: map[string][]string{"HGB:high": {"BLOOD LOSS ANAEMIA"}}},
			anemia, []clinical.AdverseEvent{ae("BLOOD LOSS ANAEMIA", "", "2014-02-10", "")}, true},
		{"grade 2 needs no AE", v403, lab(4, "HGB", 85, 120, 160, day), nil, false},
		{"pre-dose abnormality is medical history", v403, lab(4, "HGB", 75, 120, 160, "2014-01-05"), nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := labsInput(tt.lab)
			in.Events = tt.events
			got := only(LabAEUnreconciled, Evaluate(tt.cfg, in))
			if !tt.query {
				if len(got) != 0 {
					t.Fatalf("unexpected query: %s", got[0].Message)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("%d queries, want 1", len(got))
			}
			if got[0].Key != "HGB:low:LB:4" || got[0].Severity != clinical.SeverityMedium {
				t.Errorf("key %s severity %v, want HGB:low:LB:4 medium", got[0].Key, got[0].Severity)
			}
		})
	}
}

func TestReconciliationNeedsEvents(t *testing.T) {
	in := labsInput(lab(4, "HGB", 75, 120, 160, "2014-02-10"))
	in.HaveEvents = false
	sigs := Evaluate(v403, in)
	if n := len(only(LabAEUnreconciled, sigs)); n != 0 {
		t.Errorf("%d queries raised while the AE source is down", n)
	}
	if n := len(only(CTCAEGrade, sigs)); n != 1 {
		t.Errorf("%d grade signals, want 1: the lab rules do not need AEs", n)
	}
}

func TestFoldTerm(t *testing.T) {
	for in, want := range map[string]string{
		"Anaemia": "ANEMIA", " hyperkalaemia ": "HYPERKALEMIA", "HAEMOGLOBIN  DECREASED": "HEMOGLOBIN DECREASED",
		"ALANINE AMINOTRANSFERASE INCREASED": "ALANINE AMINOTRANSFERASE INCREASED",
	} {
		if got := foldTerm(in); got != want {
			t.Errorf("foldTerm(%q) = %q, want %q", in, got, want)
		}
	}
}

// Every direction CTCAE grades in the table must be a real direction, and
// every term written in capitals as MedDRA prints them.
func TestDefaultAETermsTable(t *testing.T) {
	for side, terms := range DefaultAETerms {
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
