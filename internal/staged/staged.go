// Package staged stores one study's share of an upload in a tracked
// table (sqldb.Table) in steps, each a short transaction of its own, out
// of readers' sight, and makes all of it visible in one short
// transaction (Stage.PublishTx): the data services' uploads of DM, EX,
// AE, DS and CM, in all-in-one and split mode alike.
//
// On SQLite one transaction holds the database's only write lock: an
// upload of a million adverse events stored in one kept every other
// write — a check's findings, a status change, a login — waiting for all
// of it. Staged, it takes the lock a chunk at a time.
//
// A table T stages into two tables its service's migrations make:
// T_staged, with an upload column (the stage's name, a name no study
// has), a fresh column (the row was new to T when staged) and T's
// columns, keyed by upload and T's key; and T_staged_history, shaped as
// T's history, whose study column holds the stage's name. A chunk is
// compared, as a write of T would be, with the rows the stage already
// holds, else with T's, so the changes found and their history are those
// one transaction would find; only rows that change something are
// staged. Publishing inserts the fresh rows into T, merges the changed
// ones and copies the history records: set-based statements whose cost
// grows with the rows the upload changes, with no comparison, parsing or
// round trip per row. What a stage leaves behind, published or not, is
// deleted a bounded step at a time (Stage.Discard); after a crash, by the
// sweep of a later stage (Area.Sweep) once it is stale.
package staged

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
)

// Table is a tracked table whose writes can be staged.
type Table struct {
	// Table is the live table, its Read and Write unset: rows are
	// stored as they are, and Extra's columns added.
	sqldb.Table
	// Extra are columns a row is stored with besides Cols, given by
	// ExtraValues when it is first stored (now is the write's time) and
	// kept through updates: AE's entry lag.
	Extra       []string
	ExtraValues func(row []any, now time.Time) []any
}

func (t Table) staged() string        { return t.Name + "_staged" }
func (t Table) stagedHistory() string { return t.Name + "_staged_history" }
func (t Table) stored() []string      { return append(slices.Clip(t.Cols), t.Extra...) }

const (
	// nameMark starts a stage's name; no study has a control character.
	nameMark = "\x1fupload "
	// Stale is how old a stage is when a sweep takes it for one whose
	// process died (uploads are stored from a spooled body: the longest
	// seen took minutes). A stage swept from under a live upload fails
	// to publish, saying so, rather than publish part of it.
	Stale = time.Hour
	// deleteRowsPerStep bounds the rows one transaction deleting a
	// stage's leftovers removes.
	deleteRowsPerStep = 5000
)

func newName(t time.Time) string {
	var b [6]byte
	rand.Read(b[:])
	return nameMark + strconv.FormatInt(t.UnixMilli(), 10) + " " + hex.EncodeToString(b[:])
}

// begunAt is when the stage named name began, if name is a stage's.
func begunAt(name string) (time.Time, bool) {
	f := strings.Fields(strings.TrimPrefix(name, nameMark))
	if !strings.HasPrefix(name, nameMark) || len(f) != 2 {
		return time.Time{}, false
	}
	ms, err := strconv.ParseInt(f[0], 10, 64)
	return time.UnixMilli(ms), err == nil
}

// Area is where a store's stages are: its database, and when each of its
// tables was last swept.
type Area struct {
	db    *sqldb.DB
	mu    sync.Mutex
	swept map[string]time.Time
}

// NewArea is the staging area of a store on db.
func NewArea(db *sqldb.DB) *Area { return &Area{db: db, swept: map[string]time.Time{}} }

// sweepEvery is how often a stage's beginning sweeps its table.
const sweepEvery = 10 * time.Minute

