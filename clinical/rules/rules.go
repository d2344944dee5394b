// Package rules raises the clinical-safety signals a medical monitor works
// from: CTCAE grades and shifts, lab abnormalities never reported as
// adverse events and adverse events without their lab, late serious-AE
// reports and dosing outside consent or participation, and, through its
// rule table, the liver rules of package liver (Hy's law, eDISH, mDISH).
// It is pure code: one subject's records in, signals out.
//
// Every signal carries a Key built from the records it rests on (LBSEQ,
// AESEQ, EXSEQ) so that re-checking a subject refreshes the signal instead
// of raising it again; the store deduplicates on (study, subject, rule, key).
package rules

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
	"github.com/trialwatch/trialwatch/clinical/rules/internal/subjectview"
	"github.com/trialwatch/trialwatch/clinical/rules/liver"
)

// The rules this package raises, besides clinical.RuleLabOutOfRange and
// the liver rules (package liver).
const (
	CTCAEGrade        clinical.Rule = "CTCAE_GRADE"
	ShiftFromBaseline clinical.Rule = "SHIFT_FROM_BASELINE"
	LabAEUnreconciled clinical.Rule = "LAB_AE_UNRECONCILED"
	SAELate           clinical.Rule = "SAE_LATE"
	// SAENoReportDate: a serious AE with no AEDTC, so nobody can tell
	// whether it reached the sponsor in time.
	SAENoReportDate   clinical.Rule = "SAE_NO_REPORT_DATE"
	DoseBeforeConsent clinical.Rule = "DOSE_BEFORE_CONSENT"
	DoseAfterEnd      clinical.Rule = "DOSE_AFTER_END"
)

// Rules lists every rule Evaluate can raise, in report order.
var Rules = []clinical.Rule{
	clinical.RuleLabOutOfRange, CTCAEGrade, ShiftFromBaseline, LabAEUnreconciled, AEWithoutLab,
	liver.HysLaw, liver.HysLawQuadrant, liver.TemplesCorollary, liver.Hyperbilirubinemia, liver.MDISH,
	SAELate, SAENoReportDate, DoseBeforeConsent, DoseAfterEnd,
}

// Input is one subject's records. Labs are always present (a subject
// without labs simply raises no lab signals); doses and events come from
// sources that can fail independently.
type Input struct {
	Subject clinical.Subject
	Doses   []clinical.Dose
	Events  []clinical.AdverseEvent
	Labs    []clinical.LabResult
	// HaveDoses and HaveEvents are false when that source failed: the
	// rules needing it are skipped rather than run on an empty list, which
	// would read as "no AE was reported" and raise false queries.
	HaveDoses, HaveEvents bool
}

// rule is one entry of the rule table: what it raises, what it needs and
// how it runs.
type rule struct {
	raises                  []clinical.Rule
	needsDoses, needsEvents bool
	run                     func(*subject) []clinical.Signal
}

// ruleTable runs in this order, which is the order findings are listed
// in. The dosing rules fall back to DM's exposure dates when EX failed.
var ruleTable = []rule{
	{raises: []clinical.Rule{clinical.RuleLabOutOfRange}, run: (*subject).rangeSignals},
	{raises: []clinical.Rule{CTCAEGrade}, run: (*subject).gradeSignals},
	{raises: []clinical.Rule{ShiftFromBaseline}, run: (*subject).shiftSignals},
	{raises: []clinical.Rule{LabAEUnreconciled}, needsEvents: true, run: (*subject).reconcileSignals},
	{raises: []clinical.Rule{AEWithoutLab}, needsEvents: true, run: (*subject).aeWithoutLabSignals},
	{raises: []clinical.Rule{liver.HysLaw, liver.HysLawQuadrant, liver.TemplesCorollary, liver.Hyperbilirubinemia},
		run: func(s *subject) []clinical.Signal { return s.liverTests().Signals() }},
	{raises: []clinical.Rule{liver.MDISH}, run: func(s *subject) []clinical.Signal { return s.liverTests().MDISHSignals() }},
	{raises: []clinical.Rule{SAELate, SAENoReportDate}, needsEvents: true, run: (*subject).saeSignals},
	{raises: []clinical.Rule{DoseBeforeConsent}, run: (*subject).doseBeforeConsentSignals},
	{raises: []clinical.Rule{DoseAfterEnd}, run: (*subject).doseAfterEndSignals},
}

// Evaluate runs every rule the study has on over one subject.
func Evaluate(cfg Config, in Input) []clinical.Signal {
	return Assess(cfg, in).Signals
}

// Assessment is what the rules found of one subject.
type Assessment struct {
	Subject clinical.Subject
	// Signals are the findings raised.
	Signals []clinical.Signal
	// Ran lists the rules that ran: on in the study's settings, with the
	// data they need. A finding of one of them stored earlier and not
	// among Signals is no longer supported by the data.
	Ran []clinical.Rule
	// Graded counts the results CTCAE grades (0-4) with the study's
	// criteria, and Severe those of grade 3 or more.
	Graded, Severe int
	// Point is the subject's place on the eDISH plot, when HasPoint.
	Point    liver.EDISHPoint
	HasPoint bool

	in *Input
}

