package labs

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
)

// Lab snapshots: a subject's lab results as of its lab version.
//
// Every write of a subject's lab results moves its version in
// lab_subjects, in the same transaction (PutRowsTx). A batch of checks
// reads its subjects' versions and uses the snapshot the store holds of
// that version, reading the rows only of the others: a subject has
// hundreds of lab results, and reading them was a third of a check's
// work. An upload hands over the lab results of the subjects it gave
// their first ones (Remember), so the checks it queues read none.
// A write by another process moves the version too, so a snapshot is
// never used in place of data it does not hold.
type labSnapshots struct {
	mu      sync.Mutex
	entries map[subjectKey]labSnapshot
	labs    int // lab results held, at most maxSnapshotLabs

	hits, misses atomic.Int64
}

type subjectKey struct{ study, usubjid string }

type labSnapshot struct {
	version int64
	n       int // how many lab results, counted when kept
	labs    *snapshotLabs
}

// snapshotLabs are a subject's lab results, made from those uploaded by
// the first check to use them rather than by the upload: the checks run
// in parallel, an upload's commit is waited for.
type snapshotLabs struct {
	once  sync.Once
	study string
	raw   [][]clinical.LabResult // as uploaded, see Remember; nil once made
	labs  []clinical.LabResult   // read-only: checks share it
}

func (p *snapshotLabs) list() []clinical.LabResult {
	p.once.Do(func() {
		if p.raw != nil {
			p.labs, p.raw = snapshotOf(p.study, p.raw), nil
		}
	})
	return p.labs
}

// len counts the lab results: only before any check can use them.
func (p *snapshotLabs) len() int {
	n := len(p.labs)
	for _, r := range p.raw {
		n += len(r)
	}
	return n
}

// maxSnapshotLabs bounds the lab results held, about 40 MB: the pilot's
// 60,000 fit three times over.
const maxSnapshotLabs = 200_000

func (c *labSnapshots) get(study, usubjid string, version int64) ([]clinical.LabResult, bool) {
	c.mu.Lock()
	e, ok := c.entries[subjectKey{study, usubjid}]
	c.mu.Unlock()
	if !ok || e.version != version {
		return nil, false
	}
	return e.labs.list(), true
}

// put keeps labs as the subject's at version, unless it holds a later
// version already; it drops other subjects' to stay within bounds.
func (c *labSnapshots) put(study, usubjid string, version int64, labs *snapshotLabs) {
	n := labs.len()
	if n > maxSnapshotLabs/4 {
		return // one subject would crowd out the rest
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[subjectKey]labSnapshot{}
	}
	k := subjectKey{study, usubjid}
	if old, ok := c.entries[k]; ok {
		if old.version > version {
			return
		}
		c.labs -= old.n
		delete(c.entries, k)
	}
	for k, e := range c.entries { // in no particular order: as good as any at this size
		if c.labs+n <= maxSnapshotLabs {
			break
		}
		c.labs -= e.n
		delete(c.entries, k)
	}
	c.entries[k] = labSnapshot{version, n, labs}
	c.labs += n
}

// SnapshotStats tells how many subjects' lab results the checks (and
// Labs) found in the store's snapshots and how many they read from the
// database.
func (s *Store) SnapshotStats() (hits, misses int64) {
	return s.snapshots.hits.Load(), s.snapshots.misses.Load()
}

// bumpVersionsTx moves the lab version of subjects, within tx.
func (s *Store) bumpVersionsTx(ctx context.Context, tx *sql.Tx, study string, subjects []string) error {
	rows := make([][]any, len(subjects))
	for i, id := range subjects {
		rows[i] = []any{study, id, int64(1)}
	}
	return s.db.WriteRows(ctx, tx, "INSERT INTO lab_subjects (study, usubjid, version) VALUES ",
		" ON CONFLICT (study, usubjid) DO UPDATE SET version = lab_subjects.version + 1", 3, rows)
}

// labSubject is a row of lab_subjects.
type labSubject struct {
	id      int64
	version int64
}

// VersionsTx returns the lab versions of those of subjects that have
// lab results, within tx unless it is nil.
func (s *Store) VersionsTx(ctx context.Context, tx *sql.Tx, study string, subjects []string) (map[string]int64, error) {
	known, err := s.labSubjectsTx(ctx, tx, study, subjects, false)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(known))
	for id, k := range known {
		out[id] = k.version
	}
	return out, nil
}

