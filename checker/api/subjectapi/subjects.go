// Package subjectapi serves a study's subjects as the checker sees them:
// the list with each subject's open findings, one subject's profile
// (demographics, labs graded by the study's criteria with their grade
// bands, doses, adverse events, findings), and the eDISH plot's points.
// It reads the data services through the domain's ports and the
// signal store for findings and settings.
package subjectapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/checker/api/query"
	"github.com/trialwatch/trialwatch/checker/api/reviewapi"
	"github.com/trialwatch/trialwatch/checker/api/scope"
	"github.com/trialwatch/trialwatch/checker/api/wire"
	"github.com/trialwatch/trialwatch/checker/signals"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/ctcae"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/internal/jsonhttp"
)

// severities are every severity, for counts that list zeros too.
var severities = []clinical.Severity{clinical.SeverityInfo, clinical.SeverityLow, clinical.SeverityMedium, clinical.SeverityHigh, clinical.SeverityCritical}

func ageOf(s clinical.Subject) *int {
	if s.Age == 0 {
		return nil
	}
	return &s.Age
}

// listSubjects lists the study's subjects the caller may see, with their
// open findings by severity.
func (a *API) listSubjects(w http.ResponseWriter, r *http.Request) {
	study := r.PathValue("study")
	q := query.Of(r)
	site, err := q.One("site")
	if err == nil {
		err = q.Unknown("site")
	}
	if err != nil {
		a.queryError(w, r, err)
		return
	}
	lister, ok := a.src.Subjects.(clinical.StudySubjects)
	if !ok {
		notImplemented(w, r, "listing a study's subjects is not available on this node: its subject source cannot list a study's subjects (clinical.StudySubjects); GET .../subjects/{subject} still answers for one subject")
		return
	}
	subs, err := lister.SubjectsIn(r.Context(), study)
	if err != nil {
		a.upstreamError(w, r, "listing the subjects of study "+study, err)
		return
	}
	f := signals.Filter{Study: study, Site: site, Sites: scope.Sites(r, study)}
	open, err := a.signals.OpenBySubject(r.Context(), f)
	if err != nil {
		a.queryError(w, r, err)
		return
	}
	out := []wire.SubjectRow{}
	for _, s := range subs {
		if (site != "" && s.Site != site) || !scope.Visible(r.Context(), study, s.Site) {
			continue
		}
		row := wire.SubjectRow{Subject: s.USUBJID, Site: s.Site, Sex: s.Sex, Age: ageOf(s), Arm: s.Arm, FirstDose: s.FirstDose,
			Open: map[clinical.Severity]int{}}
		for _, sev := range severities {
			row.Open[sev] = open[s.USUBJID][sev]
			row.OpenTotal += open[s.USUBJID][sev]
		}
		out = append(out, row)
	}
	jsonhttp.Write(w, http.StatusOK, wire.Subjects{Study: study, Subjects: out})
}

// notImplemented answers 501 with why, a text of the server's own: a 5xx
// body carries no error's text (jsonhttp.ServerError).
func notImplemented(w http.ResponseWriter, r *http.Request, why string) {
	jsonhttp.ServerErrorWith(w, r, nil, http.StatusNotImplemented, nil, map[string]any{"reason": why})
}

// upstreamError answers a data service's failure: 504 when it timed out,
// else 502; the detail stays in the log.
func (a *API) upstreamError(w http.ResponseWriter, r *http.Request, what string, err error) {
	status := http.StatusBadGateway
	if errors.Is(err, context.DeadlineExceeded) {
		status = http.StatusGatewayTimeout
	}
	jsonhttp.ServerError(w, r, a.log, status, fmt.Errorf("%s: %w", what, err))
}

func optional(v float64, ok bool) *float64 {
	if !ok {
		return nil
	}
	return &v
}

// sourceStatus says how a read of one source ended.
func sourceStatus(err error) checker.Status {
	switch {
	case err == nil:
		return checker.StatusOK
	case errors.Is(err, context.DeadlineExceeded):
		return checker.StatusTimeout
	case errors.Is(err, clinical.ErrUnavailable):
		return checker.StatusUnavailable
	}
	return checker.StatusError
}

// errNoSource stands for a source this API was not given.
var errNoSource = fmt.Errorf("no such source on this node: %w", clinical.ErrUnavailable)

