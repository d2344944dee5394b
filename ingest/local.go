package ingest

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/events"
	"github.com/trialwatch/trialwatch/exposure"
	"github.com/trialwatch/trialwatch/sdtm"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/subjects"
)

// Local stores every domain in one database that holds all four services'
// tables (all-in-one mode, and `trialwatch import`), in one transaction
// with the checks it queues: all or nothing, across files and domains.
type Local struct {
	db       *sqldb.DB
	subjects *subjects.Store
	exposure *exposure.Store
	events   *events.Store
	checker  *checker.Store
	Wake     func() // tells the workers new jobs are queued; may be nil
	// HandOffLabs has IngestFiles hand the lab results an upload gives
	// subjects first to the checker's store (checker.Store.RememberLabs),
	// for workers in this process checking through that store (Checker).
	// Without workers here, holding them would be for nothing.
	HandOffLabs bool
}

// OpenLocal migrates the services' tables in db and returns the target.
func OpenLocal(ctx context.Context, db *sqldb.DB) (*Local, error) {
	l := &Local{db: db}
	var err error
	if l.subjects, err = subjects.Open(ctx, db); err != nil {
		return nil, err
	}
	if l.exposure, err = exposure.Open(ctx, db); err != nil {
		return nil, err
	}
	if l.events, err = events.Open(ctx, db); err != nil {
		return nil, err
	}
	if l.checker, err = checker.OpenStore(ctx, db); err != nil {
		return nil, err
	}
	return l, nil
}

// Checker is the checker's store the target writes lab results and
// queues checks in. Workers running those checks should use it too: an
// upload hands it the lab results it stored (see HandOffLabs).
func (l *Local) Checker() *checker.Store { return l.checker }

// Known implements Target.
func (l *Local) Known(ctx context.Context, study string, ids []string) (map[string]string, error) {
	return l.subjects.Known(ctx, study, ids)
}

// Store implements Target.
func (l *Local) Store(ctx context.Context, study string, b *sdtm.Batch, now time.Time) (Result, error) {
	if err := unsupported(b); err != nil {
		return Result{}, err
	}
	res := Result{Domains: map[string]clinical.Summary{}}
	err := l.db.InTx(ctx, func(tx *sql.Tx) error {
		var changed subjectSet
		err := l.putTx(ctx, tx, study, b, nil, now, func(domain string, sum clinical.Summary) {
			res.Domains[domain] = sum
			changed.add(sum.Subjects)
		})
		if err != nil {
			return err
		}
		res.Queued = len(changed.list)
		if err := l.checker.EnqueueTx(ctx, tx, study, changed.list, now); err != nil {
			return err
		}
		return recordTx(ctx, tx, nil, res)
	})
	if err != nil {
		return Result{}, err
	}
	if l.Wake != nil {
		l.Wake()
	}
	return res, nil
}

// putTx writes each domain of b with its store, within tx, and tells done
// what each domain's write did. labs, when not nil, are the lab results
// to store already made into rows (checker.NewLabRows), which b.Labs then
// need not hold.
func (l *Local) putTx(ctx context.Context, tx *sql.Tx, study string, b *sdtm.Batch, labs *checker.LabRows, now time.Time, done func(domain string, sum clinical.Summary)) error {
	nLabs := len(b.Labs)
	if labs != nil {
		nLabs = labs.Len()
	}
	putLabs := func() (clinical.Summary, error) {
		if labs != nil {
			return l.checker.PutLabRowsTx(ctx, tx, study, *labs, now)
		}
		return l.checker.PutLabsTx(ctx, tx, study, b.Labs, now)
	}
	steps := []struct {
		domain string
		n      int
		put    func() (clinical.Summary, error)
	}{
		{"DM", len(b.Subjects), func() (clinical.Summary, error) { return l.subjects.PutTx(ctx, tx, study, b.Subjects, now) }},
		{"EX", len(b.Doses), func() (clinical.Summary, error) { return l.exposure.PutTx(ctx, tx, study, b.Doses, now) }},
		{"AE", len(b.Events), func() (clinical.Summary, error) { return l.events.PutTx(ctx, tx, study, b.Events, now) }},
		{"LB", nLabs, putLabs},
	}
	for _, s := range steps {
		if s.n == 0 {
			continue
		}
		sum, err := s.put()
		if err != nil {
			return err
		}
		done(s.domain, sum)
	}
	return nil
}

// recordTx writes the request's audit record of an upload in the
// transaction storing it: what each domain inserted and updated (the rows'
// old and new values are in the domains' history tables).
func recordTx(ctx context.Context, tx *sql.Tx, files []File, res Result) error {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.Name
	}
	audit.Describe(ctx, "", strings.Join(names, ","), nil, uploadRecord{Files: names, Result: res})
	return audit.WriteTx(ctx, tx)
}

// uploadRecord is an upload as its audit record shows it.
type uploadRecord struct {
	Files []string `json:"files,omitempty"`
	Result
}
