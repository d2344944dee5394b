package rules

import (
	"slices"
	"testing"

	"github.com/trialwatch/trialwatch/clinical"
)

func TestSAELate(t *testing.T) {
	tests := []struct {
		name            string
		serious         bool
		onset, recorded clinical.Date
		late            int // expected days_to_record; 0 for no signal
	}{
		{"same day", true, "2014-02-01", "2014-02-01", 0},
		{"exactly 1 day", true, "2014-02-01", "2014-02-02", 0},
		// With times on both dates the delay is counted in hours.
		{"next day but 39 hours", true, "2014-02-01T08:00", "2014-02-02T23:00", 39},
		{"onset 10:00, recorded next day 18:00", true, "2014-02-01T10:00", "2014-02-02T18:00", 32},
		{"next day within 24 hours", true, "2014-02-01T10:00", "2014-02-02T09:59", 0},
		{"a time on one date only counts days", true, "2014-02-01T10:00", "2014-02-02", 0},
		{"2 days", true, "2014-02-01", "2014-02-03", 2},
		{"not serious", false, "2014-02-01", "2014-03-01", 0},
		{"no onset", true, "", "2014-03-01", 0},
		{"no record date", true, "2014-02-01", "", 0},
		{"partial onset, late whatever the day", true, "2014-01", "2014-02-03", 3},
		{"partial onset, maybe on time", true, "2014-02", "2014-02-03", 0},
	}
	for _, tt := range tests {
		in := labsInput()
		in.Events = []clinical.AdverseEvent{{Seq: 9, Term: "SYNCOPE", Decoded: "SYNCOPE", Serious: tt.serious, Start: tt.onset, Recorded: tt.recorded}}
		got := only(SAELate, Evaluate(Config{}, in))
		if tt.late == 0 {
			if len(got) != 0 {
				t.Errorf("%s: unexpected %s", tt.name, got[0].Message)
			}
			continue
		}
		delay := got[0].Evidence["days_to_record"]
		if h, ok := got[0].Evidence["hours_to_record"]; ok {
			delay = int(h.(float64))
		}
		if len(got) != 1 || got[0].Key != "AE:9" || delay != tt.late {
			t.Errorf("%s: got %v, want one AE:9 signal %d days (or hours, with times) late", tt.name, got, tt.late)
		}
	}

	in := labsInput()
	in.Events = []clinical.AdverseEvent{{Seq: 9, Serious: true, Start: "2014-02-01", Recorded: "2014-03-01"}}
	in.HaveEvents = false
	if got := only(SAELate, Evaluate(Config{}, in)); len(got) != 0 {
		t.Error("SAE rule ran without the AE source")
	}
}

// A serious AE with no record date is a finding of its own: nobody can
// tell whether it reached the sponsor in time.
func TestSAENoReportDate(t *testing.T) {
	in := labsInput()
	in.Events = []clinical.AdverseEvent{
		{Seq: 9, Term: "SYNCOPE", Serious: true, Start: "2014-02-01"},
		{Seq: 10, Term: "HEADACHE", Start: "2014-02-01"},
		{Seq: 11, Term: "FALL", Serious: true, Start: "2014-02-01", Recorded: "2014-02-01"},
	}
	sigs := Evaluate(Config{}, in)
	if got := keysOf(SAENoReportDate, sigs); !slices.Equal(got, []string{"AE:9"}) {
		t.Errorf("SAE_NO_REPORT_DATE keys %v, want [AE:9]", got)
	}
	if got := keysOf(SAELate, sigs); len(got) != 0 {
		t.Errorf("SAE_LATE %v, want none", got)
	}
}

func dose(seq int, start clinical.Date) clinical.Dose {
	return clinical.Dose{Seq: seq, Treatment: "XANOMELINE", Dose: 54, HasDose: true, Unit: "mg", Start: start}
}

