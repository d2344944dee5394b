package signals

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/clinical/rules"
	"github.com/trialwatch/trialwatch/clinical/rules/liver"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/pipeline"
)

// Actor is who the review history names for the changes checks make: a
// finding withdrawn because the data no longer supports it, or reopened
// because it returned.
const Actor = "trialwatch"

// SaveAssessment stores what one check of a subject found, as
// PrepareFindings does for a batch, in a transaction of its own, and
// fills in its findings' IDs, creation times and statuses.
func (s *Store) SaveAssessment(ctx context.Context, a *rules.Assessment, now time.Time) error {
	write, err := s.PrepareFindings([]*rules.Assessment{a}, now)
	if err != nil {
		return err
	}
	return pipeline.Run(ctx, s.db, func(p *pipeline.Tx) error {
		if err := write(p); err != nil {
			return err
		}
		return s.fillStored(p, a)
	})
}

// PrepareFindings makes the rows of what a batch of checks found before
// the transaction that stores them, and returns the function that writes
// them in it: on SQLite, the check workers take turns writing, so work
// done while writing holds the others up. In the transaction it
//   - writes the findings that are new or changed (a finding identical to
//     the stored one is left alone, so a re-check of unchanged data writes
//     nothing but its grade counts);
//   - reopens, as new, a finding the data had resolved and now raises
//     again;
//   - marks resolved_by_data each stored finding of the subject, of a rule
//     that ran, that the check no longer raises, with what its records
//     hold now in its history. A closed finding stays closed; nothing is
//     deleted.
//
// It also stores each subject's eDISH point and grade counts. The
// findings' IDs are not read back (see writeSignals). On PostgreSQL the
// stored findings are read in one round trip and all the writes are sent
// in one more, with whatever the caller queues after them: an error of
// theirs comes with the pipeline's next Flush or its commit.
func (s *Store) PrepareFindings(found []*rules.Assessment, now time.Time) (func(*pipeline.Tx) error, error) {
	evidenceOf := make([][]string, len(found))
	for i, a := range found {
		ev, err := evidenceJSON(a.Signals)
		if err != nil {
			return nil, err
		}
		evidenceOf[i] = ev
	}
	return func(p *pipeline.Tx) error {
		stored := s.storedFindings(p, found)
		if err := p.Flush(); err != nil {
			return fmt.Errorf("reading stored findings: %w", err)
		}
		var changed []clinical.Signal
		var evidence []string
		var moves []statusMove
		for i, a := range found {
			c, ev, m := diff(a, evidenceOf[i], stored)
			changed = append(changed, c...)
			evidence = append(evidence, ev...)
			moves = append(moves, m...)
		}
		s.writeSignals(p, newSignalRows(changed, evidence, now))
		s.moveStatuses(p, moves, now)
		var points []liver.EDISHPoint
		for _, a := range found {
			if a.HasPoint {
				points = append(points, a.Point)
			}
		}
		putEDISHes(p, points, now)
		putGradeCounts(p, found, now)
		return nil
	}, nil
}

// findingKey names a finding within a study.
type findingKey struct{ usubjid, rule, key string }

// storedFinding is a finding as stored, with what a re-check compares.
type storedFinding struct {
	id                                   int64
	site, evidence, message, first, last string
	severity                             int64
	status                               clinical.SignalStatus
}

// statusMove is a status change a check makes, with its history entry.
type statusMove struct {
	id       int64
	from, to clinical.SignalStatus
	reason   string
}

// diff compares an assessment, whose findings' evidence as stored is
// evidenceOf, with the stored findings of its study: the findings to write
// with their evidence, and the status changes to make.
func diff(a *rules.Assessment, evidenceOf []string, stored map[string]map[findingKey]storedFinding) ([]clinical.Signal, []string, []statusMove) {
	subj := a.Subject
	have := stored[subj.Study]
	var changed []clinical.Signal
	var evidence []string
	var moves []statusMove
	raised := make(map[findingKey]bool, len(a.Signals))
	for i := range a.Signals {
		sg := &a.Signals[i]
		k := findingKey{subj.USUBJID, string(sg.Rule), sg.Key}
		raised[k] = true
		old, ok := have[k]
		if !ok || old.site != sg.Site || old.severity != int64(sg.Severity) || old.evidence != evidenceOf[i] ||
			old.message != sg.Message || old.first != string(sg.First.UTC()) || old.last != string(sg.Last.UTC()) {
			changed = append(changed, *sg)
			evidence = append(evidence, evidenceOf[i])
		}
		if ok && old.status == clinical.StatusResolvedByData {
			moves = append(moves, statusMove{old.id, old.status, clinical.StatusNew, "raised again by the data: " + sg.Message})
		}
	}
	for k, old := range have {
		if k.usubjid != subj.USUBJID || raised[k] || !slices.Contains(a.Ran, clinical.Rule(k.rule)) ||
			(old.status != clinical.StatusNew && old.status != clinical.StatusAcknowledged) {
			continue
		}
		moves = append(moves, statusMove{old.id, old.status, clinical.StatusResolvedByData, withdrawal(a, old)})
	}
	// Map order must not decide the order rows are locked in.
	slices.SortFunc(moves, func(x, y statusMove) int { return cmp.Compare(x.id, y.id) })
	return changed, evidence, moves
}

