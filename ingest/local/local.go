// Package local stores uploads when every service's tables are in one
// database (all-in-one mode, and `trialwatch import`): each upload's
// rows of every domain are staged in short steps out of readers' sight,
// then they, the checks it queues and its audit record become visible in
// one short transaction — all or nothing, across files and domains (see
// Target.Store).
package local

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/checker/labs"
	"github.com/trialwatch/trialwatch/checker/queue"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/events"
	"github.com/trialwatch/trialwatch/exposure"
	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/internal/staged"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/subjects"
)

// Target is an ingest.Target over the stores of one database.
type Target struct {
	db       *sqldb.DB
	subjects *subjects.Store
	exposure *exposure.Store
	events   *events.Store
	labs     *labs.Store
	queue    *queue.Store
	// Wake tells the workers new jobs are queued; may be nil.
	Wake func()
	// HandOffLabs has each upload hand the lab results it gives subjects
	// first to the lab store (labs.Store.Remember), for workers in this
	// process checking through that store. Without workers here, holding
	// them would be for nothing.
	HandOffLabs bool
	// Log, if set, records each upload published, with how long its
	// publishing transaction took, waiting for SQLite's write turn
	// included (it then holds the write lock).
	Log *slog.Logger

	uploads sync.Map // study → chan struct{}: its upload's turn, see Store
}

// Open migrates the services' tables in db and returns the target.
func Open(ctx context.Context, db *sqldb.DB) (*Target, error) {
	t := &Target{db: db}
	var err error
	if t.subjects, err = subjects.Open(ctx, db); err != nil {
		return nil, err
	}
	if t.exposure, err = exposure.Open(ctx, db); err != nil {
		return nil, err
	}
	if t.events, err = events.Open(ctx, db); err != nil {
		return nil, err
	}
	if t.labs, err = labs.Open(ctx, db); err != nil {
		return nil, err
	}
	if t.queue, err = queue.Open(ctx, db); err != nil {
		return nil, err
	}
	return t, nil
}

// Labs is the lab store uploads write to. Workers checking the subjects
// should read through it: uploads hand it the lab results they stored
// (see HandOffLabs).
func (t *Target) Labs() *labs.Store { return t.labs }

// Queue is the check queue uploads add to.
func (t *Target) Queue() *queue.Store { return t.queue }

// Subjects is the subjects service's store.
func (t *Target) Subjects() *subjects.Store { return t.subjects }

// Exposure is the exposure service's store.
func (t *Target) Exposure() *exposure.Store { return t.exposure }

// Events is the adverse-event service's store.
func (t *Target) Events() *events.Store { return t.events }

