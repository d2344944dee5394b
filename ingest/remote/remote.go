// Package remote stores uploads in split mode: DM, EX, AE, DS and CM
// stream to the data services that own them (DS to the subjects service,
// CM to exposure), each service staging a domain's records out of
// readers' sight a chunk a short transaction and publishing them at once
// when told to commit (clinical.RecordWriter, internal/staged), and LB
// is stored with the checks in the checker's own database. Nothing is
// held whole in memory, and no service holds its database's write lock
// for longer than a chunk or a publish.
//
// Across services an upload cannot be one transaction, so it is ordered
// so that nothing is lost:
//  1. every record is validated and sent: DM, EX, AE, DS and CM staged
//     by their services, LB staged in the checker's database out of
//     readers' sight, a chunk a short transaction (labs.Staged: the
//     checker's other writes go on meanwhile);
//  2. the checker's transaction publishes the lab results with a record
//     that the upload is being stored (audit.IntendTx) — so an upload
//     cut short from here on is in the audit trail — and a check of
//     every subject the DM, EX and AE records name, not to run before
//     SafetyNet has passed, in case the process dies before step 4;
//  3. each data service commits (publishes) its writes in turn: DM,
//     EX, AE, then DS and CM;
//  4. the subjects whose data a check reads changed (DM, EX, AE, LB) are
//     queued to run at once, with the upload's audit record. DS and CM
//     queue no check: no check reads them.
//
// Each domain is so stored all or nothing; a failure at step 3 leaves the
// lab results and the domains committed before it stored, and says so in
// the error and the audit record.
package remote

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
	"github.com/trialwatch/trialwatch/ingest"
	"github.com/trialwatch/trialwatch/sqldb"
)

// SubjectService is what an upload needs of the subjects service.
type SubjectService interface {
	clinical.SubjectDirectory
	clinical.SubjectWriter
}

// DefaultSafetyNet is how long the checks queued before the data services
// commit wait before they run (see Target.SafetyNet).
const DefaultSafetyNet = 15 * time.Minute

// Target is an ingest.Target over the data services and the checker's
// database.
type Target struct {
	Subjects SubjectService
	Exposure clinical.DoseWriter
	Events   clinical.EventWriter
	// Dispositions and ConMeds store DS and CM (in split mode the
	// subjects and exposure services' clients); an upload of a domain
	// whose writer is nil fails, naming it, and stores nothing.
	Dispositions clinical.DispositionWriter
	ConMeds      clinical.ConMedWriter
	DB           *sqldb.DB    // the checker's database, which Labs and Queue are on
	Labs         *labs.Store  // the checker's lab results
	Queue        *queue.Store // the checker's check queue
	Wake         func()       // tells the workers new jobs are queued; may be nil
	// SafetyNet delays the checks queued before the data services commit
	// (DefaultSafetyNet when zero): long enough for the upload to finish,
	// so they do not run on the data from before it.
	SafetyNet time.Duration
}

func (t *Target) safetyNet() time.Duration {
	if t.SafetyNet <= 0 {
		return DefaultSafetyNet
	}
	return t.SafetyNet
}

