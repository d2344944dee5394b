// Package checker analyses one subject at a time: it fans out to the
// subject, exposure and adverse-event services under one total deadline,
// reads the subject's labs from its own store, runs the clinical rules and
// stores the signals they raise.
//
// The fan-out is the part that must never leak: every goroutine it starts
// writes its result into a variable it alone owns and exits when its call
// returns, every call carries the check's deadline, and Check waits for all
// of them before it returns.
package checker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules"
)

// FindingSink stores what a check of one subject found: its findings
// (withdrawing those of the rules that ran which the data no longer
// supports), its eDISH point and its grade counts; it fills in the
// findings' IDs, creation times and statuses.
type FindingSink interface {
	SaveAssessment(ctx context.Context, a *rules.Assessment, now time.Time) error
}

// StudyData is what a check reads per study besides the subject's data:
// the study's rule settings.
type StudyData interface {
	Settings(ctx context.Context, study string) (rules.Config, error)
}

// defaultStudy is used without WithStudyData: default rules.
type defaultStudy struct{}

func (defaultStudy) Settings(context.Context, string) (rules.Config, error) {
	return rules.Config{}, nil
}

// Sources are the upstream services a check calls: the data services'
// stores in this process or their Connect clients, alike to the checker.
type Sources struct {
	Subjects clinical.SubjectSource
	Exposure clinical.ExposureSource
	Events   clinical.EventSource
}

// Status is how one upstream call of a check ended.
type Status string

const (
	StatusOK          Status = "ok"
	StatusTimeout     Status = "timeout"
	StatusUnavailable Status = "unavailable"
	StatusError       Status = "error"
	// StatusCancelled marks a call abandoned because the required subject
	// lookup failed first, so its answer could not be used.
	StatusCancelled Status = "cancelled"
)

// Outcome summarises a check for metrics and the HTTP status.
type Outcome string

const (
	OutcomeComplete           Outcome = "complete"
	OutcomeIncomplete         Outcome = "incomplete"
	OutcomeNotFound           Outcome = "not_found"
	OutcomeSubjectTimeout     Outcome = "subject_timeout"
	OutcomeSubjectUnavailable Outcome = "subject_unavailable"
	OutcomeClientGone         Outcome = "client_gone"
	OutcomeError              Outcome = "error"
)

// SourceStatuses reports each upstream's status in a check.
type SourceStatuses struct {
	Subject       Status `json:"subject"`
	Exposure      Status `json:"exposure"`
	AdverseEvents Status `json:"adverse_events"`
}

// Result is the answer to one check.
type Result struct {
	Study    string
	USUBJID  string
	Outcome  Outcome
	Sources  SourceStatuses
	Signals  []clinical.Signal
	Elapsed  time.Duration
	Err      error // set unless Outcome is complete or incomplete
	Complete bool
	// StoringLater: storing what the check found did not finish within the
	// answer's deadline, so the answer came first and the findings are
	// being stored behind it (their IDs and statuses are not known yet).
	StoringLater bool
}

// Checker runs checks. Create it with New; Wait for the findings it is
// still storing before closing what it stores them in.
type Checker struct {
	sources  Sources
	labs     clinical.LabSource
	sink     FindingSink
	study    StudyData
	deadline time.Duration
	metrics  *Metrics
	log      *slog.Logger
	now      func() time.Time
	requeue  func(ctx context.Context, study, usubjid string) error
	// storing tracks the goroutines storing findings whose check answered
	// before they were stored.
	storing sync.WaitGroup
}

// AnswerGrace is how long after its deadline a check may answer: the
// time to write the answer once the deadline has passed.
const AnswerGrace = 50 * time.Millisecond

// answerWriting is the part of AnswerGrace kept for writing the answer
// and passing it back through the HTTP layers: the check stops waiting for
// its findings to be stored this long before the grace ends, so the client
// has the answer within it (the soak saw answers written at the grace's
// very end reach clients up to 60 ms late).
const answerWriting = 25 * time.Millisecond

// storeBound bounds storing findings once the answer has gone: long
// enough to wait out another writer holding the database, short enough
// that shutdown is never held up for long.
const storeBound = 30 * time.Second

// Option configures a Checker.
type Option func(*Checker)