// Sweep deletes what stages older than Stale left in t's staging tables.
func (a *Area) Sweep(ctx context.Context, t Table) error {
	a.mu.Lock()
	a.swept[t.Name] = time.Now()
	a.mu.Unlock()
	var names []string
	err := a.db.Each(ctx, nil, `SELECT DISTINCT upload FROM `+t.staged()+` UNION SELECT DISTINCT study FROM `+t.stagedHistory(), nil,
		func(r *sql.Rows) error {
			var name string
			err := r.Scan(&name)
			names = append(names, name)
			return err
		})
	if err != nil {
		return fmt.Errorf("sweeping %s: %w", t.staged(), err)
	}
	for _, name := range names {
		if at, ok := begunAt(name); ok && time.Since(at) > Stale {
			if err := a.discard(ctx, t, name); err != nil {
				return fmt.Errorf("sweeping %s: %w", t.staged(), err)
			}
		}
	}
	return nil
}

// sweepDue reports whether t was last swept over sweepEvery ago.
func (a *Area) sweepDue(t Table) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return time.Since(a.swept[t.Name]) > sweepEvery
}

// discard deletes the rows and history records staged under name,
// deleteRowsPerStep a transaction.
func (a *Area) discard(ctx context.Context, t Table, name string) error {
	id := "rowid"
	if a.db.Dialect == sqldb.Postgres {
		id = "ctid"
	}
	for _, del := range []struct{ table, col string }{{t.staged(), "upload"}, {t.stagedHistory(), "study"}} {
		q := `DELETE FROM ` + del.table + ` WHERE ` + id + ` IN (SELECT ` + id + ` FROM ` + del.table +
			` WHERE ` + del.col + ` = $1 LIMIT ` + strconv.Itoa(deleteRowsPerStep) + `)`
		for {
			var n int64
			err := a.db.InTx(ctx, func(tx *sql.Tx) error {
				res, err := tx.ExecContext(ctx, q, name)
				if err == nil {
					n, err = res.RowsAffected()
				}
				return err
			})
			if err != nil {
				return err
			}
			if n < deleteRowsPerStep {
				break
			}
		}
	}
	return nil
}

// Stage is one study's rows of one table in one upload, staged.
type Stage struct {
	a     *Area
	t     Table
	study string
	name  string
	now   time.Time
	rows  int64 // rows staged
	fresh int64 // of them, those new to the live table when staged
	// history is the history records staged: one per update found.
	history int64
}

// Begin begins staging study's rows of t, written at now. Its caller
// ends it with Discard, published or not. It sweeps t's staging tables
// first when they are due (see Area.Sweep); a failed sweep only delays
// deleting leftovers, so it is logged by the caller's next sweep.
func (a *Area) Begin(ctx context.Context, t Table, study string, now time.Time) *Stage {
	if a.sweepDue(t) {
		a.Sweep(ctx, t) // a failure leaves what it could not delete to the next sweep
	}
	return &Stage{a: a, t: t, study: study, name: newName(time.Now()), now: now}
}

