package staged

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/tracked"
)

// A table staged by copy, T, stages into T_staged: an upload column (the
// stage's name), a fresh column (the row was new to T when staged) and
// T's columns, keyed by upload and T's key. Publishing inserts the fresh
// rows into T and merges the changed ones: set-based statements whose cost
// grows with the rows the upload changes, with no comparison, parsing or
// round trip per row. It suits a table of one row per subject (DM).

// copied is the stage of a table staged by copy.
type copied struct {
	a     *Area
	t     Table
	study string
	name  string
	now   time.Time
	rows  int64 // rows staged
	fresh int64 // of them, those new to the live table when staged
	// history is the history records staged: one per update found.
	history int64
	session *sqldb.LazySession // Put's transactions', when not nil
}

func (s *copied) commitLazily(session *sqldb.LazySession) { s.session = session }

func (t Table) staged() string   { return t.Name + "_staged" }
func (t Table) stored() []string { return append(slices.Clip(t.Cols), t.Extra...) }

func (s *copied) Put(ctx context.Context, rows [][]any) (clinical.Summary, error) {
	var sum tracked.Summary
	var added, fresh int64
	err := s.a.inTx(ctx, s.session, func(tx *sql.Tx) error {
		t := s.t.Table
		t.Name = s.t.staged() // on PostgreSQL rows new to the stage are then COPYed in (see tracked.Table.Write)
		t.Read = s.readExpr()
		t.History, t.HistoryStudy = s.t.stagedHistory(), s.name
		t.Write = s.writeTx
		var err error
		if sum, err = tracked.PutTx(ctx, s.a.db, tx, t, s.study, rows, s.now); err != nil {
			return err
		}
		added, fresh, err = s.markFreshTx(ctx, tx)
		return err
	})
	if err != nil {
		return clinical.Summary{}, err
	}
	s.rows += added
	s.fresh += fresh
	s.history += int64(sum.Updated)
	return clinical.Summary(sum), nil
}

// readExpr is what a chunk is compared with, as tracked.Table's Read: each
// row the stage holds, else the live one. Its names are quoted as SQL
// strings: Read is a table expression, not a statement with parameters.
func (s *copied) readExpr() string {
	cols := strings.Join(s.t.Cols, ", ")
	return `(SELECT ` + cols + ` FROM ` + s.t.staged() + ` WHERE upload = ` + quote(s.name) + `
		UNION ALL SELECT ` + cols + ` FROM ` + s.t.Name + ` l WHERE l.study = ` + quote(s.study) + ` AND NOT EXISTS (
			SELECT 1 FROM ` + s.t.staged() + ` x WHERE x.upload = ` + quote(s.name) + ` AND ` + sameKey(s.t, "x", "l") + `)) staged`
}

// writeTx stores rows, new to the stage or changed, in the stage; a row
// it held keeps its fresh mark and Extra's values.
func (s *copied) writeTx(ctx context.Context, tx *sql.Tx, rows [][]any) error {
	stored := make([][]any, len(rows))
	for i, r := range rows {
		row := append(make([]any, 0, 1+len(r)+len(s.t.Extra)), s.name)
		row = append(row, r...)
		if s.t.ExtraValues != nil {
			row = append(row, s.t.ExtraValues(r, s.now)...)
		}
		stored[i] = row
	}
	return s.a.db.UpsertKeeping(ctx, tx, s.t.staged(), append([]string{"upload"}, s.t.stored()...),
		append([]string{"upload"}, s.t.Key...), s.t.Extra, stored)
}