// getSubject answers one subject's profile: demographics, labs graded
// with the study's criteria, doses, adverse events and findings. Another
// site's subject is, to a caller limited to some sites, not found.
func (a *API) getSubject(w http.ResponseWriter, r *http.Request) {
	study, usubjid := r.PathValue("study"), r.PathValue("subject")
	if err := query.Of(r).Unknown("no parameters"); err != nil {
		a.queryError(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.deadline)
	defer cancel()
	if a.src.Subjects == nil {
		notImplemented(w, r, "subject profiles are not available on this node: it has no subject source")
		return
	}
	sub, err := a.src.Subjects.Subject(ctx, study, usubjid)
	switch {
	case errors.Is(err, clinical.ErrNotFound) || (err == nil && !scope.Visible(ctx, study, sub.Site)):
		jsonhttp.NotFound(w) // the same bytes whether it exists at another site or nowhere
		return
	case err != nil:
		a.upstreamError(w, r, "looking up subject "+usubjid+" of study "+study, err)
		return
	}

	// The two data services are called at once; both calls end, at the
	// latest at ctx's deadline, before wg.Wait returns.
	var doses []clinical.Dose
	var events []clinical.AdverseEvent
	doseErr, eventErr := errNoSource, errNoSource
	var wg sync.WaitGroup
	if a.src.Exposure != nil {
		wg.Go(func() { doses, doseErr = a.src.Exposure.Doses(ctx, study, usubjid) })
	}
	if a.src.Events != nil {
		wg.Go(func() { events, eventErr = a.src.Events.AdverseEvents(ctx, study, usubjid) })
	}
	var labs []clinical.LabResult
	labErr := errNoSource
	if a.src.Labs != nil {
		labs, labErr = a.src.Labs.Labs(ctx, study, usubjid)
	}
	cfg, cfgErr := a.signals.Settings(ctx, study)
	f := signals.Filter{Study: study, USUBJID: usubjid, Limit: reviewapi.MaxPageSize, Sites: scope.Sites(r, study)}
	findings, next, findErr := a.signals.Signals(ctx, f)
	wg.Wait()
	if err := errors.Join(cfgErr, findErr); err != nil {
		jsonhttp.ServerError(w, r, a.log, http.StatusInternalServerError, fmt.Errorf("profile of subject %s of study %s: %w", usubjid, study, err))
		return
	}

	out := wire.SubjectProfile{Study: study, Subject: sub.USUBJID, Site: sub.Site, Sex: sub.Sex, Age: ageOf(sub), Arm: sub.Arm,
		ConsentDate: sub.ConsentDate, RefStart: sub.RefStart, RefEnd: sub.RefEnd, FirstDose: sub.FirstDose, LastDose: sub.LastDose,
		EndOfStudy: sub.EndOfStudy, DeathDate: sub.DeathDate, Criteria: cfg.Criteria,
		Sources: wire.ProfileSources{Subject: string(checker.StatusOK), Exposure: string(sourceStatus(doseErr)),
			AdverseEvents: string(sourceStatus(eventErr)), Labs: string(sourceStatus(labErr))},
		Labs: []wire.Lab{}, Doses: []wire.Dose{}, AdverseEvents: []wire.AdverseEvent{}, GradeBands: []wire.GradeBand{},
		Findings: reviewapi.SignalsJSON(findings), FindingsNextPageToken: next.Token()}
	out.Complete = doseErr == nil && eventErr == nil && labErr == nil
	for name, err := range map[string]error{"exposure": doseErr, "adverse events": eventErr, "labs": labErr} {
		if err != nil && !errors.Is(err, errNoSource) {
			a.log.WarnContext(r.Context(), "subject profile incomplete", "source", name, "study", study, "subject", usubjid, "error", err.Error())
		}
	}
	if labErr == nil {
		grader := newLabGrader(cfg, rules.Input{Subject: sub, Labs: labs, Doses: doses, HaveDoses: doseErr == nil})
		out.Labs = labsJSON(grader, labs)
		out.GradeBands = gradeBands(grader.grade, labs)
	}
	if doseErr == nil {
		for _, d := range doses {
			out.Doses = append(out.Doses, wire.Dose{Seq: d.Seq, Treatment: d.Treatment, Dose: optional(d.Dose, d.HasDose), Unit: d.Unit,
				Route: d.Route, Start: d.Start, End: d.End})
		}
	}
	if eventErr == nil {
		for _, e := range events {
			out.AdverseEvents = append(out.AdverseEvents, wire.AdverseEvent{Seq: e.Seq, Term: e.Term, Decoded: e.Decoded, BodySystem: e.BodySystem,
				Severity: e.Severity, Serious: e.Serious, Start: e.Start, End: e.End, Recorded: e.Recorded})
		}
	}
	jsonhttp.Write(w, http.StatusOK, out)
}

// labGrader grades a subject's labs as the rules do: each against its
// test's baseline by the study's convention (rules.FindBaselines), with
// the study's grading context, a calcium with its draw's albumin.
type labGrader struct {
	criteria  ctcae.Criteria
	context   ctcae.Context
	sub       clinical.Subject
	baselines *ctcae.Baselines
	draws     *ctcae.Draws
}

func newLabGrader(cfg rules.Config, in rules.Input) *labGrader {
	return &labGrader{criteria: cfg.Criteria, context: cfg.GradingContext, sub: in.Subject,
		baselines: rules.FindBaselines(cfg.Baseline, &in), draws: ctcae.FindDraws(in.Labs)}
}

func (g *labGrader) grade(l clinical.LabResult) []ctcae.Result {
	return ctcae.Grade(g.criteria, l, g.baselines.For(l), ctcae.WithContext(g.context), ctcae.WithAlbumin(g.draws.Albumin(l)), ctcae.WithSubject(&g.sub))
}

// labsJSON is a subject's labs with their reference ranges and CTCAE
// grades.
func labsJSON(g *labGrader, labs []clinical.LabResult) []wire.Lab {
	out := make([]wire.Lab, len(labs))
	for i, l := range labs {
		j := wire.Lab{Seq: l.Seq, TestCode: l.TestCode, Test: l.Test, Category: l.Category, Visit: l.Visit, Date: l.Date,
			Value: optional(l.Value, l.HasValue), Unit: l.Unit, Low: optional(l.Low, l.HasLow), High: optional(l.High, l.HasHigh),
			BaselineFlag: l.Baseline, Grades: []wire.LabGrade{}}
		base := g.baselines.For(l)
		if base != nil {
			seq := base.Seq
			j.BaselineSeq = &seq
		}
		if f, ok := clinical.CheckRange(l); ok {
			j.OutOfRange, j.Ratio = f.Direction, f.Ratio
		}
		for _, r := range g.grade(l) {
			gj := wire.LabGrade{Term: r.Term, Direction: r.Direction, Reason: cmp.Or(r.Reason, r.Correction)}
			if r.Gradable {
				gj.Grade = &r.Grade
			}
			j.Grades = append(j.Grades, gj)
		}
		out[i] = j
	}
	return out
}
