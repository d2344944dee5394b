package kri

import (
	"slices"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
)

// LabGrades are one subject's lab results graded 0–4 with the study's
// CTCAE criteria, and how many of them are grade 3 or 4.
type LabGrades struct{ Graded, Grade3Plus int }

// EntryLags are one subject's lab results with a full date (Dated), and
// how many of them were first stored more than 10 days after it (Late).
type EntryLags struct{ Late, Dated int }

// Findings are what the checker found for one subject: SAE_LATE and
// LAB_AE_UNRECONCILED findings, findings still open (new or acknowledged)
// raised more than 30 days before the data cut, and all findings.
type Findings struct{ LateSAE, Unreconciled, Open30Days, Total int }

// Inputs is a study's data as of one data cut.
type Inputs struct {
	Subjects     []clinical.Subject
	Dispositions []clinical.Disposition
	Events       []clinical.AdverseEvent
	LabGrades    map[string]LabGrades // by USUBJID
	LabLags      map[string]EntryLags // by USUBJID
	Findings     map[string]Findings  // by USUBJID
}

// LateEntryDays: a record first stored more than this many days after its
// date was entered late (gsm.kri kri0010: data_entry_lag > 10).
const LateEntryDays = 10

// EarlyDeathDays: a death this many days or fewer after randomization
// counts for kri0015 (gsm.kri: death_dy <= 90).
const EarlyDeathDays = 90

// DS values the mapping reads.
const (
	dsRandomized       = "RANDOMIZED"
	dsCompleted        = "COMPLETED"
	dsDispositionEvent = "DISPOSITION EVENT"
	dsTreatmentEpoch   = "TREATMENT"
)

// subjectFacts is what the mapping derives of one subject.
type subjectFacts struct {
	site                string
	enrolled            bool
	randomized          clinical.Date
	studyDisc, treatDis bool
}

