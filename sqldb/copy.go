package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb/internal/pgcopy"
)

// On PostgreSQL, bulk writes within a transaction InTx runs go through
// COPY. Rows package tracked found new are copied straight into their
// table; other rows are copied into a temporary stage table and merged
// into theirs by one INSERT … SELECT … ON CONFLICT statement; history rows
// are copied into their table. Writing 60,000 lab rows in chunks of
// 10,000 (BenchmarkUpsertPostgres, PostgreSQL 15 on loopback, a quiet
// minute): multi-row INSERT … VALUES … ON CONFLICT statements, the way
// before, 157,000–163,000 rows/s; COPY and merge 225,000–229,000; COPY of
// new rows 587,000–593,000. COPY hands the server whole pages' worth of
// rows and skips both the thousands of parameters a VALUES statement has
// the server parse and plan and ON CONFLICT's speculative insertion of
// every row.

// minCopyRows is the fewest rows written through COPY. Fewer go in one
// multi-row statement, a single round trip, where COPY and the merge take
// two or three.
const minCopyRows = 64

// pgTx is a PostgreSQL transaction InTx runs, with the connection it runs
// on: database/sql gives no way from a *sql.Tx to its driver connection.
type pgTx struct {
	conn   *sql.Conn
	staged map[string]bool // stage tables made sure of within the transaction
}

// inPgTx is InTx on PostgreSQL, in a transaction of beginPg.
func (db *DB) inPgTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, end, err := db.beginPg(ctx)
	if err != nil {
		return err
	}
	defer end()
	return runPgTx(tx, fn)
}

// runPgTx runs fn in tx and commits it if fn returns nil.
func runPgTx(tx *sql.Tx, fn func(*sql.Tx) error) error {
	defer tx.Rollback() // after Commit, does nothing; on a panic in fn, ends the transaction before its end
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// beginPg begins a PostgreSQL transaction on a connection held for it,
// registered so that copyUpsert and copyInsert find that connection. Once
// the transaction has ended, end unregisters it and frees the connection.
func (db *DB) beginPg(ctx context.Context) (tx *sql.Tx, end func(), err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, nil, err
	}
	tx, unregister, err := db.beginPgOn(ctx, conn)
	if err != nil {
		conn.Close()
		return nil, nil, err
	}
	return tx, func() {
		unregister()
		conn.Close()
	}, nil
}

// beginPgOn is beginPg on conn, which the caller keeps: end only
// unregisters the transaction.
func (db *DB) beginPgOn(ctx context.Context, conn *sql.Conn) (tx *sql.Tx, end func(), err error) {
	if tx, err = conn.BeginTx(ctx, nil); err != nil {
		return nil, nil, err
	}
	db.pgTxs.Store(tx, &pgTx{conn: conn, staged: map[string]bool{}})
	return tx, func() { db.pgTxs.Delete(tx) }, nil
}

// withPgx runs fn with the pgx connection tx runs on. It reports false,
// without running fn, when tx is not a PostgreSQL transaction of InTx
// (one a caller began itself): the caller then writes without COPY.
func (db *DB) withPgx(tx *sql.Tx, fn func(t *pgTx, c *pgx.Conn) error) (ok bool, err error) {
	if db.Dialect != Postgres || tx == nil {
		return false, nil
	}
	v, found := db.pgTxs.Load(tx)
	if !found {
		return false, nil
	}
	t := v.(*pgTx)
	return true, t.conn.Raw(func(dc any) error {
		return fn(t, dc.(*stdlib.Conn).Conn())
	})
}

// stage returns the name of the temporary table that rows of table's cols
// are staged in, creating it on this connection if need be. It is
// emptied by the merge that reads it and, should the transaction end
// first, at commit (ON COMMIT DELETE ROWS); it has the columns' types and
// no constraints, so a bad row fails in the merge, naming table.
func (t *pgTx) stage(ctx context.Context, c *pgx.Conn, table string, cols []string) (string, error) {
	h := fnv.New32a()
	h.Write([]byte(strings.Join(cols, ",")))
	name := fmt.Sprintf("sqldb_stage_%s_%08x", table, h.Sum32())
	if t.staged[name] {
		return name, nil
	}
	// Made sure of once per transaction: one made in a transaction that
	// rolled back is gone with it.
	if _, err := c.Exec(ctx, "CREATE TEMP TABLE IF NOT EXISTS "+name+" ON COMMIT DELETE ROWS AS SELECT "+
		strings.Join(cols, ", ")+" FROM "+table+" WITH NO DATA"); err != nil {
		return "", fmt.Errorf("staging rows for %s: %w", table, err)
	}
	t.staged[name] = true
	return name, nil
}

