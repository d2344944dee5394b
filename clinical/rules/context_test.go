package rules

import (
	"strings"
	"testing"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
)

// The study's grading context reaches the grades: a potassium just below
// LLN is grade 1 by its number and grade 2 if assumed symptomatic.
func TestGradingContext(t *testing.T) {
	in := labsInput(lab(1, "K", 3.3, 3.5, 5.1, "2014-02-01"))
	for _, tt := range []struct {
		context ctcae.Context
		want    clinical.Severity
	}{{"", clinical.SeverityLow}, {ctcae.NumberOnly, clinical.SeverityLow}, {ctcae.WorstCase, clinical.SeverityMedium}} {
		sigs := only(CTCAEGrade, Evaluate(Config{GradingContext: tt.context}, in))
		if len(sigs) != 1 || sigs[0].Severity != tt.want {
			t.Errorf("grading context %q: %+v, want one %v finding", tt.context, sigs, tt.want)
		}
	}
	if got := DefaultConfig().GradingContext; got != ctcae.NumberOnly {
		t.Errorf("default grading context %q, want %q", got, ctcae.NumberOnly)
	}
	err := Config{GradingContext: "symptomatic"}.Validate()
	if err == nil || !strings.HasPrefix(err.Error(), "grading_context: ") {
		t.Errorf("Validate of an unknown grading context: %v, want an error naming grading_context", err)
	}
}
