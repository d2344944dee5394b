package rules

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules/internal/subjectview"
)

// SAEs must reach the sponsor immediately (ICH E6 4.11.1; 24 hours in
// most protocols), and that report starts the sponsor's 7/15-day
// expedited-reporting clock of ICH E2A. Where both the onset (AESTDTC)
// and the record date (AEDTC) carry a time, the delay is counted in
// hours; otherwise in calendar days, where 24 hours allows one day.
const (
	saeReportHours = 24
	saeReportDays  = 1
)

// saeSignals raises SAE_LATE for each serious AE recorded later than
// allowed after onset, and SAE_NO_REPORT_DATE for each with no record
// date, whose timeliness nobody can tell. The delay counted is the least
// the dates allow, so with partial dates ("2013-10" onset, recorded
// 2013-11-03) the finding is raised only when the record is late whatever
// the missing day was. A missing onset raises nothing: there is no delay
// to measure.
func (s *subject) saeSignals() []clinical.Signal {
	var out []clinical.Signal
	for _, ae := range s.in.Events {
		if !ae.Serious {
			continue
		}
		key := "AE:" + strconv.Itoa(ae.Seq)
		ev := map[string]any{"aeseq": ae.Seq, "term": ae.Term, "decoded": ae.Decoded, "onset": string(ae.Start),
			"recorded": string(ae.Recorded), "results": []string{key}}
		if ae.Recorded == "" {
			sg := s.Signal(SAENoReportDate, clinical.SeverityMedium, key, ev,
				fmt.Sprintf("Serious AE %s (AESEQ %d) began %s but has no record date (AEDTC), so whether it reached the sponsor within 24 hours cannot be told; please complete AEDTC",
					aeName(&ae), ae.Seq, subjectview.DateText(ae.Start)))
			sg.First, sg.Last = ae.Start, ae.Start
			out = append(out, sg)
			continue
		}
		late, ok := saeDelay(ae.Start, ae.Recorded)
		if !ok || !late.late() {
			continue
		}
		for k, v := range late.evidence() {
			ev[k] = v
		}
		sg := s.Signal(SAELate, clinical.SeverityHigh, key, ev,
			fmt.Sprintf("Serious AE %s (AESEQ %d) began %s but was recorded %s, %s later; SAEs must reach the sponsor within 24 hours",
				aeName(&ae), ae.Seq, ae.Start, ae.Recorded, late))
		sg.First, sg.Last = ae.Start, ae.Recorded
		out = append(out, sg)
	}
	return out
}

// delay is how long after onset an SAE was recorded: in hours when both
// dates have a time, else in days (the least the dates allow).
type delay struct {
	dur   time.Duration
	days  int
	timed bool
}

func saeDelay(onset, recorded clinical.Date) (delay, bool) {
	if hasTime(onset) && hasTime(recorded) {
		// Times are recorded to the hour or minute: within that, the
		// stated times are the delay.
		a, ok1 := onset.Time()
		b, ok2 := recorded.Time()
		if !ok1 || !ok2 {
			return delay{}, false
		}
		return delay{dur: b.Sub(a), timed: true}, true
	}
	min, _, ok := clinical.DaysBetween(onset, recorded)
	return delay{days: min}, ok
}

func hasTime(d clinical.Date) bool { return len(d) > len("2006-01-02") }

func (d delay) late() bool {
	if d.timed {
		return d.dur > saeReportHours*time.Hour
	}
	return d.days > saeReportDays
}

func (d delay) evidence() map[string]any {
	if d.timed {
		return map[string]any{"hours_to_record": subjectview.Round2(d.dur.Hours()), "allowed_hours": saeReportHours}
	}
	return map[string]any{"days_to_record": d.days, "allowed_days": saeReportDays}
}

func (d delay) String() string {
	if d.timed {
		return fmt.Sprintf("%s hours", subjectview.Num(subjectview.Round2(d.dur.Hours())))
	}
	return fmt.Sprintf("%d days", d.days)
}

