// Package subjects is the subject-information service: it owns the
// subjects table (SDTM DM) and the subjects' disposition events (SDTM DS,
// the dispositions table), and answers who a subject is and how the
// subject left the study.
package subjects

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/internal/staged"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/tracked"
)

//go:embed migrations
var migrations embed.FS

// Store keeps subjects in SQL.
type Store struct {
	db    *sqldb.DB
	stage *staged.Area // where uploads stage their DM and DS rows
}

// Open applies the service's migrations and returns its store.
func Open(ctx context.Context, db *sqldb.DB) (*Store, error) {
	if err := db.Migrate(ctx, "subjects_schema_version", migrations); err != nil {
		return nil, err
	}
	return &Store{db: db, stage: staged.NewArea(db)}, nil
}

// subjectCols are the columns scanSubject reads, after the key.
const subjectCols = `site, sex, age, arm, consent_date, first_dose, last_dose, end_of_study, death_date, ref_start, ref_end, birth_date`

func scanSubject(row interface{ Scan(...any) error }, sub *clinical.Subject, key ...any) error {
	return row.Scan(append(key, &sub.Site, &sub.Sex, &sub.Age, &sub.Arm, &sub.ConsentDate, &sub.FirstDose, &sub.LastDose,
		&sub.EndOfStudy, &sub.DeathDate, &sub.RefStart, &sub.RefEnd, &sub.BirthDate)...)
}

// Subject returns one subject or clinical.ErrNotFound.
func (s *Store) Subject(ctx context.Context, study, usubjid string) (clinical.Subject, error) {
	sub := clinical.Subject{Study: study, USUBJID: usubjid}
	err := scanSubject(s.db.QueryRowCached(ctx, `SELECT `+subjectCols+`
		FROM subjects WHERE study = $1 AND usubjid = $2`, study, usubjid), &sub)
	if errors.Is(err, sql.ErrNoRows) {
		return clinical.Subject{}, fmt.Errorf("subject %s in study %s: %w", usubjid, study, clinical.ErrNotFound)
	}
	return sub, err
}

