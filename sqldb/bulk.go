package sqldb

import (
	"context"
	"database/sql"
	"math"
	"math/bits"
	"strconv"
	"strings"
)

// maxParams keeps one statement under SQLite's default limit of 32,766
// bound parameters (PostgreSQL allows 65,535).
const maxParams = 16000

// sqliteRowsPerStmt is how many rows one SQLite statement writes. SQLite
// runs in-process, so a statement costs no round trip; what several rows
// per statement save is the per-statement work of database/sql and the
// driver. Past a hundred or so rows there is nothing left to save, and a
// longer statement only costs more to prepare.
const sqliteRowsPerStmt = 128

// Upsert inserts rows into table, replacing the non-key columns of rows
// whose key already exists. It writes many rows per statement: on
// PostgreSQL because one round trip per row makes a 60,000-row lab file
// take seconds, on SQLite because each statement carries a fixed cost in
// database/sql and the driver. SQLite statements use positional ?
// parameters, which its driver binds without looking names up. On
// PostgreSQL, within InTx, many rows go through COPY instead (copy.go).
func (db *DB) Upsert(ctx context.Context, tx *sql.Tx, table string, cols, key []string, rows [][]any) error {
	return db.UpsertKeeping(ctx, tx, table, cols, key, nil, rows)
}

// UpsertKeeping is Upsert, but a row whose key exists keeps its columns
// named in keep as stored: they take the value given only when the row is
// first inserted (when a record was first stored, say).
func (db *DB) UpsertKeeping(ctx context.Context, tx *sql.Tx, table string, cols, key, keep []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if len(rows) >= minCopyRows {
		var copied bool
		var err error
		if freshRows(ctx, table) {
			copied, err = db.copyInsert(ctx, tx, table, cols, rows)
		} else {
			copied, err = db.copyUpsert(ctx, tx, table, cols, key, keep, rows)
		}
		if copied {
			return err
		}
	}
	return db.WriteRows(ctx, tx, "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+") VALUES ",
		onConflictSQL(cols, key, keep), len(cols), rows)
}

// Insert inserts rows into table's cols: through COPY on PostgreSQL
// within InTx when there are many, else in multi-row statements. A row
// whose key is stored fails it.
func (db *DB) Insert(ctx context.Context, tx *sql.Tx, table string, cols []string, rows [][]any) error {
	if len(rows) >= minCopyRows {
		if ok, err := db.copyInsert(ctx, tx, table, cols, rows); ok {
			return err
		}
	}
	return db.WriteRows(ctx, tx, "INSERT INTO "+table+" ("+strings.Join(cols, ", ")+") VALUES ", "", len(cols), rows)
}