// DefaultDeadline bounds a whole check: the three upstream calls and the
// lab read together.
const DefaultDeadline = 3 * time.Second

// WithDeadline sets the total deadline of one check (default 3 s).
func WithDeadline(d time.Duration) Option { return func(c *Checker) { c.deadline = d } }

// WithMetrics records check and upstream metrics.
func WithMetrics(m *Metrics) Option { return func(c *Checker) { c.metrics = m } }

// WithStudyData reads study settings.
func WithStudyData(d StudyData) Option { return func(c *Checker) { c.study = d } }

// WithRequeue is how findings that could not be stored at all, after the
// check answered without them, get another chance: queue a check of the
// subject (the check queue's Enqueue). Without it they are stored at the
// subject's next check.
func WithRequeue(f func(ctx context.Context, study, usubjid string) error) Option {
	return func(c *Checker) { c.requeue = f }
}

// WithLogger logs failed upstream calls.
func WithLogger(l *slog.Logger) Option { return func(c *Checker) { c.log = l } }

// New returns a checker over the given upstreams, lab source and signal sink.
func New(src Sources, labs clinical.LabSource, sink FindingSink, opts ...Option) *Checker {
	c := &Checker{sources: src, labs: labs, sink: sink, study: defaultStudy{}, deadline: DefaultDeadline,
		log: slog.New(slog.DiscardHandler), now: time.Now}
	for _, o := range opts {
		o(c)
	}
	return c
}

// gathered holds what the fan-out fetched. Each field pair is written by
// exactly one goroutine and read only after all of them have exited.
type gathered struct {
	subject    clinical.Subject
	subjectErr error
	doses      []clinical.Dose
	dosesErr   error
	events     []clinical.AdverseEvent
	eventsErr  error
	labs       []clinical.LabResult
	labsErr    error
	config     rules.Config
}

// Check analyses one subject and answers within the deadline, counted
// from the request's arrival (WithArrival) when ctx carries it, plus
// AnswerGrace. Every goroutine it started has exited when it returns,
// except one still storing what it found when the deadline came: that
// one ends when stored, within storeBound, and Wait waits for it.
func (c *Checker) Check(ctx context.Context, study, usubjid string) Result {
	start := time.Now()
	arrived := arrivalOf(ctx, start)
	if arrived.Before(start) {
		c.metrics.waited(start.Sub(arrived))
	}
	c.metrics.CheckStarted()
	res := c.check(ctx, study, usubjid, arrived.Add(c.deadline+AnswerGrace-answerWriting))
	res.Elapsed = time.Since(start)
	c.metrics.CheckDone(res.Outcome, res.Elapsed)
	return res
}

type arrivalKey struct{}

// arrivalOf is when the request ctx serves arrived (WithArrival), or now
// when it carries none or a later one.
func arrivalOf(ctx context.Context, now time.Time) time.Time {
	if t, ok := ctx.Value(arrivalKey{}).(time.Time); ok && t.Before(now) {
		return t
	}
	return now
}

// WithArrival records when the request a check answers arrived, so that
// time spent before the check starts (authentication, waiting for a
// worker) counts against its deadline.
func WithArrival(ctx context.Context, t time.Time) context.Context {
	return context.WithValue(ctx, arrivalKey{}, t)
}

// Wait returns once the findings checks were still storing after they
// answered are stored (or gave up, within storeBound), or when ctx ends.
func (c *Checker) Wait(ctx context.Context) error {
	done := make(chan struct{})
	go func() { // exits when the storing goroutines have; they are bounded by storeBound
		c.storing.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("findings still being stored: %w", context.Cause(ctx))
	}
}

// Deadline is the total deadline of one check.
func (c *Checker) Deadline() time.Duration { return c.deadline }

// Metrics are the series the checker records to; nil records nothing.
func (c *Checker) Metrics() *Metrics { return c.metrics }

// Now is the checker's clock.
func (c *Checker) Now() time.Time { return c.now() }

