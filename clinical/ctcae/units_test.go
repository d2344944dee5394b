package ctcae

import (
	"testing"

	"github.com/trialwatch/trialwatch/clinical/ctcae/criteria"
	"github.com/trialwatch/trialwatch/sdtm"
)

// Every graded test converts between SI and conventional units (or, for
// a ratio, percentage or time, between its spellings), and every unit the
// tables convert is one an SDTM file may carry.
func TestEveryGradedTestHasItsUnits(t *testing.T) {
	accepted := map[string]bool{"": true}
	for _, u := range sdtm.LabUnits() {
		accepted[criteria.NormUnit(u)] = true
	}
	for _, a := range analytes {
		if len(a.units) < 2 {
			t.Errorf("%s: units %v, want SI and conventional", a.id, a.units)
		}
		for u, f := range a.units {
			if !accepted[u] {
				t.Errorf("%s: unit %q is not an SDTM lab unit", a.id, u)
			}
			if f <= 0 {
				t.Errorf("%s: unit %q has factor %v", a.id, u, f)
			}
		}
	}
	// Conventional to SI, as the AMA table writes them.
	for _, c := range []struct {
		code, from, to string
		want           float64
	}{
		{"CREAT", "mg/dL", "umol/L", 88.42}, {"BILI", "mg/dL", "umol/L", 17.1}, {"GLUC", "mg/dL", "mmol/L", 0.0555},
		{"CA", "mg/dL", "mmol/L", 0.2495}, {"MG", "mg/dL", "mmol/L", 0.4114}, {"PHOS", "mg/dL", "mmol/L", 0.3229},
		{"CHOL", "mg/dL", "mmol/L", 0.02586}, {"TRIG", "mg/dL", "mmol/L", 0.01129}, {"URATE", "mg/dL", "umol/L", 59.48},
		{"LACTICAC", "mg/dL", "mmol/L", 0.111}, {"ALT", "U/L", "ukat/L", 0.0167}, {"HGB", "g/dL", "g/L", 10},
	} {
		a, _ := analyteOf(c.code)
		f, ok := a.factor(c.from, c.to)
		if !ok || f/c.want < 0.998 || f/c.want > 1.002 {
			t.Errorf("%s %s to %s: %v, %v; want %v", c.code, c.from, c.to, f, ok, c.want)
		}
	}
}