// Put stages rows, in one short transaction, and says what publishing
// them changes.
func (s *Stage) Put(ctx context.Context, rows [][]any) (clinical.Summary, error) {
	var sum sqldb.Summary
	var added, fresh int64
	err := s.a.db.InTx(ctx, func(tx *sql.Tx) error {
		t := s.t.Table
		t.Name = s.t.staged() // on PostgreSQL rows new to the stage are then COPYed in (see sqldb.Table.Write)
		t.Read = s.readExpr()
		t.History, t.HistoryStudy = s.t.stagedHistory(), s.name
		t.Write = s.writeTx
		var err error
		if sum, err = s.a.db.PutTrackedTx(ctx, tx, t, s.study, rows, s.now); err != nil {
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

// readExpr is what a chunk is compared with, as sqldb.Table's Read: each
// row the stage holds, else the live one. Its names are quoted as SQL
// strings: Read is a table expression, not a statement with parameters.
func (s *Stage) readExpr() string {
	cols := strings.Join(s.t.Cols, ", ")
	var same []string
	for _, k := range s.t.Key {
		same = append(same, "x."+k+" = l."+k)
	}
	return `(SELECT ` + cols + ` FROM ` + s.t.staged() + ` WHERE upload = ` + quote(s.name) + `
		UNION ALL SELECT ` + cols + ` FROM ` + s.t.Name + ` l WHERE l.study = ` + quote(s.study) + ` AND NOT EXISTS (
			SELECT 1 FROM ` + s.t.staged() + ` x WHERE x.upload = ` + quote(s.name) + ` AND ` + strings.Join(same, " AND ") + `)) staged`
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// writeTx stores rows, new to the stage or changed, in the stage; a row
// it held keeps its fresh mark and Extra's values.
func (s *Stage) writeTx(ctx context.Context, tx *sql.Tx, rows [][]any) error {
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
func (s *Stage) markFreshTx(ctx context.Context, tx *sql.Tx) (added, fresh int64, err error) {
	var same []string
	for _, k := range s.t.Key {
		same = append(same, "l."+k+" = "+s.t.staged()+"."+k)
	}
	for i, q := range []string{
		`UPDATE ` + s.t.staged() + ` SET fresh = TRUE WHERE upload = $1 AND fresh IS NULL AND NOT EXISTS (
			SELECT 1 FROM ` + s.t.Name + ` l WHERE ` + strings.Join(same, " AND ") + `)`,
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

// PublishTx makes what the stage holds visible, within tx, which the
// caller commits with the rest of the upload. If another write stored
// one of its new rows since it was staged, it returns an error wrapping
// clinical.ErrConflict: the upload compared it with nothing, and its
// history would miss that write's change.
func (s *Stage) PublishTx(ctx context.Context, tx *sql.Tx) error {
	cols := strings.Join(s.t.stored(), ", ")
	from := ` FROM ` + s.t.staged() + ` WHERE upload = $1 AND `
	order := ` ORDER BY ` + strings.Join(s.t.Key, ", ") // in the live table's order, so that SQLite appends
	steps := []struct {
		query string
		args  []any
		want  int64
		what  string
	}{
		// A plain insert: it costs less than one that skips conflicts,
		// and a conflict fails it (see conflict).
		{`INSERT INTO ` + s.t.Name + ` (` + cols + `) SELECT ` + cols + from + `fresh` + order,
			[]any{s.name}, s.fresh, "new rows"},
		{`INSERT INTO ` + s.t.Name + ` (` + cols + `) SELECT ` + cols + from + `NOT fresh` + order + onConflict(s.t),
			[]any{s.name}, s.rows - s.fresh, "changed rows"},
		{`INSERT INTO ` + s.t.History + ` (row_key, study, usubjid, changed_at, before, after)
			SELECT row_key, $2, usubjid, changed_at, before, after FROM ` + s.t.stagedHistory() + ` WHERE study = $1`,
			[]any{s.name, s.study}, s.history, "history records"},
	}
	for _, step := range steps {
		if step.want == 0 {
			continue
		}
		res, err := tx.ExecContext(ctx, step.query, step.args...)
		if err != nil {
			return s.conflict(fmt.Errorf("publishing %s: %w", s.t.Name, err))
		}
		if n, err := res.RowsAffected(); err != nil {
			return fmt.Errorf("publishing %s: %w", s.t.Name, err)
		} else if n != step.want {
			return fmt.Errorf("publishing %s: %d %s, %d staged: what was staged is gone (swept as stale after %v?)",
				s.t.Name, n, step.what, step.want, Stale)
		}
	}
	return nil
}

// conflict wraps err, from inserting the new rows, in clinical.ErrConflict
// when it says a row of the same key is stored.
func (s *Stage) conflict(err error) error {
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

// Discard deletes what the stage holds, a bounded step at a time: all of
// it once published (PublishTx's transaction committed), or what was
// never published. The steps go on when ctx is cancelled, for a while:
// what is left, a later sweep deletes.
func (s *Stage) Discard(ctx context.Context) error {
	if s.rows == 0 && s.history == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	return s.a.discard(ctx, s.t, s.name)
}