// withdrawal says why the data no longer supports a finding: what the
// records it rested on hold now.
func withdrawal(a *rules.Assessment, old storedFinding) string {
	var ev struct {
		Results []string `json:"results"`
	}
	_ = json.Unmarshal([]byte(old.evidence), &ev) // evidence without "results" (stored before findings were episodes) says less
	if len(ev.Results) == 0 {
		return "no longer raised by the data: a re-check of the subject does not find it"
	}
	now := make([]string, len(ev.Results))
	for i, key := range ev.Results {
		now[i] = a.Describe(key)
	}
	return "no longer raised by the data; its records now read: " + strings.Join(now, "; ")
}

// storedFindings queues the reading of the stored findings of the
// assessed subjects, by study, into the map it returns, which the
// pipeline's next Flush fills.
func (s *Store) storedFindings(p *pipeline.Tx, found []*rules.Assessment) map[string]map[findingKey]storedFinding {
	byStudy := map[string][]string{}
	for _, a := range found {
		byStudy[a.Subject.Study] = append(byStudy[a.Subject.Study], a.Subject.USUBJID)
	}
	out := make(map[string]map[findingKey]storedFinding, len(byStudy))
	for study, ids := range byStudy {
		have := map[findingKey]storedFinding{}
		out[study] = have
		args := append([]any{study}, sqldb.Args(ids)...)
		lock := ""
		if s.db.Dialect == sqldb.Postgres {
			// A check of the same subject at the same time (an API check
			// beside a worker's) waits for this one, rather than both
			// withdrawing a finding and writing its history twice.
			lock = " ORDER BY id FOR UPDATE"
		}
		p.Query(`SELECT id, usubjid, rule, evidence_key, site, severity, evidence, message, first_date, last_date, status
			FROM signals WHERE study = $1 AND usubjid IN (`+sqldb.Placeholders(2, len(ids))+`)`+lock, args, func(scan func(...any) error) error {
			var k findingKey
			var f storedFinding
			err := scan(&f.id, &k.usubjid, &k.rule, &k.key, &f.site, &f.severity, &f.evidence, &f.message, &f.first, &f.last, &f.status)
			have[k] = f
			return err
		})
	}
	return out
}

// moveStatuses makes the status changes and records each in the
// append-only signal_history.
func (s *Store) moveStatuses(p *pipeline.Tx, moves []statusMove, now time.Time) {
	if len(moves) == 0 {
		return
	}
	history := make([][]any, len(moves))
	for i, m := range moves {
		p.ExecCached(`UPDATE signals SET status = $1, status_reason = $2, updated_at = $3 WHERE id = $4`,
			string(m.to), m.reason, now.UnixMilli(), m.id)
		history[i] = []any{m.id, now.UnixMilli(), Actor, string(m.from), string(m.to), m.reason}
	}
	p.WriteRows(`INSERT INTO signal_history (signal_id, changed_at, actor, from_status, to_status, reason) VALUES `, "", 6, history)
}

// putGradeCounts stores each assessed subject's grade counts.
func putGradeCounts(p *pipeline.Tx, found []*rules.Assessment, now time.Time) {
	at := make(map[[2]string]int, len(found))
	rows := make([][]any, 0, len(found))
	for _, a := range found {
		row := []any{a.Subject.Study, a.Subject.USUBJID, a.Subject.Site, a.Graded, a.Severe, now.UnixMilli()}
		k := [2]string{a.Subject.Study, a.Subject.USUBJID}
		if i, dup := at[k]; dup {
			rows[i] = row // PostgreSQL's ON CONFLICT cannot update a row twice in one statement
			continue
		}
		at[k] = len(rows)
		rows = append(rows, row)
	}
	p.WriteRows(`INSERT INTO subject_lab_grades (study, usubjid, site, graded, grade3plus, updated_at) VALUES `,
		` ON CONFLICT (study, usubjid) DO UPDATE SET site = excluded.site, graded = excluded.graded,
			grade3plus = excluded.grade3plus, updated_at = excluded.updated_at`, 6, rows)
}

// fillStored fills in a's findings' IDs, creation times and statuses
// from what is stored.
func (s *Store) fillStored(p *pipeline.Tx, a *rules.Assessment) error {
	type stored struct {
		id      int64
		created int64
		status  clinical.SignalStatus
	}
	got := map[[2]string]stored{}
	p.Query(`SELECT id, created_at, status, rule, evidence_key FROM signals WHERE study = $1 AND usubjid = $2`,
		[]any{a.Subject.Study, a.Subject.USUBJID}, func(scan func(...any) error) error {
			var st stored
			var rule, key string
			err := scan(&st.id, &st.created, &st.status, &rule, &key)
			got[[2]string{rule, key}] = st
			return err
		})
	if err := p.Flush(); err != nil {
		return err
	}
	for i := range a.Signals {
		sg := &a.Signals[i]
		st, ok := got[[2]string{string(sg.Rule), sg.Key}]
		if !ok {
			return fmt.Errorf("storing signals: %s %s %s was written but is not stored", sg.USUBJID, sg.Rule, sg.Key)
		}
		sg.ID, sg.Created, sg.Status = st.id, time.UnixMilli(st.created).UTC(), st.status
	}
	return nil
}