// Assess runs every rule the study has on over one subject.
func Assess(cfg Config, in Input) Assessment {
	s := newSubject(cfg, &in)
	a := Assessment{Subject: in.Subject, in: &in}
	for _, r := range ruleTable {
		if r.needsDoses && !in.HaveDoses || r.needsEvents && !in.HaveEvents {
			continue
		}
		on := false
		for _, name := range r.raises {
			if s.cfg.Enabled(name) {
				on = true
				a.Ran = append(a.Ran, name)
			}
		}
		if !on {
			continue
		}
		for _, sg := range r.run(s) {
			if s.cfg.Enabled(sg.Rule) {
				a.Signals = append(a.Signals, sg)
			}
		}
	}
	for _, rs := range s.grades {
		graded, severe := false, false
		for _, r := range rs {
			if r.Gradable {
				graded = true
				severe = severe || r.Grade >= 3
			}
		}
		if graded {
			a.Graded++
		}
		if severe {
			a.Severe++
		}
	}
	a.Point, a.HasPoint = s.liverTests().Point()
	return a
}

// subject is one subject's records with what several rules derive from
// them, computed once.
type subject struct {
	*subjectview.View
	cfg Config
	in  *Input
	// grades holds ctcae.Grade for each lab, by index.
	grades [][]ctcae.Result
	// lv is the subject's liver tests, read once for the liver rules and
	// the eDISH point.
	lv *liver.Tests
}

func (s *subject) liverTests() *liver.Tests {
	if s.lv == nil {
		s.lv = liver.Read(s.View)
	}
	return s.lv
}

func newSubject(cfg Config, in *Input) *subject {
	cfg = cfg.withDefaults()
	s := &subject{cfg: cfg, in: in,
		View: subjectview.New(&in.Subject, in.Labs, FindBaselines(cfg.Baseline, in), string(cfg.Baseline))}
	s.grades = make([][]ctcae.Result, len(in.Labs))
	draws := ctcae.FindDraws(in.Labs)
	for i, lab := range in.Labs {
		// The baseline record is graded against itself: for
		// baseline-relative criteria (v5.0 liver tests) that makes an
		// abnormal baseline grade 0, the reference the later grades are
		// relative to.
		s.grades[i] = ctcae.Grade(s.cfg.Criteria, lab, s.BaselineOf(i),
			ctcae.WithContext(s.cfg.GradingContext), ctcae.WithAlbumin(draws.Albumin(lab)), ctcae.WithSubject(&in.Subject))
	}
	return s
}

// FindBaselines picks each lab result's baseline record by convention:
// SDTM's LBBLFL (ctcae.FindBaselines) or ADaM's last value before the
// first dose (ctcae.FindLastPredoseBaselines, the first dose from EX). It
// is what the rules grade against; anything showing grades (the subject
// API) uses it too, so they agree.
func FindBaselines(convention Baseline, in *Input) *ctcae.Baselines {
	dose, find := in.Subject.FirstDose, ctcae.FindBaselines
	if convention == BaselineADaMLastPredose {
		dose, find = firstExposure(in), ctcae.FindLastPredoseBaselines
	}
	firstDose := map[string]clinical.Date{in.Subject.USUBJID: dose}
	for _, l := range in.Labs {
		firstDose[l.USUBJID] = dose // records a source left without USUBJID too
	}
	return find(in.Labs, firstDose)
}

// firstExposure is the earliest dated EXSTDTC, as ADaM derives TRTSDTM,
// else RFXSTDTC.
func firstExposure(in *Input) clinical.Date {
	first, at := clinical.Date(""), time.Time{}
	if in.HaveDoses {
		for _, d := range in.Doses {
			if t, ok := d.Start.Time(); ok && (first == "" || t.Before(at)) {
				first, at = d.Start, t
			}
		}
	}
	if first == "" {
		return in.Subject.FirstDose
	}
	return first
}

// Describe says what a record a finding rested on ("LB:11", "AE:3",
// "EX:2") holds in the data assessed, or that the subject no longer has
// it: the history of a finding the data stopped supporting says why.
func (a *Assessment) Describe(key string) string {
	kind, seqText, _ := strings.Cut(key, ":")
	seq, err := strconv.Atoi(seqText)
	if a.in == nil || err != nil {
		return key
	}
	switch kind {
	case "LB":
		for _, l := range a.in.Labs {
			if l.Seq == seq {
				if !l.HasValue {
					return fmt.Sprintf("%s %s has no value", key, l.TestCode)
				}
				return fmt.Sprintf("%s %s %s %s on %s", key, l.TestCode, subjectview.Num(l.Value), l.Unit, subjectview.DateText(l.Date))
			}
		}
	case "AE":
		for _, e := range a.in.Events {
			if e.Seq == seq {
				return fmt.Sprintf("%s %s (serious %t) from %s, recorded %s", key, aeName(&e), e.Serious, subjectview.DateText(e.Start), subjectview.DateText(e.Recorded))
			}
		}
	case "EX":
		for _, d := range a.in.Doses {
			if d.Seq == seq {
				return fmt.Sprintf("%s %s from %s", key, d.Treatment, subjectview.DateText(d.Start))
			}
		}
	default:
		return key
	}
	return key + " no longer in the data"
}