// Counts maps a study's data to every KRI's per-site counts, keyed by KRI
// id, as gsm.mapping does on SDTM:
//
//   - site is DM.SITEID; every site with a subject in DM is reported;
//   - enrolled means randomized: a DS record with DSDECOD = RANDOMIZED.
//     A study without any such record (no DS uploaded) counts subjects
//     with a reference start date (RFSTDTC) as enrolled;
//   - all KRIs but the screen-failure rate count enrolled subjects only
//     (gsm's Mapped_SUBJ), with their records.
func Counts(in Inputs) map[string][]Count {
	facts, sites := mapSubjects(in)
	per := map[string]map[string]*Count{}
	for _, sp := range specs {
		m := make(map[string]*Count, len(sites))
		for _, site := range sites {
			m[site] = &Count{Site: site}
		}
		per[sp.ID] = m
	}
	add := func(kri, site string, num, den float64) {
		c := per[kri][site]
		c.Numerator += num
		c.Denominator += den
	}
	serious := map[string]int{}
	for _, e := range in.Events {
		f, ok := facts[e.USUBJID]
		if !ok || !f.enrolled {
			continue
		}
		add(AERate, f.site, 1, 0)
		if e.Serious {
			add(SAERate, f.site, 1, 0)
			serious[e.USUBJID]++
		}
		if e.HasEntryLag {
			add(DataEntryLate, f.site, b2f(e.EntryLag > LateEntryDays), 1)
		}
	}
	for _, s := range in.Subjects {
		f := facts[s.USUBJID]
		add(ScreenFailure, f.site, b2f(!f.enrolled), 1)
		if !f.enrolled {
			continue
		}
		add(AERate, f.site, 0, float64(DaysOnStudy(s)))
		add(SAERate, f.site, 0, float64(DaysOnStudy(s)))
		add(StudyDiscontinued, f.site, b2f(f.studyDisc), 1)
		add(TreatDiscontinued, f.site, b2f(f.treatDis), 1)
		add(EarlyDeath, f.site, b2f(diedEarly(s, f.randomized)), 1)
		g := in.LabGrades[s.USUBJID]
		add(LabGrade3Rate, f.site, float64(g.Grade3Plus), float64(g.Graded))
		l := in.LabLags[s.USUBJID]
		add(DataEntryLate, f.site, float64(l.Late), float64(l.Dated))
		fd := in.Findings[s.USUBJID]
		// A finding per late SAE, per unreconciled episode: never more
		// than the records they rest on.
		add(LateSAE, f.site, float64(min(fd.LateSAE, serious[s.USUBJID])), float64(serious[s.USUBJID]))
		add(UnreconciledLab, f.site, float64(min(fd.Unreconciled, g.Grade3Plus)), float64(g.Grade3Plus))
		add(FindingsOpen30Days, f.site, float64(min(fd.Open30Days, fd.Total)), float64(fd.Total))
	}
	out := make(map[string][]Count, len(per))
	for id, m := range per {
		list := make([]Count, 0, len(m))
		for _, site := range sites {
			list = append(list, *m[site])
		}
		out[id] = list
	}
	return out
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// mapSubjects derives each subject's site, enrolment, randomization date
// and discontinuations from DM and DS, and lists the sites.
func mapSubjects(in Inputs) (map[string]*subjectFacts, []string) {
	facts := make(map[string]*subjectFacts, len(in.Subjects))
	seen := map[string]bool{}
	var sites []string
	for _, s := range in.Subjects {
		facts[s.USUBJID] = &subjectFacts{site: s.Site}
		if !seen[s.Site] {
			seen[s.Site] = true
			sites = append(sites, s.Site)
		}
	}
	anyRandomized, treatmentEpoch := false, false
	for _, d := range in.Dispositions {
		anyRandomized = anyRandomized || upper(d.Decoded) == dsRandomized
		treatmentEpoch = treatmentEpoch || isDispositionEvent(d) && upper(d.Epoch) == dsTreatmentEpoch
	}
	for _, d := range in.Dispositions {
		f, ok := facts[d.USUBJID]
		if !ok {
			continue
		}
		if upper(d.Decoded) == dsRandomized {
			f.enrolled = true
			if f.randomized.IsZero() {
				f.randomized = d.Start
			}
		}
		if !isDispositionEvent(d) || upper(d.Decoded) == dsCompleted {
			continue
		}
		// Study discontinuation reads the study's disposition: the
		// record without an epoch, or of any epoch but treatment when the
		// study records treatment separately.
		if !treatmentEpoch || upper(d.Epoch) != dsTreatmentEpoch {
			f.studyDisc = true
		}
		if !treatmentEpoch || upper(d.Epoch) == dsTreatmentEpoch {
			f.treatDis = true
		}
	}
	if !anyRandomized {
		for _, s := range in.Subjects {
			facts[s.USUBJID].enrolled = !s.RefStart.IsZero()
		}
	}
	for _, s := range in.Subjects {
		f := facts[s.USUBJID]
		if !f.enrolled {
			// A screen failure's DS event is no discontinuation.
			f.studyDisc, f.treatDis = false, false
		}
		if f.randomized.IsZero() {
			f.randomized = s.RefStart
		}
	}
	slices.SortFunc(sites, CompareSites)
	return facts, sites
}

func isDispositionEvent(d clinical.Disposition) bool {
	return upper(d.Category) == dsDispositionEvent
}

func upper(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }

// DaysOnStudy is RFENDTC − RFSTDTC + 1 in days (gsm.mapping's
// timeonstudy), 0 when either date is missing or the end precedes the
// start.
func DaysOnStudy(s clinical.Subject) int {
	return daysBetween(s.RefStart, s.RefEnd)
}

// daysBetween is to − from + 1 in whole days, 0 when either is missing or
// to precedes from.
func daysBetween(from, to clinical.Date) int {
	a, ok1 := from.Day()
	b, ok2 := to.Day()
	if !ok1 || !ok2 || b.Before(a) {
		return 0
	}
	return int(b.Sub(a)/(24*time.Hour)) + 1
}

// diedEarly: the subject died (DTHDTC) within EarlyDeathDays of
// randomization, day 1 being the day of randomization.
func diedEarly(s clinical.Subject, randomized clinical.Date) bool {
	n := daysBetween(randomized, s.DeathDate)
	return n > 0 && n <= EarlyDeathDays
}

// QTLResult is one quality tolerance limit of a study: the KRI's
// study-wide numerator, denominator and metric against the limit.
type QTLResult struct {
	ID          string
	Name        string
	Numerator   float64
	Denominator float64
	Metric      float64
	Limit       float64
	Exceeded    bool
}

// Report is every KRI of a study at one data cut, its sites' risk scores
// and its QTLs.
type Report struct {
	KRIs       []Analysis
	RiskScores []RiskScore
	QTLs       []QTLResult
}

// Compute maps in and analyses every KRI with s's settings.
func Compute(s Settings, in Inputs) Report {
	counts := Counts(in)
	var r Report
	for _, sp := range s.Specs() {
		r.KRIs = append(r.KRIs, Analyze(sp, counts[sp.ID]))
	}
	r.RiskScores = RiskScores(r.KRIs)
	limits := s.qtls()
	for _, a := range r.KRIs {
		limit, ok := limits[a.Spec.ID]
		if !ok {
			continue
		}
		q := QTLResult{ID: a.Spec.ID, Name: a.Spec.Name, Limit: limit, Metric: a.Overall}
		for _, site := range a.Sites {
			q.Numerator += site.Numerator
			q.Denominator += site.Denominator
		}
		q.Exceeded = q.Denominator > 0 && q.Metric > limit
		r.QTLs = append(r.QTLs, q)
	}
	return r
}
