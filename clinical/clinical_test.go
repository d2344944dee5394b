package clinical

import (
	"reflect"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCheckRange(t *testing.T) {
	lab := func(v, lo, hi float64) LabResult {
		return LabResult{Value: v, HasValue: true, Low: lo, HasLow: true, High: hi, HasHigh: true}
	}
	tests := []struct {
		name  string
		r     LabResult
		ok    bool
		dir   Direction
		ratio float64
		sev   Severity
	}{
		{"normal", lab(30, 10, 40), false, "", 0, 0},
		{"exactly ULN is normal", lab(40, 10, 40), false, "", 0, 0},
		{"just above ULN", lab(41, 10, 40), true, High, 1.025, SeverityLow},
		{"1.5x ULN is still low", lab(60, 10, 40), true, High, 1.5, SeverityLow},
		{"2x ULN medium", lab(80, 10, 40), true, High, 2, SeverityMedium},
		{"exactly 3x ULN medium", lab(120, 10, 40), true, High, 3, SeverityMedium},
		{"4x ULN high", lab(160, 10, 40), true, High, 4, SeverityHigh},
		{"6x ULN critical", lab(240, 10, 40), true, High, 6, SeverityCritical},
		{"just below LLN", lab(9, 10, 40), true, Low, 0.9, SeverityLow},
		{"0.6x LLN medium", lab(6, 10, 40), true, Low, 0.6, SeverityMedium},
		{"0.3x LLN high", lab(3, 10, 40), true, Low, 0.3, SeverityHigh},
		{"0.1x LLN critical", lab(1, 10, 40), true, Low, 0.1, SeverityCritical},
		{"no value", LabResult{High: 40, HasHigh: true}, false, "", 0, 0},
		{"no upper limit", LabResult{Value: 99, HasValue: true, Low: 10, HasLow: true}, false, "", 0, 0},
		{"zero LLN cannot be below", lab(-1, 0, 40), false, "", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, ok := CheckRange(tt.r)
			if ok != tt.ok {
				t.Fatalf("ok = %v, want %v", ok, tt.ok)
			}
			if !ok {
				return
			}
			if f.Direction != tt.dir || f.Severity != tt.sev || abs(f.Ratio-tt.ratio) > 1e-9 {
				t.Errorf("got %+v, want dir=%s ratio=%g sev=%s", f, tt.dir, tt.ratio, tt.sev)
			}
		})
	}
}

func TestSeverityText(t *testing.T) {
	for s := SeverityInfo; s <= SeverityCritical; s++ {
		b, _ := s.MarshalText()
		var back Severity
		if err := back.UnmarshalText(b); err != nil || back != s {
			t.Errorf("round trip of %v gave %v, %v", s, back, err)
		}
	}
	if _, err := ParseSeverity("severe"); err == nil {
		t.Error("unknown severity accepted")
	}
}

func TestDateTime(t *testing.T) {
	tests := []struct {
		in   Date
		want time.Time
		ok   bool
	}{
		{"2014-01-02", time.Date(2014, 1, 2, 0, 0, 0, 0, time.UTC), true},
		{"2014-01-02T14:45", time.Date(2014, 1, 2, 14, 45, 0, 0, time.UTC), true},
		{"2014-01", time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"2014", time.Date(2014, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"", time.Time{}, false},
		{"02/01/2014", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := tt.in.Time()
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("Date(%q).Time() = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

func TestSignalTransitions(t *testing.T) {
	ok := []struct {
		from, to SignalStatus
		reason   string
	}{
		{StatusNew, StatusAcknowledged, ""},
		{StatusNew, StatusClosed, "duplicate of site query 12"},
		{StatusAcknowledged, StatusClosed, "AE reported"},
	}
	for _, c := range ok {
		if err := c.from.CheckTransition(c.to, c.reason); err != nil {
			t.Errorf("%s → %s refused: %v", c.from, c.to, err)
		}
	}
	bad := []struct {
		from, to SignalStatus
		reason   string
	}{
		{StatusNew, StatusClosed, " "},
		{StatusAcknowledged, StatusNew, "oops"},
		{StatusClosed, StatusAcknowledged, "reopen"},
		{StatusNew, StatusNew, ""},
	}
	for _, c := range bad {
		if err := c.from.CheckTransition(c.to, c.reason); err == nil {
			t.Errorf("%s → %s (reason %q) allowed", c.from, c.to, c.reason)
		}
	}
	if _, err := ParseSignalStatus("open"); err == nil {
		t.Error("unknown status accepted")
	}
}

// A tally of chunk summaries counts every row and lists each changed
// subject once, in the order first seen.
func TestTallyListsEachSubjectOnce(t *testing.T) {
	var tally Tally
	tally.Add(Summary{Inserted: 2, Subjects: []string{"A", "B"}})
	tally.Add(Summary{Updated: 1, Unchanged: 5, Subjects: []string{"B", "C"}})
	tally.Add(Summary{Unchanged: 1})
	got := tally.Summary()
	want := Summary{Inserted: 2, Updated: 1, Unchanged: 6, Subjects: []string{"A", "B", "C"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("tally %+v, want %+v", got, want)
	}
	var empty Tally
	if s := empty.Summary(); s.Inserted+s.Updated+s.Unchanged != 0 || len(s.Subjects) != 0 {
		t.Errorf("empty tally %+v", s)
	}
}
