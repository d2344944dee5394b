// Package local stores uploads when every service's tables are in one
// database (all-in-one mode, and `trialwatch import`): each upload is one
// transaction holding every domain's rows, the checks it queues and its
// audit record — all or nothing, across files and domains.
package local

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/checker/labs"
	"github.com/trialwatch/trialwatch/checker/queue"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/events"
	"github.com/trialwatch/trialwatch/exposure"
	"github.com/trialwatch/trialwatch/ingest"
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

// Store implements ingest.Target: one transaction for everything.
func (t *Target) Store(ctx context.Context, study string, files []string, now time.Time, fill func(ingest.Upload) error) (ingest.Result, error) {
	var res ingest.Result
	var firstLabs map[string][][]clinical.LabResult
	var versions map[string]int64
	err := t.db.InTx(ctx, func(tx *sql.Tx) error {
		u := &upload{t: t, tx: tx, study: study, now: now, domains: map[string]*clinical.Tally{}}
		if t.HandOffLabs {
			u.handoff = newLabHandoff()
		}
		if err := fill(u); err != nil {
			return err
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
	if err != nil {
		return ingest.Result{}, err
	}
	t.labs.Remember(study, versions, firstLabs)
	if t.Wake != nil {
		t.Wake()
	}
	return res, nil
}

// upload is one Store's upload, within its transaction.
type upload struct {
	t     *Target
	tx    *sql.Tx
	study string
	now   time.Time

	domains map[string]*clinical.Tally
	order   []string // domains in the order first written
	changed ingest.SubjectSet

	handoff *labHandoff
}

// Known looks the subjects up within the transaction.
func (u *upload) Known(ctx context.Context, study string, ids []string) (map[string]string, error) {
	return u.t.subjects.KnownTx(ctx, u.tx, study, ids)
}

// PrepareLabs makes the lab results' rows (labs.NewRows).
func (u *upload) PrepareLabs(l []clinical.LabResult) ingest.PreparedLabs {
	u.handoff.add(l)
	rows := labs.NewRows(l)
	return &rows
}

// Write stores each domain of p with its store.
func (u *upload) Write(ctx context.Context, p ingest.Part) error {
	steps := []struct {
		domain string
		n      int
		put    func() (clinical.Summary, error)
		// checked: the domain's data is read by a subject's check, so a
		// change queues one. DS and CM are not (site key risk indicators
		// read them study-wide).
		checked bool
	}{
		{"DM", len(p.Subjects), func() (clinical.Summary, error) {
			return u.t.subjects.PutTx(ctx, u.tx, u.study, p.Subjects, u.now)
		}, true},
		{"EX", len(p.Doses), func() (clinical.Summary, error) { return u.t.exposure.PutTx(ctx, u.tx, u.study, p.Doses, u.now) }, true},
		{"AE", len(p.Events), func() (clinical.Summary, error) { return u.t.events.PutTx(ctx, u.tx, u.study, p.Events, u.now) }, true},
		{"LB", len(p.Labs), func() (clinical.Summary, error) { return u.putLabs(ctx, p.Labs) }, true},
		{"DS", len(p.Dispositions), func() (clinical.Summary, error) {
			return u.t.subjects.PutDispositionsTx(ctx, u.tx, u.study, p.Dispositions, u.now)
		}, false},
		{"CM", len(p.ConMeds), func() (clinical.Summary, error) {
			return u.t.exposure.PutConMedsTx(ctx, u.tx, u.study, p.ConMeds, u.now)
		}, false},
	}
	for _, s := range steps {
		if s.n == 0 {
			continue
		}
		sum, err := s.put()
		if err != nil {
			return err
		}
		d := u.domains[s.domain]
		if d == nil {
			d = &clinical.Tally{}
			u.domains[s.domain] = d
			u.order = append(u.order, s.domain)
		}
		d.Add(sum)
		if s.checked {
			u.changed.Add(sum.Subjects...)
		}
	}
	return nil
}

// putLabs stores the rows PrepareLabs made, as one write.
func (u *upload) putLabs(ctx context.Context, parts []ingest.PreparedLabs) (clinical.Summary, error) {
	rows := labs.Join(parts)
	if u.handoff != nil {
		rows.FirstLabs = u.handoff.gaveFirst
	}
	return u.t.labs.PutRowsTx(ctx, u.tx, u.study, rows, u.now)
}

func (u *upload) result() ingest.Result {
	res := ingest.Result{Domains: map[string]clinical.Summary{}, Queued: len(u.changed.List())}
	for _, d := range u.order {
		res.Domains[d] = u.domains[d].Summary()
	}
	return res
}
