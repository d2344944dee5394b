// Package local stores uploads when every service's tables are in one
// database (all-in-one mode, and `trialwatch import`): each upload's
// rows of every domain, the checks it queues and its audit record become
// visible in one transaction — all or nothing, across files and domains
// — and its lab results are stored before it in short steps (see
// Target.Store).
package local

import (
	"context"
	"database/sql"
	"fmt"
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

// Store implements ingest.Target. The upload's lab results, which may be
// millions, are staged as they come, a chunk a short transaction, out of
// readers' sight (labs.Staged); the other domains' records are held on
// disk. Then one transaction stores those, publishes the lab results,
// queues the checks and writes the audit record: all or nothing, across
// files and domains, while the database's other writers (checks storing
// findings, status changes, logins) take their turns between the chunks
// rather than waiting for the whole upload.
func (t *Target) Store(ctx context.Context, study string, files []string, now time.Time, fill func(ingest.Upload) error) (ingest.Result, error) {
	u := &upload{t: t, study: study, now: now, domains: map[string]*clinical.Tally{}}
	if t.HandOffLabs {
		u.handoff = newLabHandoff()
	}
	defer u.held.close()
	if err := fill(u); err != nil {
		u.closeLabs(ctx, false)
		return ingest.Result{}, err
	}
	var res ingest.Result
	var firstLabs map[string][][]clinical.LabResult
	var versions map[string]int64
	err := t.db.InTx(ctx, func(tx *sql.Tx) error {
		if err := u.storeHeldTx(ctx, tx); err != nil {
			return err
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
	u.closeLabs(ctx, err == nil)
	if err != nil {
		return ingest.Result{}, err
	}
	t.labs.Remember(study, versions, firstLabs)
	if t.Wake != nil {
		t.Wake()
	}
	return res, nil
}

// upload is one Store's upload.
type upload struct {
	t     *Target
	study string
	now   time.Time

	domains map[string]*clinical.Tally
	order   []string // domains in the order first written
	changed ingest.SubjectSet

	held       heldRecords
	labsStaged *labs.Staged // nil until the upload's first lab results
	handoff    *labHandoff
}

// heldRecords are the records of every domain but LB, held until the
// upload's transaction stores them.
type heldRecords struct {
	subjects     ingest.Held[clinical.Subject]
	doses        ingest.Held[clinical.Dose]
	events       ingest.Held[clinical.AdverseEvent]
	dispositions ingest.Held[clinical.Disposition]
	conMeds      ingest.Held[clinical.ConMed]
}

func (h *heldRecords) close() {
	h.subjects.Close()
	h.doses.Close()
	h.events.Close()
	h.dispositions.Close()
	h.conMeds.Close()
}

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

// Write stages p's lab results and holds its other records.
func (u *upload) Write(ctx context.Context, p ingest.Part) error {
	hold := []struct {
		domain string
		n      int
		add    func() error
	}{
		{"DM", len(p.Subjects), func() error { return u.held.subjects.Add(p.Subjects) }},
		{"EX", len(p.Doses), func() error { return u.held.doses.Add(p.Doses) }},
		{"AE", len(p.Events), func() error { return u.held.events.Add(p.Events) }},
		{"LB", len(p.Labs), func() error { return u.putLabs(ctx, p.Labs) }},
		{"DS", len(p.Dispositions), func() error { return u.held.dispositions.Add(p.Dispositions) }},
		{"CM", len(p.ConMeds), func() error { return u.held.conMeds.Add(p.ConMeds) }},
	}
	for _, h := range hold {
		if h.n == 0 {
			continue
		}
		if err := h.add(); err != nil {
			return fmt.Errorf("storing %s: %w", h.domain, err)
		}
		u.tally(h.domain)
	}
	return nil
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

// storeHeldTx stores the records held, each domain with its store.
// checked: the domain's data is read by a subject's check, so a change
// queues one. DS and CM are not (site key risk indicators read them
// study-wide).
func (u *upload) storeHeldTx(ctx context.Context, tx *sql.Tx) error {
	put := func(domain string, checked bool, sum clinical.Summary, err error) error {
		if err != nil {
			return err
		}
		u.tally(domain).Add(sum)
		if checked {
			u.changed.Add(sum.Subjects...)
		}
		return nil
	}
	h := &u.held
	steps := []func() error{
		func() error {
			return h.subjects.Each(func(s []clinical.Subject) error {
				sum, err := u.t.subjects.PutTx(ctx, tx, u.study, s, u.now)
				return put("DM", true, sum, err)
			})
		},
		func() error {
			return h.doses.Each(func(d []clinical.Dose) error {
				sum, err := u.t.exposure.PutTx(ctx, tx, u.study, d, u.now)
				return put("EX", true, sum, err)
			})
		},
		func() error {
			return h.events.Each(func(e []clinical.AdverseEvent) error {
				sum, err := u.t.events.PutTx(ctx, tx, u.study, e, u.now)
				return put("AE", true, sum, err)
			})
		},
		func() error {
			return h.dispositions.Each(func(d []clinical.Disposition) error {
				sum, err := u.t.subjects.PutDispositionsTx(ctx, tx, u.study, d, u.now)
				return put("DS", false, sum, err)
			})
		},
		func() error {
			return h.conMeds.Each(func(c []clinical.ConMed) error {
				sum, err := u.t.exposure.PutConMedsTx(ctx, tx, u.study, c, u.now)
				return put("CM", false, sum, err)
			})
		},
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// putLabs stages the rows PrepareLabs made, as one write.
func (u *upload) putLabs(ctx context.Context, parts []ingest.PreparedLabs) error {
	if u.labsStaged == nil {
		staged, err := u.t.labs.Stage(ctx, u.study, u.now)
		if err != nil {
			return err
		}
		u.labsStaged = staged
	}
	rows := labs.Join(parts)
	if u.handoff != nil {
		rows.FirstLabs = u.handoff.gaveFirst
	}
	sum, err := u.labsStaged.Put(ctx, rows)
	if err != nil {
		return err
	}
	u.tally("LB").Add(sum)
	u.changed.Add(sum.Subjects...)
	return nil
}

// closeLabs ends the staging of the lab results, published or not.
func (u *upload) closeLabs(ctx context.Context, committed bool) {
	if u.labsStaged != nil {
		u.labsStaged.Close(ctx, committed)
		u.labsStaged = nil
	}
}

func (u *upload) result() ingest.Result {
	res := ingest.Result{Domains: map[string]clinical.Summary{}, Queued: len(u.changed.List())}
	for _, d := range u.order {
		res.Domains[d] = u.domains[d].Summary()
	}
	return res
}