// markFreshTx marks the rows staged by the chunk (fresh unset) new to
// the live table or not, and counts them and the new ones.
func (s *copied) markFreshTx(ctx context.Context, tx *sql.Tx) (added, fresh int64, err error) {
	for i, q := range []string{
		`UPDATE ` + s.t.staged() + ` SET fresh = TRUE WHERE upload = $1 AND fresh IS NULL AND NOT EXISTS (
			SELECT 1 FROM ` + s.t.Name + ` l WHERE ` + sameKey(s.t, "l", s.t.staged()) + `)`,
		`UPDATE ` + s.t.staged() + ` SET fresh = FALSE WHERE upload = $1 AND fresh IS NULL`,
	} {
		res, err := tx.ExecContext(ctx, q, s.name)
		if err != nil {
			return 0, 0, fmt.Errorf("staging %s: %w", s.t.Name, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return 0, 0, err
		}
		if i == 0 {
			fresh = n
		}
		added += n
	}
	return added, fresh, nil
}

// PublishTx inserts the fresh rows and merges the changed ones. If
// another write stored one of the fresh rows since it was staged, it
// returns an error wrapping clinical.ErrConflict: the upload compared it
// with nothing, and its history would miss that write's change.
func (s *copied) PublishTx(ctx context.Context, tx *sql.Tx) error {
	cols := strings.Join(s.t.stored(), ", ")
	from := ` FROM ` + s.t.staged() + ` WHERE upload = $1 AND `
	order := ` ORDER BY ` + strings.Join(s.t.Key, ", ") // in the live table's order, so that SQLite appends
	steps := []struct {
		query string
		want  int64
		what  string
	}{
		// A plain insert: it costs less than one that skips conflicts,
		// and a conflict fails it (see conflict).
		{`INSERT INTO ` + s.t.Name + ` (` + cols + `) SELECT ` + cols + from + `fresh` + order, s.fresh, "new rows"},
		{`INSERT INTO ` + s.t.Name + ` (` + cols + `) SELECT ` + cols + from + `NOT fresh` + order + onConflict(s.t), s.rows - s.fresh, "changed rows"},
	}
	for _, step := range steps {
		if step.want == 0 {
			continue
		}
		res, err := tx.ExecContext(ctx, step.query, s.name)
		if err != nil {
			return s.conflict(fmt.Errorf("publishing %s: %w", s.t.Name, err))
		}
		if n, err := res.RowsAffected(); err != nil || n != step.want {
			return fmt.Errorf("publishing %s: %d of %d %s staged found (%v): swept as stale after %v?", s.t.Name, n, step.want, step.what, err, Stale)
		}
	}
	return publishHistoryTx(ctx, tx, s.t, s.name, s.study, s.history)
}

// conflict wraps err, from inserting the new rows, in clinical.ErrConflict
// when it says a row of the same key is stored.
func (s *copied) conflict(err error) error {
	pgErr, isPg := errors.AsType[*pgconn.PgError](err)
	if isPg && pgErr.Code == "23505" /* unique_violation */ || strings.Contains(err.Error(), "UNIQUE constraint failed") {
		return fmt.Errorf("rows of %s staged as new were stored by another write meanwhile: %w (%w)", s.t.Name, clinical.ErrConflict, err)
	}
	return err
}

// onConflict replaces a live row's columns with the staged ones but its
// key's and Extra's.
func onConflict(t Table) string {
	var set []string
	for _, c := range t.Cols {
		if !slices.Contains(t.Key, c) {
			set = append(set, c+" = excluded."+c)
		}
	}
	return ` ON CONFLICT (` + strings.Join(t.Key, ", ") + `) DO UPDATE SET ` + strings.Join(set, ", ")
}

func (s *copied) Discard(ctx context.Context, published bool) error {
	if s.rows == 0 && s.history == 0 {
		return nil
	}
	ctx, cancel := withBound(ctx)
	defer cancel()
	if err := s.a.deleteRows(ctx, s.t.staged(), "upload", s.name); err != nil {
		return err
	}
	if published && s.history == 0 {
		return nil // publishing found none staged (see publishHistoryTx): each deletion is a transaction
	}
	return s.a.deleteRows(ctx, s.t.stagedHistory(), "study", s.name)
}
