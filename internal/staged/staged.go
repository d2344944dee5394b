// Package staged stores one study's share of an upload in a data
// service's table in steps, each a short transaction of its own, out of
// readers' sight, and makes all of it visible in one short transaction:
// the uploads of DM, EX, AE, DS and CM, in all-in-one and split mode.
//
// On SQLite one transaction holds the database's only write lock: an
// upload of a million adverse events stored in one kept every other
// write — a check's findings, a status change, a login — waiting for all
// of it. Staged, it takes the lock a chunk at a time, and publishing
// holds it for a statement or two per table.
//
// Each chunk is compared, as a write of the table would be, with the rows
// the stage already holds, else with the table's, so that the changes
// found and their history are those one transaction would find; only rows
// that change something are staged, and their history records wait in
// T_staged_history under the stage's name. A table keyed by study,
// USUBJID and --SEQ is generational (see generations.go): publishing
// costs a statement per table whatever the rows. A table of one row per
// subject (DM) stages its rows in T_staged and publishing copies them
// (see copied.go): its rows are the subjects, thousands, not millions.
//
// What a stage leaves, published or not, is deleted a bounded step at a
// time when it ends; after a crash, by the sweep of a later stage
// (Area.Sweep) once it is Stale.
package staged

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/tracked"
)

// Table is a data service's table whose writes are staged.
type Table struct {
	// Table is the table as readers read it (for a generational table, a
	// view), Read and Write unset.
	tracked.Table
	// Extra are columns a row is stored with besides Cols, given by
	// ExtraValues when it is first stored (now is the write's time) and
	// kept through updates: AE's entry lag.
	Extra       []string
	ExtraValues func(row []any, now time.Time) []any
	// Generational: Key is study, usubjid and one more column, and the
	// rows are kept in Name_subjects and Name_rows (see generations.go);
	// otherwise they are staged in Name_staged (see copied.go).
	Generational bool
}

func (t Table) stagedHistory() string { return t.Name + "_staged_history" }

// stage is one study's rows of one table in one upload, staged.
type stage interface {
	// Put stages rows in one short transaction, and says what publishing
	// them changes.
	Put(ctx context.Context, rows [][]any) (clinical.Summary, error)
	// PublishTx makes what the stage holds visible within tx, which the
	// caller commits with the rest of the upload; an error wrapping
	// clinical.ErrConflict when another write changed what the stage
	// compared its rows with.
	PublishTx(ctx context.Context, tx *sql.Tx) error
	// Discard deletes what the stage leaves, published (PublishTx's
	// transaction committed) or not, a bounded step at a time. The steps
	// go on when ctx is cancelled, for a while: what is left, a later
	// sweep deletes.
	Discard(ctx context.Context, published bool) error
	// commitLazily has Put's transactions run in session (see
	// Writer.CommitLazily).
	commitLazily(session *sqldb.LazySession)
}

// inTx runs fn in a transaction: of session when it is not nil, else of
// a's database.
func (a *Area) inTx(ctx context.Context, session *sqldb.LazySession, fn func(*sql.Tx) error) error {
	if session != nil {
		return session.InTx(ctx, fn)
	}
	return a.db.InTx(ctx, fn)
}

const (
	// nameMark starts a stage's names; no study has a control character.
	nameMark    = "\x1f"
	uploadKind  = "upload"
	retiredKind = "retired"
	// Stale is how old a stage is when a sweep takes it for one whose
	// process died (uploads are stored from a spooled body: the longest
	// seen took minutes). A stage swept from under a live upload fails
	// to publish, saying so, rather than publish part of it.
	Stale = time.Hour
	// deleteRowsPerStep bounds the rows one transaction deleting what a
	// stage left removes.
	deleteRowsPerStep = 5000
)

// newName is a name for a stage's rows of kind, made at t.
func newName(t time.Time, kind string) string {
	var b [6]byte
	rand.Read(b[:])
	return nameMark + kind + " " + strconv.FormatInt(t.UnixMilli(), 10) + " " + hex.EncodeToString(b[:])
}