// SubjectsOf returns the study's subjects among usubjids in one query.
func (s *Store) SubjectsOf(ctx context.Context, study string, usubjids []string) (map[string]clinical.Subject, error) {
	out := make(map[string]clinical.Subject, len(usubjids))
	err := s.db.QueryKeys(ctx, `SELECT usubjid, `+subjectCols+` FROM subjects WHERE study = $1 AND usubjid IN (`, `)`,
		[]any{study}, usubjids, func(rows *sql.Rows) error {
			sub := clinical.Subject{Study: study}
			if err := scanSubject(rows, &sub, &sub.USUBJID); err != nil {
				return err
			}
			out[sub.USUBJID] = sub
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var _ clinical.SubjectBatchSource = (*Store)(nil)

// SubjectsIn returns every subject of the study, ordered by USUBJID.
func (s *Store) SubjectsIn(ctx context.Context, study string) ([]clinical.Subject, error) {
	return scanAll(ctx, s.db, `SELECT usubjid, `+subjectCols+` FROM subjects WHERE study = $1 ORDER BY usubjid`, study,
		func(rows *sql.Rows) (clinical.Subject, error) {
			sub := clinical.Subject{Study: study}
			err := scanSubject(rows, &sub, &sub.USUBJID)
			return sub, err
		}, func(a, b clinical.Subject) int { return strings.Compare(a.USUBJID, b.USUBJID) })
}

var _ clinical.StudySubjects = (*Store)(nil)

// scanAll reads every row of a query of one study, in the order of
// compare: the query's ORDER BY follows the database's collation, which on
// PostgreSQL may not order text byte by byte, as the ports promise.
func scanAll[T any](ctx context.Context, db *sqldb.DB, q, study string, scan func(*sql.Rows) (T, error), compare func(a, b T) int) ([]T, error) {
	rows, err := db.QueryContext(ctx, q, study)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if !slices.IsSortedFunc(out, compare) {
		slices.SortStableFunc(out, compare)
	}
	return out, nil
}

var table = tracked.Table{
	Name: "subjects",
	Cols: []string{"study", "usubjid", "site", "sex", "age", "arm", "consent_date", "first_dose", "last_dose", "end_of_study",
		"death_date", "ref_start", "ref_end", "birth_date"},
	Key:     []string{"study", "usubjid"},
	History: "subjects_history",
}

func rows(subs []clinical.Subject) [][]any {
	out := make([][]any, len(subs))
	for i, v := range subs {
		out[i] = []any{v.Study, v.USUBJID, v.Site, v.Sex, v.Age, v.Arm, string(v.ConsentDate), string(v.FirstDose),
			string(v.LastDose), string(v.EndOfStudy), string(v.DeathDate), string(v.RefStart), string(v.RefEnd), string(v.BirthDate)}
	}
	return out
}

// Put stores one study's subjects, all or nothing. Unchanged rows are left
// alone; changed ones are updated and recorded in subjects_history.
func (s *Store) Put(ctx context.Context, study string, subs []clinical.Subject, now time.Time) (clinical.Summary, error) {
	return staged.Put(ctx, s.stage, stagedSubjects, study, now, rows, subs)
}

// WriteSubjects begins a write of one study's subjects sent in chunks:
// each chunk is staged out of readers' sight in a short transaction of
// its own, and Commit makes them all visible in one (see internal/staged),
// so the process's other writes go on meanwhile; nothing is kept unless
// Commit succeeds.
func (s *Store) WriteSubjects(ctx context.Context, study string, now time.Time) (clinical.RecordWriter[clinical.Subject], error) {
	return staged.Begin(ctx, s.stage, stagedSubjects, study, now, rows)
}

// StageSubjects begins staging one study's subjects for an upload that
// publishes them in a transaction of its own (staged.Writer.PublishTx);
// the caller must Close it.
func (s *Store) StageSubjects(ctx context.Context, study string, now time.Time) *staged.Writer[clinical.Subject] {
	return staged.Open(ctx, s.stage, stagedSubjects, study, now, rows)
}

var stagedSubjects = staged.Table{Table: table}

var _ clinical.SubjectWriter = (*Store)(nil)

var dispositionTable = tracked.Table{
	Name:    "dispositions",
	Cols:    []string{"study", "usubjid", "seq", "term", "decoded_term", "category", "epoch", "start_date"},
	Key:     []string{"study", "usubjid", "seq"},
	History: "dispositions_history",
}

func dispositionRows(ds []clinical.Disposition) [][]any {
	out := make([][]any, len(ds))
	for i, d := range ds {
		out[i] = []any{d.Study, d.USUBJID, int64(d.Seq), d.Term, d.Decoded, d.Category, d.Epoch, string(d.Start)}
	}
	return out
}

// PutDispositions stores disposition events of one study, all or
// nothing. Unchanged rows are left alone; changed ones are updated and
// recorded in dispositions_history.
func (s *Store) PutDispositions(ctx context.Context, study string, ds []clinical.Disposition, now time.Time) (clinical.Summary, error) {
	return staged.Put(ctx, s.stage, stagedDispositions, study, now, dispositionRows, ds)
}

// WriteDispositions begins a write of one study's disposition events sent
// in chunks, staged as WriteSubjects does.
func (s *Store) WriteDispositions(ctx context.Context, study string, now time.Time) (clinical.RecordWriter[clinical.Disposition], error) {
	return staged.Begin(ctx, s.stage, stagedDispositions, study, now, dispositionRows)
}

// StageDispositions is StageSubjects for disposition events.
func (s *Store) StageDispositions(ctx context.Context, study string, now time.Time) *staged.Writer[clinical.Disposition] {
	return staged.Open(ctx, s.stage, stagedDispositions, study, now, dispositionRows)
}

// stagedDispositions is dispositionTable, a view over generations of
// each subject's rows (see internal/staged).
var stagedDispositions = staged.Table{Table: dispositionTable, Generational: true}

var _ clinical.DispositionWriter = (*Store)(nil)

// DispositionsIn returns every disposition event of the study, ordered
// by USUBJID then DSSEQ.
func (s *Store) DispositionsIn(ctx context.Context, study string) ([]clinical.Disposition, error) {
	return scanAll(ctx, s.db, `SELECT usubjid, seq, term, decoded_term, category, epoch, start_date
		FROM dispositions WHERE study = $1 ORDER BY usubjid, seq`, study,
		func(rows *sql.Rows) (clinical.Disposition, error) {
			d := clinical.Disposition{Study: study}
			err := rows.Scan(&d.USUBJID, &d.Seq, &d.Term, &d.Decoded, &d.Category, &d.Epoch, &d.Start)
			return d, err
		}, func(a, b clinical.Disposition) int {
			return cmp.Or(strings.Compare(a.USUBJID, b.USUBJID), cmp.Compare(a.Seq, b.Seq))
		})
}

var _ clinical.StudyDispositions = (*Store)(nil)

// Known returns which of ids the study has, each with its site.
func (s *Store) Known(ctx context.Context, study string, ids []string) (map[string]string, error) {
	return s.known(ctx, s.db.QueryContext, study, ids)
}

// KnownTx is Known within tx, seeing what tx wrote.
func (s *Store) KnownTx(ctx context.Context, tx *sql.Tx, study string, ids []string) (map[string]string, error) {
	return s.known(ctx, tx.QueryContext, study, ids)
}

func (s *Store) known(ctx context.Context, query func(context.Context, string, ...any) (*sql.Rows, error), study string, ids []string) (map[string]string, error) {
	known := map[string]string{}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := []any{study}
		marks := make([]string, len(chunk))
		for i, id := range chunk {
			args = append(args, id)
			marks[i] = "$" + strconv.Itoa(i+2)
		}
		rows, err := query(ctx, "SELECT usubjid, site FROM subjects WHERE study = $1 AND usubjid IN ("+strings.Join(marks, ",")+")", args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var id, site string
			if err := rows.Scan(&id, &site); err != nil {
				rows.Close()
				return nil, err
			}
			known[id] = site
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return known, nil
}
