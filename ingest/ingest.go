// Package ingest stores validated SDTM data for a study and queues a
// check of every subject whose data changed. `trialwatch import` and the
// upload endpoint share it, so both validate and store the same way.
package ingest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sdtm"
)

// Result tells what an ingest stored, per domain, and which subjects it
// queued for a check.
type Result struct {
	Domains map[string]clinical.Summary `json:"domains"`
	Queued  int                         `json:"checks_queued"`
}

// Target is where a study's data goes.
type Target interface {
	// Known returns which of ids the study already has, with their sites.
	Known(ctx context.Context, study string, ids []string) (map[string]string, error)
	// Store writes a validated batch and queues checks of changed subjects.
	Store(ctx context.Context, study string, b *sdtm.Batch, now time.Time) (Result, error)
}

// Ingest checks that every subject the batch refers to exists (in the
// batch's DM or already stored), then stores it. A batch with any unknown
// subject stores nothing and returns sdtm.Errors naming the rows.
func Ingest(ctx context.Context, t Target, study string, b *sdtm.Batch, now time.Time) (Result, error) {
	allowed, who, err := siteScope(ctx, study)
	if err != nil {
		return Result{}, err
	}
	if allowed != nil {
		if errs := b.CheckSites(allowed, who); len(errs) > 0 {
			return Result{}, errs
		}
	}
	inBatch := map[string]bool{}
	for _, s := range b.Subjects {
		inBatch[s.USUBJID] = true
	}
	var ask []string
	asked := map[string]bool{}
	for _, id := range referencedSubjects(b) {
		if !inBatch[id] && !asked[id] {
			asked[id] = true
			ask = append(ask, id)
		}
	}
	known := map[string]bool{}
	if len(ask) > 0 {
		ids, err := t.Known(ctx, study, ask)
		if err != nil {
			return Result{}, fmt.Errorf("looking up subjects: %w", err)
		}
		for id, site := range ids {
			known[id] = allowed == nil || allowed(site)
		}
	}
	if errs := b.CheckSubjects(func(id string) bool { return inBatch[id] || known[id] }); len(errs) > 0 {
		return Result{}, errs
	}
	return t.Store(ctx, study, b, now)
}

// referencedSubjects lists the subjects b's records refer to, in the
// order first seen; a subject may be listed more than once, but not twice
// in a row.
func referencedSubjects(b *sdtm.Batch) []string {
	var ids []string
	add := func(id string) {
		// Records come grouped by subject: most repeat the one before.
		if len(ids) == 0 || ids[len(ids)-1] != id {
			ids = append(ids, id)
		}
	}
	for _, d := range b.Doses {
		add(d.USUBJID)
	}
	for _, e := range b.Events {
		add(e.USUBJID)
	}
	for _, l := range b.Labs {
		add(l.USUBJID)
	}
	for _, c := range b.ConMeds {
		add(c.USUBJID)
	}
	for _, d := range b.Dispositions {
		add(d.USUBJID)
	}
	return ids
}

// ErrNotStored marks a domain trialwatch reads but does not store yet.
var ErrNotStored = errors.New("read and validated but not stored yet; upload DM, EX, AE or LB")

// unsupported refuses domains read but not yet stored, so nothing read is
// dropped without the caller knowing.
func unsupported(b *sdtm.Batch) error {
	switch {
	case len(b.ConMeds) > 0:
		return fmt.Errorf("CM (concomitant medications): %w", ErrNotStored)
	case len(b.Dispositions) > 0:
		return fmt.Errorf("DS (disposition): %w", ErrNotStored)
	}
	return nil
}

// subjectStore, doseStore and eventStore are what a target needs of the
// data services, whether local stores or remote Connect clients.
type subjectStore interface {
	Known(ctx context.Context, study string, ids []string) (map[string]string, error)
	Put(ctx context.Context, study string, subs []clinical.Subject, now time.Time) (clinical.Summary, error)
}

type doseStore interface {
	Put(ctx context.Context, study string, doses []clinical.Dose, now time.Time) (clinical.Summary, error)
}

type eventStore interface {
	Put(ctx context.Context, study string, evs []clinical.AdverseEvent, now time.Time) (clinical.Summary, error)
}

// Remote stores DM, EX and AE through the data services (split mode) and
// LB with its checks in the checker's own database. Each domain is stored
// all or nothing; across domains the checks are queued first, so a crash
// half way leaves at worst a needless re-check, never a missed one, and
// queued again after each domain is stored, so no check runs only on the
// data from before the upload.
type Remote struct {
	Subjects subjectStore
	Exposure doseStore
	Events   eventStore
	Checker  *checker.Store
	Wake     func() // tells the workers new jobs are queued; may be nil
}

// Known asks the subjects service.
func (r Remote) Known(ctx context.Context, study string, ids []string) (map[string]string, error) {
	return r.Subjects.Known(ctx, study, ids)
}

// Store implements Target.
func (r Remote) Store(ctx context.Context, study string, b *sdtm.Batch, now time.Time) (Result, error) {
	if err := unsupported(b); err != nil {
		return Result{}, err
	}
	res := Result{Domains: map[string]clinical.Summary{}}
	remoteSubjects := distinct(b.Subjects, b.Doses, b.Events)
	if err := r.Checker.Enqueue(ctx, study, remoteSubjects, now); err != nil {
		return res, fmt.Errorf("queueing checks: %w", err)
	}
	steps := []struct {
		domain string
		n      int
		put    func() (clinical.Summary, error)
	}{
		{"DM", len(b.Subjects), func() (clinical.Summary, error) { return r.Subjects.Put(ctx, study, b.Subjects, now) }},
		{"EX", len(b.Doses), func() (clinical.Summary, error) { return r.Exposure.Put(ctx, study, b.Doses, now) }},
		{"AE", len(b.Events), func() (clinical.Summary, error) { return r.Events.Put(ctx, study, b.Events, now) }},
	}
	for _, s := range steps {
		if s.n == 0 {
			continue
		}
		sum, err := s.put()
		if err != nil {
			return res, fmt.Errorf("storing %s: %w", s.domain, err)
		}
		// Queued again now the data is in: a worker may have run the
		// early job before the service stored it, and a new generation
		// makes sure the subject is checked on what was just stored.
		if err := r.Checker.Enqueue(ctx, study, sum.Subjects, now); err != nil {
			return res, fmt.Errorf("queueing checks: %w", err)
		}
		res.Domains[s.domain] = sum
		res.Queued += len(sum.Subjects)
	}
	if len(b.Labs) > 0 {
		var sum clinical.Summary
		err := r.Checker.InTx(ctx, func(tx *sql.Tx) error {
			var err error
			if sum, err = r.Checker.PutLabsTx(ctx, tx, study, b.Labs, now); err != nil {
				return err
			}
			return r.Checker.EnqueueTx(ctx, tx, study, sum.Subjects, now)
		})
		if err != nil {
			return res, fmt.Errorf("storing LB: %w", err)
		}
		res.Domains["LB"] = sum
		res.Queued += len(sum.Subjects)
	}
	if r.Wake != nil {
		r.Wake()
	}
	return res, nil
}

// distinct lists the subjects of DM, EX and AE records in first-seen order.
func distinct(subs []clinical.Subject, doses []clinical.Dose, evs []clinical.AdverseEvent) []string {
	var set subjectSet
	for _, s := range subs {
		set.add([]string{s.USUBJID})
	}
	for _, d := range doses {
		set.add([]string{d.USUBJID})
	}
	for _, e := range evs {
		set.add([]string{e.USUBJID})
	}
	return set.list
}
