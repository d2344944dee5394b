package subjectview

import (
	"slices"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func view(subj clinical.Subject, labs ...clinical.LabResult) *View {
	return New(&subj, labs, ctcae.FindBaselines(labs, map[string]clinical.Date{subj.USUBJID: subj.FirstDose}), "sdtm")
}

// ByDate and Earlier are one order: by earliest instant (a partial date
// at its start), then LBSEQ, undated last; the liver rules use both.
func TestDateOrder(t *testing.T) {
	labs := []clinical.LabResult{
		{Seq: 1, TestCode: "ALT", Date: ""},
		{Seq: 2, TestCode: "ALT", Date: "2014-02-01T10:00+02:00"}, // 08:00 UTC
		{Seq: 3, TestCode: "AST", Date: "2014-02"},
		{Seq: 4, TestCode: "ALT", Date: "2014-02-01T09:00"},
		{Seq: 5, TestCode: "ALT", Date: "2014-02-01"},
	}
	v := view(clinical.Subject{USUBJID: "A"}, labs...)
	if want := []int{2, 4, 1, 3, 0}; !slices.Equal(v.ByDate, want) {
		t.Errorf("ByDate %v, want %v", v.ByDate, want)
	}
	if want := []int{4, 1, 3, 0}; !slices.Equal(v.ByTest["ALT"], want) {
		t.Errorf("ByTest[ALT] %v, want %v", v.ByTest["ALT"], want)
	}
	for k := 1; k < len(v.ByDate); k++ {
		a, b := &labs[v.ByDate[k-1]], &labs[v.ByDate[k]]
		if !Earlier(a, b) || Earlier(b, a) {
			t.Errorf("Earlier disagrees with ByDate on LB:%d and LB:%d", a.Seq, b.Seq)
		}
	}
}

// On treatment: not the baseline record, and not certainly before the
// first-dose day; with no first dose, every other draw.
func TestOnTreatment(t *testing.T) {
	labs := []clinical.LabResult{
		{Seq: 1, TestCode: "ALT", Date: "2014-01-05", Value: 30, HasValue: true, Baseline: true},
		{Seq: 2, TestCode: "ALT", Date: "2014-01-09"},
		{Seq: 3, TestCode: "ALT", Date: "2014-01-10T06:00"}, // the first-dose day
		{Seq: 4, TestCode: "ALT", Date: "2014-01"},          // may be after
		{Seq: 5, TestCode: "ALT", Date: ""},
	}
	for _, tt := range []struct {
		firstDose clinical.Date
		want      []bool
	}{
		{"2014-01-10", []bool{false, false, true, true, true}},
		{"", []bool{false, true, true, true, true}},
	} {
		v := view(clinical.Subject{USUBJID: "A", FirstDose: tt.firstDose}, labs...)
		for i := range labs {
			if got := v.OnTreatment(&labs[i]); got != tt.want[i] {
				t.Errorf("first dose %q: LB:%d on treatment %v, want %v", tt.firstDose, labs[i].Seq, got, tt.want[i])
			}
		}
		if b := v.BaselineOf(2); b == nil || b.Seq != 1 {
			t.Errorf("first dose %q: baseline of LB:3 %v, want LB:1", tt.firstDose, b)
		}
	}
}