// copyUpsert is Upsert through COPY and a stage table; ok is false when
// tx cannot COPY (see withPgx). Of rows with the same key, the last is
// written, as when they are written one after the other.
func (db *DB) copyUpsert(ctx context.Context, tx *sql.Tx, table string, cols, key, keep []string, rows [][]any) (ok bool, err error) {
	return db.withPgx(tx, func(t *pgTx, c *pgx.Conn) error {
		stage, err := t.stage(ctx, c, table, cols)
		if err != nil {
			return err
		}
		rows := lastPerKey(rows, keyColumns(cols, key))
		if err := copyInto(ctx, c, stage, cols, rows); err != nil {
			return fmt.Errorf("copying rows of %s: %w", table, err)
		}
		_, err = c.Exec(ctx, mergeSQL(table, stage, cols, key, keep))
		return err
	})
}

// copyInsert inserts rows into table through COPY; ok is false when tx
// cannot COPY (see withPgx). A row whose key is stored fails it.
func (db *DB) copyInsert(ctx context.Context, tx *sql.Tx, table string, cols []string, rows [][]any) (ok bool, err error) {
	return db.withPgx(tx, func(_ *pgTx, c *pgx.Conn) error {
		err := copyInto(ctx, c, table, cols, rows)
		if pgErr, isPg := errors.AsType[*pgconn.PgError](err); isPg && pgErr.Code == "23505" /* unique_violation */ {
			return fmt.Errorf("inserting rows of %s: %w: another transaction stored some of them since this one "+
				"read what was stored; storing them again compares with those (%w)", table, clinical.ErrConflict, err)
		}
		return err
	})
}

// copyInto copies rows into table's cols: through pgcopy.Binary, or pgx's
// CopyFrom when pgcopy.Binary does not encode them.
func copyInto(ctx context.Context, c *pgx.Conn, table string, cols []string, rows [][]any) error {
	if handled, err := pgcopy.Binary(ctx, c, table, cols, rows); handled || err != nil {
		return err
	}
	_, err := c.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
	return err
}

type freshRowsKey struct{}

// WithFreshRows marks ctx as writing into table only rows whose keys are
// not stored there, as package tracked finds them, for a writer of its
// own (tracked.Table.Write) to pass on to Upsert.
func WithFreshRows(ctx context.Context, table string) context.Context {
	return context.WithValue(ctx, freshRowsKey{}, table)
}

// freshRows reports whether ctx is marked so for table: Upsert then
// inserts the rows through COPY with no stage nor merge, nearly four
// times as fast. Should another transaction insert one of those keys
// first, the COPY fails (see copyInsert), where a merge would have
// overwritten that row without recording it in history.
func freshRows(ctx context.Context, table string) bool {
	t, _ := ctx.Value(freshRowsKey{}).(string)
	return t == table
}

// mergeSQL moves the rows staged in stage into table, and empties stage,
// in one statement. ON CONFLICT probes the key's index row by row, which
// costs the same whatever the table's size; a join of the staged rows
// with the table, planned without statistics on them, scanned and hashed
// the whole table for every batch.
func mergeSQL(table, stage string, cols, key, keep []string) string {
	list := strings.Join(cols, ", ")
	return "WITH s AS (DELETE FROM " + stage + " RETURNING " + list + ") INSERT INTO " + table + " (" + list +
		") SELECT " + list + " FROM s" + onConflictSQL(cols, key, keep)
}

// keyColumns returns where each of key's columns is in cols.
func keyColumns(cols, key []string) []int {
	at := make([]int, len(key))
	for i, k := range key {
		at[i] = -1
		for j, c := range cols {
			if c == k {
				at[i] = j
			}
		}
	}
	return at
}

// lastPerKey returns rows without those a later row of the same key
// replaces; rows itself when no key repeats, as is usual.
func lastPerKey(rows [][]any, keyAt []int) [][]any {
	last := make(map[string]int, len(rows))
	var kb []byte
	dups := false
	for i, r := range rows {
		kb = appendKeyAt(kb[:0], r, keyAt)
		if _, seen := last[string(kb)]; seen {
			dups = true
		}
		last[string(kb)] = i
	}
	if !dups {
		return rows
	}
	out := make([][]any, 0, len(last))
	for i, r := range rows {
		kb = appendKeyAt(kb[:0], r, keyAt)
		if last[string(kb)] == i {
			out = append(out, r)
		}
	}
	return out
}

// appendKeyAt appends to b the values of r at keyAt, normalised and joined
// by U+001F, as package tracked keys rows.
func appendKeyAt(b []byte, r []any, keyAt []int) []byte {
	for j, at := range keyAt {
		if j > 0 {
			b = append(b, '\x1f')
		}
		b = AppendString(b, r[at])
	}
	return b
}
