// Package ingest validates SDTM data for a study and hands it, in bounded
// chunks, to a Target that stores it all or nothing and queues a check of
// every subject whose data changed. `trialwatch import` and the upload
// endpoint share it, so both validate the same way; the all-in-one
// target (ingest/local) and the split-mode one (ingest/remote) store the
// same way behind the Target port, which is all this package knows of
// storage.
package ingest

import (
	"context"
	"fmt"
	"maps"
	"time"

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
	// Store runs fill with a new upload of study's records and keeps
	// what fill wrote only if fill returns nil and every write commits;
	// then it queues a check of every subject whose data changed and
	// records the upload, from files, in the audit trail.
	Store(ctx context.Context, study string, files []string, now time.Time, fill func(Upload) error) (Result, error)
}

// Upload is one upload being stored (see Target.Store).
type Upload interface {
	// Known returns which of ids the study had stored before this
	// upload, with their sites.
	Known(ctx context.Context, study string, ids []string) (map[string]string, error)
	// PrepareLabs makes lab results ready to store without the
	// database, so that a caller streaming a file can prepare one
	// chunk while the one before is written. It may run concurrently
	// with Write.
	PrepareLabs(labs []clinical.LabResult) PreparedLabs
	// Write stores a part of the upload.
	Write(ctx context.Context, p Part) error
}

// Part is some records of an upload: any number of each domain's.
type Part struct {
	Subjects     []clinical.Subject
	Doses        []clinical.Dose
	Events       []clinical.AdverseEvent
	Labs         []PreparedLabs // each from the Upload's PrepareLabs
	Dispositions []clinical.Disposition
	ConMeds      []clinical.ConMed
}

// PreparedLabs are lab results an Upload prepared (PrepareLabs).
type PreparedLabs interface{ Len() int }

// Ingest stores a batch read whole: it checks that every subject the
// batch refers to exists (in the batch's DM or already stored) and is of
// a site the caller may write, then stores it. A batch with any unknown
// subject stores nothing and returns sdtm.Errors naming the rows.
func Ingest(ctx context.Context, t Target, study string, b *sdtm.Batch, now time.Time) (Result, error) {
	allowed, who, err := siteScope(ctx, study)
	if err != nil {
		return Result{}, err
	}
	return t.Store(ctx, study, nil, now, func(u Upload) error {
		if allowed != nil {
			if errs := b.CheckSites(allowed, who); len(errs) > 0 {
				return errs
			}
			errs, err := checkTaken(ctx, u, study, b, allowed, who)
			if err != nil {
				return err
			}
			if len(errs) > 0 {
				return errs
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
			ids, err := u.Known(ctx, study, ask)
			if err != nil {
				return fmt.Errorf("looking up subjects: %w", err)
			}
			for id, site := range ids {
				known[id] = allowed == nil || allowed(site)
			}
		}
		if errs := b.CheckSubjects(func(id string) bool { return inBatch[id] || known[id] }); len(errs) > 0 {
			return errs
		}
		p := Part{Subjects: b.Subjects, Doses: b.Doses, Events: b.Events, Dispositions: b.Dispositions, ConMeds: b.ConMeds}
		if len(b.Labs) > 0 {
			p.Labs = []PreparedLabs{u.PrepareLabs(b.Labs)}
		}
		return u.Write(ctx, p)
	})
}

// checkTaken refuses, for a caller limited to some sites, the batch's DM
// records of subjects stored at a site it may not write.
func checkTaken(ctx context.Context, u Upload, study string, b *sdtm.Batch, allowed func(string) bool, who string) (sdtm.Errors, error) {
	ids := make([]string, 0, len(b.Subjects))
	for _, s := range b.Subjects {
		ids = append(ids, s.USUBJID)
	}
	stored := map[string]string{}
	for start := 0; start < len(ids); start += subjectsPerQuery {
		found, err := u.Known(ctx, study, ids[start:min(start+subjectsPerQuery, len(ids))])
		if err != nil {
			return nil, fmt.Errorf("looking up subjects: %w", err)
		}
		maps.Copy(stored, found)
	}
	return b.CheckTaken(func(id string) (string, bool) { site, ok := stored[id]; return site, ok }, allowed, who), nil
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

// SubjectSet is a set of USUBJIDs in first-seen order.
type SubjectSet struct {
	seen map[string]bool
	list []string
}

// Add adds ids not in the set yet.
func (s *SubjectSet) Add(ids ...string) {
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	for _, id := range ids {
		if !s.seen[id] {
			s.seen[id] = true
			s.list = append(s.list, id)
		}
	}
}

// List is the set's subjects in the order first added.
func (s *SubjectSet) List() []string { return s.list }