// Store implements ingest.Target. The upload's records are staged as
// they come, a chunk a short transaction, out of readers' sight: lab
// results by the lab store (labs.Staged), the other domains' by the
// services' stores (internal/staged). Then one transaction publishes
// them all, queues the checks and writes the audit record: all or
// nothing, across files and domains, while the database's other writers
// (checks storing findings, status changes, logins) take their turns
// between the chunks rather than waiting for the whole upload. Uploads
// of one study are stored one at a time in a process (a second waits),
// so that each compares its rows with what the one before stored.
func (t *Target) Store(ctx context.Context, study string, files []string, now time.Time, fill func(ingest.Upload) error) (ingest.Result, error) {
	turn, _ := t.uploads.LoadOrStore(study, make(chan struct{}, 1))
	select {
	case turn.(chan struct{}) <- struct{}{}:
		defer func() { <-turn.(chan struct{}) }()
	case <-ctx.Done():
		return ingest.Result{}, fmt.Errorf("waiting for another upload of study %s to be stored: %w", study, ctx.Err())
	}
	// Every domain stages its chunks in one session: on PostgreSQL one
	// connection, commits that do not wait for the disk, confirmed by the
	// publishing transaction.
	session, err := t.db.BeginLazy(ctx)
	if err != nil {
		return ingest.Result{}, err
	}
	defer session.Close() // after close below, which stops the staging
	u := &upload{t: t, study: study, now: now, domains: map[string]*clinical.Tally{}, session: session}
	if t.HandOffLabs {
		u.handoff = newLabHandoff()
	}
	if err := fill(u); err != nil {
		u.close(ctx, false)
		return ingest.Result{}, err
	}
	var res ingest.Result
	var firstLabs map[string][][]clinical.LabResult
	var versions map[string]int64
	began := time.Now()
	err = t.db.InTx(ctx, func(tx *sql.Tx) error {
		if len(u.staged) > 0 && u.labsStaged == nil { // else LB's PublishTx confirms it
			if err := session.Confirm(ctx); err != nil {
				return fmt.Errorf("publishing the upload: %w", err)
			}
		}
		for _, w := range u.staged {
			if err := w.PublishTx(ctx, tx); err != nil {
				return fmt.Errorf("storing %s: %w", w.domain, err)
			}
		}
		if u.labsStaged != nil {
			if err := u.labsStaged.PublishTx(ctx, tx); err != nil {
				return err
			}
		}
		res = u.result()
		var err error
		if firstLabs, versions, err = u.handoff.firstTx(ctx, t.labs, tx, study); err != nil {
			return err
		}
		if err := t.queue.EnqueueTx(ctx, tx, study, u.changed.List(), now); err != nil {
			return err
		}
		audit.Describe(ctx, "", strings.Join(files, ","), nil, ingest.Record{Files: files, Result: res})
		return audit.WriteTx(ctx, tx) // the request's audit record commits with the data
	})
	published := time.Since(began)
	u.close(ctx, err == nil)
	if err != nil {
		return ingest.Result{}, err
	}
	t.log().Info("upload published", "study", study, "files", strings.Join(files, ","), "publish", published,
		"changed_subjects", res.Queued)
	t.labs.Remember(study, versions, firstLabs)
	if t.Wake != nil {
		t.Wake()
	}
	return res, nil
}

func (t *Target) log() *slog.Logger {
	if t.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return t.Log
}

// upload is one Store's upload.
type upload struct {
	t     *Target
	study string
	now   time.Time

	domains map[string]*clinical.Tally
	order   []string // domains in the order first written
	changed ingest.SubjectSet

	// The writers staging each domain but LB, opened with its first part.
	subjects     *staged.Writer[clinical.Subject]
	doses        *staged.Writer[clinical.Dose]
	events       *staged.Writer[clinical.AdverseEvent]
	dispositions *staged.Writer[clinical.Disposition]
	conMeds      *staged.Writer[clinical.ConMed]
	staged       []stagedDomain     // the writers opened, in the order opened
	session      *sqldb.LazySession // the writers' transactions

	labsStaged *labs.Staged // nil until the upload's first lab results
	handoff    *labHandoff
}

// stagedDomain is a domain's writer as the upload publishes and closes it.
type stagedDomain struct {
	domain string
	w      interface {
		PublishTx(context.Context, *sql.Tx) error
		Close(published bool)
	}
}

func (d stagedDomain) PublishTx(ctx context.Context, tx *sql.Tx) error { return d.w.PublishTx(ctx, tx) }

// Known looks the subjects up as stored before the upload (its own DM
// records are the caller's to know).
func (u *upload) Known(ctx context.Context, study string, ids []string) (map[string]string, error) {
	return u.t.subjects.Known(ctx, study, ids)
}

// PrepareLabs makes the lab results' rows (labs.NewRows).
func (u *upload) PrepareLabs(l []clinical.LabResult) ingest.PreparedLabs {
	u.handoff.add(l)
	rows := labs.NewRows(l)
	return &rows
}