// Store implements ingest.Target.
func (t *Target) Store(ctx context.Context, study string, files []string, now time.Time, fill func(ingest.Upload) error) (ingest.Result, error) {
	name := strings.Join(files, ",")
	// The streams outlive the request's cancellation: once the checker's
	// transaction has committed, the services must commit too, even if
	// the client has gone. Until then a client that leaves ends the
	// upload through fill, and abort cuts the streams.
	u := &upload{t: t, study: study, now: now, streams: context.WithoutCancel(ctx)}
	defer u.abort() // whatever was not committed
	if err := fill(u); err != nil {
		u.closeLabs(ctx, false)
		return ingest.Result{}, err
	}
	err := t.DB.InTx(ctx, func(tx *sql.Tx) error {
		if u.labsStaged != nil {
			if err := u.labsStaged.PublishTx(ctx, tx); err != nil {
				return err
			}
		}
		if err := audit.IntendTx(ctx, tx, name, map[string]any{"files": files}); err != nil {
			return fmt.Errorf("recording the upload's start: %w", err)
		}
		if err := t.Queue.EnqueueAtTx(ctx, tx, study, u.named.List(), now, now.Add(t.safetyNet())); err != nil {
			return fmt.Errorf("queueing checks: %w", err)
		}
		return t.Queue.EnqueueTx(ctx, tx, study, u.labs.Summary().Subjects, now)
	})
	if err != nil {
		u.closeLabs(ctx, false)
		return ingest.Result{}, err
	}
	committing, cancelCommits := context.WithTimeout(u.streams, commitBound)
	defer cancelCommits()
	res, commitErr := u.commit(committing)
	// Deleting the lab results the publish replaced waits for the data
	// services' commits: until those, each service holds its write turn.
	u.closeLabs(ctx, true)
	// The lab results are stored whatever happens next: the record says
	// what was.
	done, cancel := context.WithTimeout(u.streams, 10*time.Second)
	defer cancel()
	rec := ingest.Record{Files: files, Result: res}
	var failed any
	if commitErr != nil {
		failed = map[string]any{"files": files, "stored": res, "failed": commitErr.Error()}
	}
	err = t.DB.InTx(done, func(tx *sql.Tx) error {
		if err := t.Queue.EnqueueTx(done, tx, study, u.changed.List(), now); err != nil {
			return fmt.Errorf("queueing checks: %w", err)
		}
		if failed != nil {
			audit.Describe(ctx, "", name, nil, failed)
		} else {
			audit.Describe(ctx, "", name, nil, rec)
		}
		return audit.WriteTx(ctx, tx)
	})
	if t.Wake != nil {
		t.Wake()
	}
	if commitErr != nil {
		return res, commitErr
	}
	if err != nil {
		return res, fmt.Errorf("the upload is stored, but queueing its checks failed (they run within %v): %w", t.safetyNet(), err)
	}
	return res, nil
}

// commitBound bounds the data services' commits of one upload: each
// wrote its rows as they came, so a commit is short.
const commitBound = 2 * time.Minute

// upload streams one Store's records.
type upload struct {
	t       *Target
	study   string
	now     time.Time
	streams context.Context // the writers' context, see Store

	subjects     clinical.RecordWriter[clinical.Subject]
	doses        clinical.RecordWriter[clinical.Dose]
	events       clinical.RecordWriter[clinical.AdverseEvent]
	dispositions clinical.RecordWriter[clinical.Disposition]
	conMeds      clinical.RecordWriter[clinical.ConMed]

	named ingest.SubjectSet // subjects of the DM, EX and AE records sent
	// labsStaged holds the lab results, out of readers' sight until the
	// checker's transaction publishes them (see labs.Staged).
	labsStaged *labs.Staged
	wroteLabs  bool
	labs       clinical.Tally
	changed    ingest.SubjectSet // set by commit
}

// Known asks the subjects service.
func (u *upload) Known(ctx context.Context, study string, ids []string) (map[string]string, error) {
	return u.t.Subjects.Known(ctx, study, ids)
}

// PrepareLabs makes the lab results' rows (labs.NewRows).
func (u *upload) PrepareLabs(l []clinical.LabResult) ingest.PreparedLabs {
	rows := labs.NewRows(l)
	return &rows
}