func (c *Checker) check(ctx context.Context, study, usubjid string, answerBy time.Time) Result {
	e := c.Examine(ctx, study, usubjid, ownData{c.labs, c.study})
	if e.Result.Outcome != "" {
		return e.Result
	}
	// Stored even if the client leaves now: the work is done and the
	// findings are true. The goroutine stores a copy, so that the answer
	// never reads what it writes; it ends when stored, within storeBound.
	stored := *e.Assessment
	stored.Signals = slices.Clone(stored.Signals)
	done := make(chan error, 1) // buffered: the send never waits for an answer that went
	c.storing.Add(1)
	go func() { // owned by c.storing (Wait); ends when stored or after storeBound
		defer c.storing.Done()
		saveCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeBound)
		defer cancel()
		err := c.store(saveCtx, Findings{Assessment: &stored})
		if err != nil && time.Now().After(answerBy) {
			c.storedLate(saveCtx, study, usubjid, err)
		}
		done <- err
	}()
	answer := time.NewTimer(time.Until(answerBy))
	defer answer.Stop()
	select {
	case err := <-done:
		e.Result.Signals = stored.Signals
		return c.Conclude(e, err)
	case <-answer.C:
		// The answer goes now with what was found; the findings follow.
		res := c.Conclude(e, nil)
		res.StoringLater = true
		return res
	}
}

// storedLate handles findings that could not be stored after their check
// answered without them: logged, and the subject queued for another check.
func (c *Checker) storedLate(ctx context.Context, study, usubjid string, err error) {
	c.log.LogAttrs(ctx, slog.LevelError, "storing findings after the check answered failed",
		slog.String("study", study), slog.String("subject", usubjid), slog.String("error", err.Error()))
	if c.requeue == nil {
		return
	}
	if err := c.requeue(ctx, study, usubjid); err != nil {
		c.log.LogAttrs(ctx, slog.LevelError, "queueing another check failed; the findings wait for the subject's next check",
			slog.String("study", study), slog.String("subject", usubjid), slog.String("error", err.Error()))
	}
}

// Findings are what a check found before it is stored: its Result, with
// Outcome still empty unless the check ended before running its rules,
// and what the rules assessed (nil when they did not run); the Result's
// Signals are the Assessment's.
type Findings struct {
	Result     Result
	Assessment *rules.Assessment
	subject    clinical.Subject
}

// Examine runs a check up to storing what it found: the fan-out under the
// check's deadline, with the subject's labs and the study's settings read
// from local, then the rules. Check is Examine, storing and Conclude; a
// caller checking many subjects at once (the queue's batches) reads their
// local data together and stores their findings together.
func (c *Checker) Examine(ctx context.Context, study, usubjid string, local Local) Findings {
	return c.ExamineWith(ctx, study, usubjid, nil, local)
}

// ExamineWith is Examine taking from up what ReadUpstream read of the
// subject; the fan-out calls only the sources up has no answer of. A nil
// up is Examine.
func (c *Checker) ExamineWith(ctx context.Context, study, usubjid string, up *Upstream, local Local) Findings {
	return c.evaluate(ctx, study, usubjid, c.gather(ctx, study, usubjid, up, local))
}

// Upstream is what the sources able to read several subjects at once
// (clinical.SubjectBatchSource and the like) answered for a batch of one
// study's subjects; see ReadUpstream. The zero Upstream holds nothing.
type Upstream struct {
	study    string
	subjects map[string]clinical.Subject // nil: not read
	doses    map[string][]clinical.Dose
	events   map[string][]clinical.AdverseEvent
}

// ReadUpstream reads the subjects, dose records and adverse events of
// usubjids, all of study, each with one call to the sources that have
// the capability, concurrently and under one check's deadline. A source
// without it, or whose read fails, is left to each check's own call in
// ExamineWith, so that a failed read fails a check only as that check's
// own call would. It returns once every goroutine it started has exited.
func (c *Checker) ReadUpstream(ctx context.Context, study string, usubjids []string) *Upstream {
	ctx, cancel := context.WithTimeout(ctx, c.deadline)
	defer cancel()
	up := &Upstream{study: study}
	var wg sync.WaitGroup
	if src, ok := c.sources.Subjects.(clinical.SubjectBatchSource); ok {
		wg.Go(func() {
			up.subjects = readBatch(ctx, c, "subjects", func(ctx context.Context) (map[string]clinical.Subject, error) {
				return src.SubjectsOf(ctx, study, usubjids)
			})
		})
	}
	if src, ok := c.sources.Exposure.(clinical.ExposureBatchSource); ok {
		wg.Go(func() {
			up.doses = readBatch(ctx, c, "exposure", func(ctx context.Context) (map[string][]clinical.Dose, error) {
				return src.DosesOf(ctx, study, usubjids)
			})
		})
	}
	if src, ok := c.sources.Events.(clinical.EventBatchSource); ok {
		wg.Go(func() {
			up.events = readBatch(ctx, c, "adverse_events", func(ctx context.Context) (map[string][]clinical.AdverseEvent, error) {
				return src.AdverseEventsOf(ctx, study, usubjids)
			})
		})
	}
	wg.Wait()
	return up
}

