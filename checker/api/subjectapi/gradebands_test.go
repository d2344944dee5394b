package subjectapi

import (
	"fmt"
	"testing"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
)

// A grader with known thresholds: hypoalbuminemia below 35 (the LLN),
// 30 and 20 g/L, nothing higher; no term for "high".
func albuminGrader(l clinical.LabResult) []ctcae.Result {
	g := 0
	switch {
	case l.Value < 20:
		g = 3
	case l.Value < 30:
		g = 2
	case l.Value < 35:
		g = 1
	}
	return []ctcae.Result{{Term: "Hypoalbuminemia", TestCode: l.TestCode, Direction: ctcae.Low, Grade: g, Gradable: true}}
}

func TestGradeBandsOfALowTerm(t *testing.T) {
	labs := []clinical.LabResult{
		{Seq: 1, TestCode: "ALB", Value: 40, HasValue: true, Unit: "g/L", Low: 35, HasLow: true, High: 50, HasHigh: true},
		{Seq: 2, TestCode: "ALB", Unit: "g/L"}, // no value: not the one the bands are for
	}
	got := gradeBands(albuminGrader, labs)
	if len(got) != 1 || got[0].Seq != 1 || got[0].Direction != ctcae.Low {
		t.Fatalf("bands %+v", got)
	}
	if s := fmt.Sprint(got[0].Limits); s != "[{1 35} {2 30} {3 20}]" {
		t.Errorf("hypoalbuminemia starts at %s, want grade 1 below 35, 2 below 30, 3 below 20 (no grade 4)", s)
	}
	// A grader that grades every value gives no band to draw; one that
	// cannot grade gives none either.
	always := func(l clinical.LabResult) []ctcae.Result {
		return []ctcae.Result{{Term: "T", Direction: ctcae.High, Grade: 1, Gradable: true}}
	}
	never := func(l clinical.LabResult) []ctcae.Result { return []ctcae.Result{{Term: "T", Direction: ctcae.High}} }
	if got := gradeBands(always, labs); len(got) != 0 {
		t.Errorf("graded at every value: %+v", got)
	}
	if got := gradeBands(never, labs); len(got) != 0 {
		t.Errorf("never gradable: %+v", got)
	}
}