// Write sends DM, EX, AE, DS and CM to their services, and stages LB.
func (u *upload) Write(ctx context.Context, p ingest.Part) error {
	if len(p.Subjects) > 0 {
		if err := send(ctx, &u.subjects, func() (clinical.RecordWriter[clinical.Subject], error) {
			return u.t.Subjects.WriteSubjects(u.streams, u.study, u.now)
		}, p.Subjects); err != nil {
			return fmt.Errorf("storing DM: %w", err)
		}
		for _, s := range p.Subjects {
			u.named.Add(s.USUBJID)
		}
	}
	if len(p.Doses) > 0 {
		if err := send(ctx, &u.doses, func() (clinical.RecordWriter[clinical.Dose], error) {
			return u.t.Exposure.WriteDoses(u.streams, u.study, u.now)
		}, p.Doses); err != nil {
			return fmt.Errorf("storing EX: %w", err)
		}
		for _, d := range p.Doses {
			u.named.Add(d.USUBJID)
		}
	}
	if len(p.Events) > 0 {
		if err := send(ctx, &u.events, func() (clinical.RecordWriter[clinical.AdverseEvent], error) {
			return u.t.Events.WriteEvents(u.streams, u.study, u.now)
		}, p.Events); err != nil {
			return fmt.Errorf("storing AE: %w", err)
		}
		for _, e := range p.Events {
			u.named.Add(e.USUBJID)
		}
	}
	if len(p.Dispositions) > 0 {
		if u.t.Dispositions == nil {
			return errNoWriter("DS")
		}
		if err := send(ctx, &u.dispositions, func() (clinical.RecordWriter[clinical.Disposition], error) {
			return u.t.Dispositions.WriteDispositions(u.streams, u.study, u.now)
		}, p.Dispositions); err != nil {
			return fmt.Errorf("storing DS: %w", err)
		}
	}
	if len(p.ConMeds) > 0 {
		if u.t.ConMeds == nil {
			return errNoWriter("CM")
		}
		if err := send(ctx, &u.conMeds, func() (clinical.RecordWriter[clinical.ConMed], error) {
			return u.t.ConMeds.WriteConMeds(u.streams, u.study, u.now)
		}, p.ConMeds); err != nil {
			return fmt.Errorf("storing CM: %w", err)
		}
	}
	if len(p.Labs) > 0 {
		if u.labsStaged == nil {
			staged, err := u.t.Labs.Stage(ctx, u.study, u.now)
			if err != nil {
				return fmt.Errorf("storing LB: %w", err)
			}
			u.labsStaged = staged
		}
		sum, err := u.labsStaged.Put(ctx, labs.Join(p.Labs))
		if err != nil {
			return fmt.Errorf("storing LB: %w", err)
		}
		u.wroteLabs = true
		u.labs.Add(sum)
	}
	return nil
}

// closeLabs ends the staging of the lab results, published or not.
func (u *upload) closeLabs(ctx context.Context, committed bool) {
	if u.labsStaged != nil {
		u.labsStaged.Close(ctx, committed)
		u.labsStaged = nil
	}
}

// errNoWriter refuses a domain the target has no writer for.
func errNoWriter(domain string) error {
	return fmt.Errorf("storing %s: this checker has no service to store %s in", domain, domain)
}

// send writes records with *w, opening it first when it is the domain's
// first part.
func send[T any](ctx context.Context, w *clinical.RecordWriter[T], open func() (clinical.RecordWriter[T], error), records []T) error {
	if *w == nil {
		opened, err := open()
		if err != nil {
			return err
		}
		*w = opened
	}
	return (*w).Write(ctx, records)
}

// commit commits each data service's write in turn, DM first, and
// returns what each domain stored; after a failure, what the domains
// committed before it stored, and the error.
func (u *upload) commit(ctx context.Context) (ingest.Result, error) {
	res := ingest.Result{Domains: map[string]clinical.Summary{}}
	add := func(domain string, sum clinical.Summary) {
		res.Domains[domain] = sum
		u.changed.Add(sum.Subjects...)
	}
	unchecked := func(domain string, sum clinical.Summary) { res.Domains[domain] = sum }
	if u.wroteLabs {
		add("LB", u.labs.Summary())
	}
	var err error
	if u.subjects != nil {
		err = commitOne(ctx, "DM", &u.subjects, add)
	}
	if err == nil && u.doses != nil {
		err = commitOne(ctx, "EX", &u.doses, add)
	}
	if err == nil && u.events != nil {
		err = commitOne(ctx, "AE", &u.events, add)
	}
	if err == nil && u.dispositions != nil {
		err = commitOne(ctx, "DS", &u.dispositions, unchecked)
	}
	if err == nil && u.conMeds != nil {
		err = commitOne(ctx, "CM", &u.conMeds, unchecked)
	}
	res.Queued = len(u.changed.List())
	return res, err
}

func commitOne[T any](ctx context.Context, domain string, w *clinical.RecordWriter[T], add func(string, clinical.Summary)) error {
	sum, err := (*w).Commit(ctx)
	*w = nil
	if err != nil {
		return fmt.Errorf("storing %s: %w", domain, err)
	}
	add(domain, sum)
	return nil
}

// abort ends the writes not committed, keeping nothing of them.
func (u *upload) abort() {
	for _, w := range []interface{ Abort() }{asAborter(u.subjects), asAborter(u.doses), asAborter(u.events),
		asAborter(u.dispositions), asAborter(u.conMeds)} {
		if w != nil {
			w.Abort()
		}
	}
}

// asAborter is w, or nil when no write was opened.
func asAborter[T any](w clinical.RecordWriter[T]) interface{ Abort() } {
	if w == nil {
		return nil
	}
	return w
}