// readBatch is one batch read through call: its answer, never nil, or
// nil when it failed.
func readBatch[V any](ctx context.Context, c *Checker, service string, fn func(context.Context) (map[string]V, error)) map[string]V {
	m, err := call(ctx, c, service, fn)
	if err != nil {
		return nil
	}
	if m == nil {
		m = map[string]V{}
	}
	return m
}

// of tells whether up read anything of study's subjects.
func (up *Upstream) of(study string) bool { return up != nil && up.study == study }

// subject is the answer up holds of usubjid; up.subjects must not be nil.
func (up *Upstream) subject(usubjid string) (clinical.Subject, error) {
	s, found := up.subjects[usubjid]
	if !found {
		// As the subjects service says it.
		return clinical.Subject{}, fmt.Errorf("subject %s in study %s: %w", usubjid, up.study, clinical.ErrNotFound)
	}
	return s, nil
}

// evaluate runs the rules on what gather fetched.
func (c *Checker) evaluate(ctx context.Context, study, usubjid string, g gathered) Findings {
	res := Result{Study: study, USUBJID: usubjid}
	res.Sources = SourceStatuses{
		Subject:       statusOf(g.subjectErr),
		Exposure:      statusOf(g.dosesErr),
		AdverseEvents: statusOf(g.eventsErr),
	}
	switch {
	case ctx.Err() != nil:
		// The client is gone: nobody will read the answer.
		res.Outcome, res.Err = OutcomeClientGone, context.Cause(ctx)
	case errors.Is(g.subjectErr, clinical.ErrNotFound):
		res.Outcome, res.Err = OutcomeNotFound, g.subjectErr
	case g.subjectErr != nil && res.Sources.Subject == StatusTimeout:
		res.Outcome, res.Err = OutcomeSubjectTimeout, g.subjectErr
	case g.subjectErr != nil:
		res.Outcome, res.Err = OutcomeSubjectUnavailable, g.subjectErr
	case g.labsErr != nil:
		res.Outcome, res.Err = OutcomeError, fmt.Errorf("reading lab results: %w", g.labsErr)
	}
	if res.Outcome != "" {
		return Findings{Result: res}
	}
	a := rules.Assess(g.config, rules.Input{
		Subject: g.subject, Doses: g.doses, Events: g.events, Labs: g.labs,
		HaveDoses: g.dosesErr == nil, HaveEvents: g.eventsErr == nil,
	})
	res.Signals = a.Signals
	return Findings{Result: res, Assessment: &a, subject: g.subject}
}

// store writes what a check found with the checker's sink.
func (c *Checker) store(ctx context.Context, e Findings) error {
	if err := c.sink.SaveAssessment(ctx, e.Assessment, c.now()); err != nil {
		return fmt.Errorf("storing findings: %w", err)
	}
	return nil
}

// Conclude is the Result of a check once storing what it found ended
// with err (nil: stored). Findings that ended before storing are their
// Result as they are.
func (c *Checker) Conclude(e Findings, err error) Result {
	res := e.Result
	if res.Outcome != "" {
		return res
	}
	if err != nil {
		res.Outcome, res.Err = OutcomeError, err
		return res
	}
	res.Complete = res.Sources.Exposure == StatusOK && res.Sources.AdverseEvents == StatusOK
	res.Outcome = OutcomeComplete
	if !res.Complete {
		res.Outcome = OutcomeIncomplete
		res.Signals = append(res.Signals, incompleteSignal(e.subject, res.Sources, c.now()))
	}
	return res
}