// WriteRows runs head + a VALUES list + tail over rows within tx, as many
// rows per statement as the dialect suits (see Chunks). Every row must
// have ncols values.
func (db *DB) WriteRows(ctx context.Context, tx *sql.Tx, head, tail string, ncols int, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	// On SQLite every statement size is prepared once for the database's
	// lifetime (see Stmt; Chunks keeps the sizes few), and bound to tx once
	// per size here. PostgreSQL's driver caches the statements it prepares.
	var stmts map[int]*sql.Stmt
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	args := make([]any, 0, min(len(rows), db.Dialect.RowsPerStatement(ncols))*ncols)
	start := 0
	for _, size := range db.Dialect.Chunks(len(rows), ncols) {
		args = args[:0]
		for _, r := range rows[start : start+size] {
			args = append(args, r...)
		}
		start += size
		if db.Dialect != SQLite {
			if _, err := tx.ExecContext(ctx, head+valuesSQL(db.Dialect, ncols, size)+tail, args...); err != nil {
				return err
			}
			continue
		}
		st := stmts[size]
		if st == nil {
			var err error
			if st, err = db.Stmt(ctx, tx, head+valuesSQL(db.Dialect, ncols, size)+tail); err != nil {
				return err
			}
			if stmts == nil {
				stmts = map[int]*sql.Stmt{}
			}
			stmts[size] = st
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// valuesSQL is the VALUES list of nrows rows of ncols parameters: ? for
// SQLite, $1… for PostgreSQL.
func valuesSQL(d Dialect, ncols, nrows int) string {
	var b strings.Builder
	if d == SQLite {
		b.Grow(nrows * (2*ncols + 2))
	} else {
		b.Grow(nrows * (7*ncols + 2))
	}
	var num [20]byte
	n := 0
	for i := range nrows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range ncols {
			if j > 0 {
				b.WriteByte(',')
			}
			n++
			if d == SQLite {
				b.WriteByte('?')
			} else {
				b.WriteByte('$')
				b.Write(strconv.AppendInt(num[:0], int64(n), 10))
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

// onConflictSQL replaces the columns of a row whose key exists but those
// of key and keep.
func onConflictSQL(cols, key, keep []string) string {
	var b strings.Builder
	b.WriteString(" ON CONFLICT (" + strings.Join(key, ", ") + ") DO UPDATE SET ")
	first := true
	for _, c := range cols {
		if contains(key, c) || contains(keep, c) {
			continue
		}
		if !first {
			b.WriteString(", ")
		}
		first = false
		b.WriteString(c + " = excluded." + c)
	}
	return b.String()
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// BoxedString turns strings into column values, reusing the one it made
// for the previous string when the next is the same: putting a string in
// an any allocates, and the rows of a file repeat many of their
// neighbours' values. The zero BoxedString is ready to use.
type BoxedString struct {
	last  string
	boxed any
}

// Box returns v as a column value.
func (b *BoxedString) Box(v string) any {
	if b.boxed == nil || v != b.last {
		b.last, b.boxed = v, v
	}
	return b.boxed
}

// BoxedFloat is BoxedString for optional numbers, see NullFloat.
type BoxedFloat struct {
	last  uint64 // the bits: 0 and -0 are different values to store
	boxed any
}

// Box returns NullFloat(v, ok).
func (b *BoxedFloat) Box(v float64, ok bool) any {
	if !ok {
		return nil
	}
	if bits := math.Float64bits(v); b.boxed == nil || bits != b.last {
		b.last, b.boxed = bits, v
	}
	return b.boxed
}

// NullFloat turns an optional value into a column value: a float64, or
// nil for none. Both are values drivers take as they are, where a
// sql.NullFloat64 costs database/sql a call through driver.Valuer.
func NullFloat(v float64, ok bool) any {
	if !ok {
		return nil
	}
	return v
}

// Values is the VALUES list of nrows rows of ncols parameters each, numbered
// from 1 in row order: ? on SQLite, whose driver binds positional
// parameters fastest, and $1, $2, … on PostgreSQL.
func (d Dialect) Values(ncols, nrows int) string { return valuesSQL(d, ncols, nrows) }

// Chunks splits n rows of ncols values into the row counts of the
// multi-row statements that write them: as many full statements
// (RowsPerStatement) as fit, then, on SQLite, the rest in statements of
// a power of two rows each, largest first. Each size is a statement of its own, which
// SQLite's driver parses afresh unless it is prepared and kept (see Stmt):
// with sizes from a small set, every statement is kept, and parsing a
// statement of a hundred rows' parameters cost more than running it.
func (d Dialect) Chunks(n, ncols int) []int {
	per := d.RowsPerStatement(ncols)
	sizes := make([]int, 0, n/per+8)
	for ; n >= per; n -= per {
		sizes = append(sizes, per)
	}
	if n == 0 || d != SQLite {
		if n > 0 {
			sizes = append(sizes, n)
		}
		return sizes
	}
	for n > 0 {
		size := 1 << (bits.Len(uint(n)) - 1)
		sizes = append(sizes, size)
		n -= size
	}
	return sizes
}

// RowsPerStatement is how many rows of ncols values one multi-row
// statement should carry on this dialect.
func (d Dialect) RowsPerStatement(ncols int) int {
	n := max(1, maxParams/max(1, ncols))
	if d == SQLite {
		n = min(n, sqliteRowsPerStmt)
	}
	return n
}