// labSubjectsTx returns the rows of lab_subjects of those of subjects
// that have one, within tx unless it is nil; with add, it first adds the
// others (of version 0, until their lab results are written).
func (s *Store) labSubjectsTx(ctx context.Context, tx *sql.Tx, study string, subjects []string, add bool) (map[string]labSubject, error) {
	out := make(map[string]labSubject, len(subjects))
	if err := s.scanLabSubjects(ctx, tx, study, subjects, out); err != nil || !add {
		return out, err
	}
	var missing []string
	var rows [][]any
	for _, id := range subjects {
		if _, ok := out[id]; !ok {
			missing = append(missing, id)
			rows = append(rows, []any{study, id, int64(0)})
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	// DO NOTHING: a concurrent upload (PostgreSQL) may have added some.
	if err := s.db.WriteRows(ctx, tx, "INSERT INTO lab_subjects (study, usubjid, version) VALUES ",
		" ON CONFLICT (study, usubjid) DO NOTHING", 3, rows); err != nil {
		return nil, err
	}
	return out, s.scanLabSubjects(ctx, tx, study, missing, out)
}

// scanLabSubjects adds to out the rows of lab_subjects of subjects.
func (s *Store) scanLabSubjects(ctx context.Context, tx *sql.Tx, study string, subjects []string, out map[string]labSubject) error {
	for start := 0; start < len(subjects); start += subjectsPerQuery {
		chunk := subjects[start:min(start+subjectsPerQuery, len(subjects))]
		// Padded to a power of two (repeating the last subject): few
		// statement texts, each prepared once (see sqldb.DB.Stmt).
		args := make([]any, 1, 1+1<<bits.Len(uint(len(chunk)-1)))
		args[0] = study
		for _, id := range chunk {
			args = append(args, id)
		}
		for len(args) < cap(args) {
			args = append(args, chunk[len(chunk)-1])
		}
		rows, err := s.db.QueryCached(ctx, tx, `SELECT usubjid, id, version FROM lab_subjects WHERE study = $1 AND usubjid IN (`+
			sqldb.Placeholders(2, len(args)-1)+`)`, args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var usubjid string
			var k labSubject
			if err := rows.Scan(&usubjid, &k.id, &k.version); err != nil {
				rows.Close()
				return err
			}
			out[usubjid] = k
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// subjectsPerQuery bounds the IN list of a look-up by subject.
const subjectsPerQuery = 512

// Remember keeps, after the transaction that stored them committed,
// the lab results of subjects that had none before it: labs holds all
// of each subject's lab results, as uploaded, in parts in the order
// read (one LBSEQ may come more than once: the last counts, as it did
// when stored), and versions their lab versions as that transaction
// left them. The store keeps the parts, which must not change, until a
// check makes each subject's snapshot: an upload's parts stay whole
// until then, so an upload should hand over no more than the store
// keeps (maxSnapshotLabs).
func (s *Store) Remember(study string, versions map[string]int64, labs map[string][][]clinical.LabResult) {
	for id, v := range versions {
		if l, ok := labs[id]; ok && len(l) > 0 {
			s.snapshots.put(study, id, v, &snapshotLabs{study: study, raw: l})
		}
	}
}

// snapshotOf makes uploaded lab results what labsOf would read back: the
// last of each LBSEQ, ordered by date then LBSEQ, absent values zero. It
// sorts pointers and copies each result once (a result is 200 bytes),
// and copies its text once per distinct value: a parsed field shares
// memory with the rest of its line in the file.
func snapshotOf(study string, parts [][]clinical.LabResult) []clinical.LabResult {
	var at []*clinical.LabResult
	for _, p := range parts {
		for i := range p {
			at = append(at, &p[i])
		}
	}
	slices.SortStableFunc(at, func(a, b *clinical.LabResult) int { return cmp.Compare(a.Seq, b.Seq) })
	kept := at[:0]
	for i, l := range at {
		if i+1 < len(at) && at[i+1].Seq == l.Seq {
			continue // a later row of the same LBSEQ replaced it
		}
		kept = append(kept, l)
	}
	slices.SortFunc(kept, labOrder)
	out := make([]clinical.LabResult, len(kept))
	var t textCopies
	var subject, code, test, category, unit, date, visit lastText
	for i, l := range kept {
		r := *l
		r.Study, r.USUBJID = study, subject.own(r.USUBJID, &t)
		r.TestCode, r.Test, r.Category, r.Unit = code.own(r.TestCode, &t), test.own(r.Test, &t), category.own(r.Category, &t), unit.own(r.Unit, &t)
		r.Date, r.Visit = clinical.Date(date.own(string(r.Date), &t)), visit.own(r.Visit, &t)
		if !r.HasValue {
			r.Value = 0
		}
		if !r.HasLow {
			r.Low = 0
		}
		if !r.HasHigh {
			r.High = 0
		}
		out[i] = r
	}
	return out
}

// textCopies holds one copy of each distinct text.
type textCopies map[string]string

func (t *textCopies) own(v string) string {
	c, ok := (*t)[v]
	if !ok {
		if *t == nil {
			*t = textCopies{}
		}
		c = strings.Clone(v)
		(*t)[c] = c
	}
	return c
}

// lastText is a field's last text and its copy: consecutive results
// mostly repeat a field, and comparing costs less than a look-up.
type lastText struct{ text, copy string }

func (l *lastText) own(v string, t *textCopies) string {
	if v != l.text {
		l.text, l.copy = v, t.own(v)
	}
	return l.copy
}

// labOrder orders a subject's lab results by date then LBSEQ. Valid ISO
// 8601 dates sort the same bytewise as in any collation.
func labOrder(a, b *clinical.LabResult) int {
	return cmp.Or(strings.Compare(string(a.Date), string(b.Date)), cmp.Compare(a.Seq, b.Seq))
}

// sortLabs sorts a subject's lab results by labOrder. It sorts their
// indexes and moves each result once.
func sortLabs(labs []clinical.LabResult) {
	idx := make([]int32, len(labs))
	sorted := true
	for i := range idx {
		idx[i] = int32(i)
		sorted = sorted && (i == 0 || labOrder(&labs[i-1], &labs[i]) <= 0)
	}
	if sorted {
		return
	}
	slices.SortFunc(idx, func(a, b int32) int { return labOrder(&labs[a], &labs[b]) })
	moved := make([]clinical.LabResult, len(labs))
	for i, j := range idx {
		moved[i] = labs[j]
	}
	copy(labs, moved)
}

// LabsOf is labsOf through the snapshots: it reads the subjects' rows
// of lab_subjects, takes the lab results of each subject whose snapshot
// is of its version, reads the others' and keeps them. A subject without
// a row has no lab results. Versions are read before the lab results, so
// a snapshot is never older than its version.
func (s *Store) LabsOf(ctx context.Context, study string, usubjids []string, width int) (map[string][]clinical.LabResult, error) {
	known, err := s.labSubjectsTx(ctx, nil, study, usubjids, false)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]clinical.LabResult, len(usubjids))
	read := map[string]int64{}
	for id, k := range known {
		if labs, ok := s.snapshots.get(study, id, k.version); ok {
			out[id] = labs
			continue
		}
		read[id] = k.id
	}
	s.snapshots.hits.Add(int64(len(known) - len(read)))
	s.snapshots.misses.Add(int64(len(read)))
	for reread := 0; len(read) > 0; reread++ {
		if s.beforeRows != nil {
			s.beforeRows()
		}
		got, err := s.labsOf(ctx, study, read, width)
		if err != nil {
			return nil, err
		}
		var none []string
		for id := range read {
			if len(got[id]) == 0 {
				none = append(none, id)
				continue
			}
			out[id] = got[id]
			// A copy: labsOf's results share one array per read, which one
			// subject's snapshot would keep whole.
			s.snapshots.put(study, id, known[id].version, &snapshotLabs{labs: slices.Clip(slices.Clone(got[id]))})
		}
		if read = nil; len(none) == 0 {
			break
		}
		// A subject without rows may have had its lab results replaced
		// by an upload since its id was read, and the replaced ones
		// deleted (Staged.Close): those are read again by the subject's
		// id now.
		now, err := s.labSubjectsTx(ctx, nil, study, none, false)
		if err != nil {
			return nil, err
		}
		for _, id := range none {
			k, ok := now[id]
			switch {
			case ok && k.id != known[id].id && reread < maxRereads:
				known[id] = k
				if read == nil {
					read = map[string]int64{}
				}
				read[id] = k.id
			case ok && k.id != known[id].id:
				return nil, fmt.Errorf("the lab results of %s were replaced %d times while being read: try again", id, reread+1)
			default: // none indeed
				out[id] = nil
				s.snapshots.put(study, id, known[id].version, &snapshotLabs{})
			}
		}
	}
	return out, nil
}

// maxRereads bounds how often LabsOf reads a subject's lab results again
// because an upload replaced them meanwhile.
const maxRereads = 3

// RegisterMetrics exports how many subjects' lab results the checks took
// from s's snapshots and how many they read (see SnapshotStats).
func RegisterMetrics(reg prometheus.Registerer, s *Store) {
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "trialwatch_check_lab_snapshot_hits_total", Help: "Subjects whose lab results a check took from the checker's snapshot of their current version.",
		}, func() float64 { hits, _ := s.SnapshotStats(); return float64(hits) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "trialwatch_check_lab_snapshot_misses_total", Help: "Subjects whose lab results a check read from the database.",
		}, func() float64 { _, misses := s.SnapshotStats(); return float64(misses) }))
}