func aeName(ae *clinical.AdverseEvent) string {
	if ae.Decoded != "" {
		return ae.Decoded
	}
	return ae.Term
}

// doseDate is one dosing date to check: an EX record's start, or DM's
// exposure date when EX could not be read.
type doseDate struct {
	key  string
	date clinical.Date
	what string // for the message
	ev   map[string]any
}

// doseDates lists the dosing dates the dosing rules check. EX is the
// primary evidence (each record is one finding a site can correct); when
// EX failed or holds nothing for the subject, DM's exposure date (dm) stands
// in, so a source outage cannot hide a protocol deviation.
func (s *subject) doseDates(dmName string, dm clinical.Date) []doseDate {
	if !s.in.HaveDoses || len(s.in.Doses) == 0 {
		if dm == "" {
			return nil
		}
		return []doseDate{{key: "DM:" + dmName, date: dm, what: "DM " + dmName,
			ev: map[string]any{"source": "DM", "variable": dmName, "dose_date": string(dm)}}}
	}
	out := make([]doseDate, 0, len(s.in.Doses))
	for _, d := range s.in.Doses {
		what := fmt.Sprintf("EX %d (%s", d.Seq, d.Treatment)
		if d.HasDose {
			what += fmt.Sprintf(" %s %s", subjectview.Num(d.Dose), d.Unit)
		}
		what += ")"
		out = append(out, doseDate{key: "EX:" + strconv.Itoa(d.Seq), date: d.Start, what: what,
			ev: map[string]any{"source": "EX", "exseq": d.Seq, "treatment": d.Treatment, "dose_date": string(d.Start)}})
	}
	return out
}

// doseBeforeConsentSignals: dosing before informed consent (RFICDTC)
// violates ICH E6 4.8.8. Dates that agree at their common precision are
// not "before".
func (s *subject) doseBeforeConsentSignals() []clinical.Signal {
	consent := s.in.Subject.ConsentDate
	var out []clinical.Signal
	for _, d := range s.doseDates("RFXSTDTC", s.in.Subject.FirstDose) {
		if clinical.CompareDates(d.date, consent) != clinical.OrderBefore {
			continue
		}
		d.ev["consent_date"] = string(consent)
		out = append(out, s.Signal(DoseBeforeConsent, clinical.SeverityCritical, d.key, d.ev,
			fmt.Sprintf("%s started %s, before informed consent on %s", d.what, d.date, consent)))
	}
	return out
}

// endpoint is a date after which the subject must not be dosed.
type endpoint struct {
	variable, label string
	date            clinical.Date
}

// doseAfterEndSignals: dosing after death (DTHDTC) or after the end of
// participation (RFPENDTC). One signal per dosing record, naming every
// endpoint it follows, because it is one finding for the site to correct.
func (s *subject) doseAfterEndSignals() []clinical.Signal {
	subj := &s.in.Subject
	ends := []endpoint{
		{"DTHDTC", "death", subj.DeathDate},
		{"RFPENDTC", "end of participation", subj.EndOfStudy},
	}
	var out []clinical.Signal
	for _, d := range s.doseDates("RFXENDTC", subj.LastDose) {
		var after, labels []string
		for _, e := range ends {
			if clinical.CompareDates(d.date, e.date) == clinical.OrderAfter {
				after = append(after, e.variable)
				labels = append(labels, fmt.Sprintf("%s on %s", e.label, e.date))
				d.ev[strings.ToLower(e.variable)] = string(e.date)
			}
		}
		if len(after) == 0 {
			continue
		}
		d.ev["after"] = after
		out = append(out, s.Signal(DoseAfterEnd, clinical.SeverityCritical, d.key, d.ev,
			fmt.Sprintf("%s dated %s, after %s", d.what, d.date, strings.Join(labels, " and "))))
	}
	return out
}