// Local is what a check reads from the checker's own stores rather than
// over the fan-out: the subject's labs and the study's settings.
type Local interface {
	clinical.LabSource
	Settings(ctx context.Context, study string) (rules.Config, error)
}

// ownData reads each check's local data as it runs.
type ownData struct {
	clinical.LabSource
	StudyData
}

// gather runs the upstream calls concurrently with the local reads under
// one deadline derived from ctx, so a client disconnect cancels them all.
// What up holds is taken from it rather than called for.
func (c *Checker) gather(ctx context.Context, study, usubjid string, up *Upstream, local Local) gathered {
	// The deadline counts from the request's arrival.
	ctx, cancel := context.WithDeadline(ctx, arrivalOf(ctx, time.Now()).Add(c.deadline))
	defer cancel()
	var g gathered
	var wg sync.WaitGroup
	if up.of(study) && up.subjects != nil {
		if g.subject, g.subjectErr = up.subject(usubjid); g.subjectErr != nil {
			cancel() // as below: the calls still to make are abandoned
		}
	} else {
		wg.Go(func() {
			g.subject, g.subjectErr = call(ctx, c, "subjects", func(ctx context.Context) (clinical.Subject, error) {
				return c.sources.Subjects.Subject(ctx, study, usubjid)
			})
			if g.subjectErr != nil {
				cancel() // without the subject there is no check: stop the others now
			}
		})
	}
	if up.of(study) && up.doses != nil {
		g.doses = up.doses[usubjid]
	} else {
		wg.Go(func() {
			g.doses, g.dosesErr = call(ctx, c, "exposure", func(ctx context.Context) ([]clinical.Dose, error) {
				return c.sources.Exposure.Doses(ctx, study, usubjid)
			})
		})
	}
	if up.of(study) && up.events != nil {
		g.events = up.events[usubjid]
	} else {
		wg.Go(func() {
			g.events, g.eventsErr = call(ctx, c, "adverse_events", func(ctx context.Context) ([]clinical.AdverseEvent, error) {
				return c.sources.Events.AdverseEvents(ctx, study, usubjid)
			})
		})
	}
	// The lab and settings reads are local: the calling goroutine does them
	// while it would otherwise only wait.
	g.labs, g.labsErr = local.Labs(ctx, study, usubjid)
	if g.labsErr == nil {
		g.config, g.labsErr = local.Settings(ctx, study)
	}
	wg.Wait()
	return g
}

// call times one upstream call and records how it ended.
func call[T any](ctx context.Context, c *Checker, service string, fn func(context.Context) (T, error)) (T, error) {
	start := time.Now()
	v, err := fn(ctx)
	status := statusOf(err)
	if errors.Is(err, clinical.ErrNotFound) {
		status = "not_found"
	}
	c.metrics.upstreamDone(service, string(status), time.Since(start))
	if err != nil && !errors.Is(err, clinical.ErrNotFound) {
		c.log.LogAttrs(ctx, slog.LevelWarn, "upstream call failed", slog.String("service", service), slog.String("error", err.Error()))
	}
	return v, err
}

// statusOf classifies an upstream error.
func statusOf(err error) Status {
	switch {
	case err == nil || errors.Is(err, clinical.ErrNotFound):
		return StatusOK
	case errors.Is(err, context.DeadlineExceeded):
		return StatusTimeout
	case errors.Is(err, clinical.ErrUnavailable):
		return StatusUnavailable
	case errors.Is(err, context.Canceled):
		return StatusCancelled
	}
	return StatusError
}

func incompleteSignal(s clinical.Subject, src SourceStatuses, now time.Time) clinical.Signal {
	return clinical.Signal{
		Study: s.Study, Site: s.Site, USUBJID: s.USUBJID,
		Rule: clinical.RuleCheckIncomplete, Severity: clinical.SeverityMedium, Key: "CHECK",
		Evidence: map[string]any{"exposure": string(src.Exposure), "adverse_events": string(src.AdverseEvents)},
		Message: fmt.Sprintf("check incomplete: exposure %s, adverse events %s; rules that need them were not run",
			src.Exposure, src.AdverseEvents),
		Created: now.UTC(),
	}
}