func TestDoseBeforeConsent(t *testing.T) {
	tests := []struct {
		name    string
		consent clinical.Date
		doses   []clinical.Dose
		keys    []string
	}{
		{"day before consent", "2014-01-15", []clinical.Dose{dose(1, "2014-01-14"), dose(2, "2014-01-20")}, []string{"EX:1"}},
		{"on the consent day", "2014-01-15", []clinical.Dose{dose(1, "2014-01-15T08:00")}, nil},
		{"month-only dose in the consent month", "2014-01-15", []clinical.Dose{dose(1, "2014-01")}, nil},
		{"month-only dose before the consent month", "2014-01-15", []clinical.Dose{dose(1, "2013-12")}, []string{"EX:1"}},
		{"month-only consent", "2014-01", []clinical.Dose{dose(1, "2014-01-02")}, nil},
		{"no consent date", "", []clinical.Dose{dose(1, "2014-01-02")}, nil},
	}
	for _, tt := range tests {
		in := labsInput()
		in.Subject.ConsentDate, in.Subject.FirstDose = tt.consent, "2000-01-01" // DM is not read while EX is there
		in.Doses = tt.doses
		sigs := Evaluate(Config{}, in)
		if got := keysOf(DoseBeforeConsent, sigs); !slices.Equal(got, tt.keys) {
			t.Errorf("%s: keys %v, want %v", tt.name, got, tt.keys)
		}
		for _, s := range only(DoseBeforeConsent, sigs) {
			if s.Severity != clinical.SeverityCritical {
				t.Errorf("%s: severity %v", tt.name, s.Severity)
			}
		}
	}
}

func TestDoseAfterEnd(t *testing.T) {
	tests := []struct {
		name       string
		end, death clinical.Date
		doses      []clinical.Dose
		keys       []string
		after      []string // evidence of the first signal
	}{
		{"within participation", "2014-06-30T11:45", "", []clinical.Dose{dose(1, "2014-06-30")}, nil, nil},
		{"day after end of participation", "2014-06-30T11:45", "", []clinical.Dose{dose(1, "2014-07-01")}, []string{"EX:1"}, []string{"RFPENDTC"}},
		{"on the day of death", "2014-06-30", "2014-05-01", []clinical.Dose{dose(1, "2014-05-01")}, nil, nil},
		{"after death, before end of participation", "2014-06-30", "2014-05-01", []clinical.Dose{dose(1, "2014-04-01"), dose(2, "2014-05-02")},
			[]string{"EX:2"}, []string{"DTHDTC"}},
		{"after both: one finding", "2014-05-01", "2014-05-01", []clinical.Dose{dose(1, "2014-05-03")}, []string{"EX:1"}, []string{"DTHDTC", "RFPENDTC"}},
		{"month-only dose in the month of death", "", "2014-05-10", []clinical.Dose{dose(1, "2014-05")}, nil, nil},
		{"month-only dose after the month of death", "", "2014-05-10", []clinical.Dose{dose(1, "2014-06")}, []string{"EX:1"}, []string{"DTHDTC"}},
	}
	for _, tt := range tests {
		in := labsInput()
		in.Subject.EndOfStudy, in.Subject.DeathDate, in.Subject.LastDose = tt.end, tt.death, ""
		in.Doses = tt.doses
		sigs := Evaluate(Config{}, in)
		if got := keysOf(DoseAfterEnd, sigs); !slices.Equal(got, tt.keys) {
			t.Errorf("%s: keys %v, want %v", tt.name, got, tt.keys)
			continue
		}
		if len(tt.keys) > 0 {
			if got := only(DoseAfterEnd, sigs)[0].Evidence["after"]; !slices.Equal(got.([]string), tt.after) {
				t.Errorf("%s: after %v, want %v", tt.name, got, tt.after)
			}
		}
	}
}

// Without EX the dosing rules read DM's exposure dates, so an outage of
// the exposure source does not hide a deviation; with EX, DM is not read
// again, so one deviation is one signal.
func TestDosingFallsBackToDM(t *testing.T) {
	in := labsInput()
	in.Subject.ConsentDate, in.Subject.FirstDose = "2014-01-15", "2014-01-14"
	in.Subject.DeathDate, in.Subject.LastDose = "2014-05-01", "2014-05-02"
	in.HaveDoses = false
	sigs := Evaluate(Config{}, in)
	if got := keysOf(DoseBeforeConsent, sigs); !slices.Equal(got, []string{"DM:RFXSTDTC"}) {
		t.Errorf("before consent: %v, want [DM:RFXSTDTC]", got)
	}
	if got := keysOf(DoseAfterEnd, sigs); !slices.Equal(got, []string{"DM:RFXENDTC"}) {
		t.Errorf("after end: %v, want [DM:RFXENDTC]", got)
	}

	in.HaveDoses = true
	in.Doses = []clinical.Dose{dose(1, "2014-01-14"), dose(2, "2014-05-02")}
	sigs = Evaluate(Config{}, in)
	if got := keysOf(DoseBeforeConsent, sigs); !slices.Equal(got, []string{"EX:1"}) {
		t.Errorf("before consent with EX: %v, want [EX:1]", got)
	}
	if got := keysOf(DoseAfterEnd, sigs); !slices.Equal(got, []string{"EX:2"}) {
		t.Errorf("after end with EX: %v, want [EX:2]", got)
	}
}