// parseName returns the kind and time of a name newName made.
func parseName(name string) (kind string, at time.Time, ok bool) {
	f := strings.Fields(strings.TrimPrefix(name, nameMark))
	if !strings.HasPrefix(name, nameMark) || len(f) != 3 {
		return "", time.Time{}, false
	}
	ms, err := strconv.ParseInt(f[1], 10, 64)
	return f[0], time.UnixMilli(ms), err == nil
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

// begin begins staging study's rows of t, written at now, sweeping t's
// leftovers first when due (a failed sweep only delays deleting them, to
// the next).
func (a *Area) begin(ctx context.Context, t Table, study string, now time.Time) stage {
	a.mu.Lock()
	due := time.Since(a.swept[t.Name]) > sweepEvery
	a.mu.Unlock()
	if due {
		if err := a.Sweep(ctx, t); err != nil {
			slog.Warn("sweeping what uploads left staged failed; a later upload tries again", "err", err)
		}
	}
	if t.Generational {
		return &generations{a: a, t: t, study: study, name: newName(time.Now(), uploadKind), now: now, gen: map[string]int64{}}
	}
	return &copied{a: a, t: t, study: study, name: newName(time.Now(), uploadKind), now: now}
}

// Sweep deletes what stages left in t's tables: the generations retired
// by a publish whose process died before deleting them, and the rows of
// stages begun over Stale ago.
func (a *Area) Sweep(ctx context.Context, t Table) error {
	a.mu.Lock()
	a.swept[t.Name] = time.Now()
	a.mu.Unlock()
	staged := `SELECT DISTINCT upload FROM ` + t.Name + `_staged`
	if t.Generational {
		staged = `SELECT DISTINCT study FROM ` + t.subjects() + ` WHERE substr(study, 1, 1) = $1`
	}
	var names []string
	err := a.db.Each(ctx, nil, staged+` UNION SELECT DISTINCT study FROM `+t.stagedHistory()+` WHERE substr(study, 1, 1) = $1`,
		[]any{nameMark}, func(r *sql.Rows) error {
			var name string
			err := r.Scan(&name)
			names = append(names, name)
			return err
		})
	if err != nil {
		return fmt.Errorf("sweeping what uploads staged in %s: %w", t.Name, err)
	}
	for _, name := range names {
		kind, at, ok := parseName(name)
		if !ok || kind == uploadKind && time.Since(at) <= Stale {
			continue
		}
		if t.Generational {
			err = a.deleteGenerations(ctx, t, name)
		} else {
			err = a.deleteRows(ctx, t.Name+`_staged`, "upload", name)
		}
		if err == nil {
			err = a.deleteRows(ctx, t.stagedHistory(), "study", name)
		}
		if err != nil {
			return fmt.Errorf("sweeping what uploads staged in %s: %w", t.Name, err)
		}
	}
	return nil
}

// deleteRows deletes the rows of table whose col is name,
// deleteRowsPerStep a transaction.
func (a *Area) deleteRows(ctx context.Context, table, col, name string) error {
	id := "rowid"
	if a.db.Dialect == sqldb.Postgres {
		id = "ctid"
	}
	q := `DELETE FROM ` + table + ` WHERE ` + id + ` IN (SELECT ` + id + ` FROM ` + table +
		` WHERE ` + col + ` = $1 LIMIT ` + strconv.Itoa(deleteRowsPerStep) + `)`
	for {
		var n int64
		err := a.db.InTx(ctx, func(tx *sql.Tx) error {
			res, err := tx.ExecContext(ctx, q, name)
			if err == nil {
				n, err = res.RowsAffected()
			}
			return err
		})
		if err != nil || n < deleteRowsPerStep {
			return err
		}
	}
}

// withBound is ctx for deleting what a stage left: not cancelled with
// ctx, but bounded.
func withBound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
}

// publishHistoryTx copies the want history records staged under name to
// t's history, as study's.
func publishHistoryTx(ctx context.Context, tx *sql.Tx, t Table, name, study string, want int64) error {
	if want == 0 {
		return nil
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO `+t.History+` (row_key, study, usubjid, changed_at, before, after)
		SELECT row_key, $2, usubjid, changed_at, before, after FROM `+t.stagedHistory()+` WHERE study = $1`, name, study)
	if err != nil {
		return fmt.Errorf("publishing %s's history: %w", t.Name, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != want {
		return fmt.Errorf("publishing %s's history: %d of %d records staged found (%v): swept as stale after %v?", t.Name, n, want, err, Stale)
	}
	return nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// sameKey is the condition that rows a and b of t have the same key.
func sameKey(t Table, a, b string) string {
	same := make([]string, len(t.Key))
	for i, k := range t.Key {
		same[i] = a + "." + k + " = " + b + "." + k
	}
	return strings.Join(same, " AND ")
}