// Write stages p's records, each domain with the store that owns it.
// checked: the domain's data is read by a subject's check, so a change
// queues one. DS and CM are not (site key risk indicators read them
// study-wide).
func (u *upload) Write(ctx context.Context, p ingest.Part) error {
	s, study, now := u.t, u.study, u.now
	steps := []struct {
		domain  string
		n       int
		checked bool
		put     func() (clinical.Summary, error)
	}{
		{"DM", len(p.Subjects), true, func() (clinical.Summary, error) {
			return stage(u, "DM", &u.subjects, func() *staged.Writer[clinical.Subject] { return s.subjects.StageSubjects(ctx, study, now) }).Put(ctx, p.Subjects)
		}},
		{"EX", len(p.Doses), true, func() (clinical.Summary, error) {
			return stage(u, "EX", &u.doses, func() *staged.Writer[clinical.Dose] { return s.exposure.StageDoses(ctx, study, now) }).Put(ctx, p.Doses)
		}},
		{"AE", len(p.Events), true, func() (clinical.Summary, error) {
			return stage(u, "AE", &u.events, func() *staged.Writer[clinical.AdverseEvent] { return s.events.StageEvents(ctx, study, now) }).Put(ctx, p.Events)
		}},
		{"LB", len(p.Labs), true, func() (clinical.Summary, error) { return u.putLabs(ctx, p.Labs) }},
		{"DS", len(p.Dispositions), false, func() (clinical.Summary, error) {
			return stage(u, "DS", &u.dispositions, func() *staged.Writer[clinical.Disposition] {
				return s.subjects.StageDispositions(ctx, study, now)
			}).Put(ctx, p.Dispositions)
		}},
		{"CM", len(p.ConMeds), false, func() (clinical.Summary, error) {
			return stage(u, "CM", &u.conMeds, func() *staged.Writer[clinical.ConMed] { return s.exposure.StageConMeds(ctx, study, now) }).Put(ctx, p.ConMeds)
		}},
	}
	for _, step := range steps {
		if step.n == 0 {
			continue
		}
		sum, err := step.put()
		if err != nil {
			return fmt.Errorf("storing %s: %w", step.domain, err)
		}
		u.tally(step.domain).Add(sum)
		if step.checked {
			u.changed.Add(sum.Subjects...)
		}
	}
	return nil
}

// stage is the domain's writer *w, opened with open on its first part.
func stage[T any](u *upload, domain string, w **staged.Writer[T], open func() *staged.Writer[T]) *staged.Writer[T] {
	if *w == nil {
		*w = open()
		(*w).CommitLazily(u.session)
		u.staged = append(u.staged, stagedDomain{domain, *w})
	}
	return *w
}

// tally is the tally of domain, which it begins when the domain is new.
func (u *upload) tally(domain string) *clinical.Tally {
	d := u.domains[domain]
	if d == nil {
		d = &clinical.Tally{}
		u.domains[domain] = d
		u.order = append(u.order, domain)
	}
	return d
}

// close ends the staging of every domain, published or not: what is
// left staged is deleted, a bounded step at a time.
func (u *upload) close(ctx context.Context, published bool) {
	for _, d := range u.staged {
		d.w.Close(published)
	}
	u.staged = nil
	if u.labsStaged != nil {
		u.labsStaged.Close(ctx, published)
		u.labsStaged = nil
	}
}

// putLabs stages the rows PrepareLabs made, as one write.
func (u *upload) putLabs(ctx context.Context, parts []ingest.PreparedLabs) (clinical.Summary, error) {
	if u.labsStaged == nil {
		staged, err := u.t.labs.StageIn(ctx, u.session, u.study, u.now)
		if err != nil {
			return clinical.Summary{}, err
		}
		u.labsStaged = staged
	}
	rows := labs.Join(parts)
	if u.handoff != nil {
		rows.FirstLabs = u.handoff.gaveFirst
	}
	return u.labsStaged.Put(ctx, rows)
}

func (u *upload) result() ingest.Result {
	res := ingest.Result{Domains: map[string]clinical.Summary{}, Queued: len(u.changed.List())}
	for _, d := range u.order {
		res.Domains[d] = u.domains[d].Summary()
	}
	return res
}
