package sqldb

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
)

// maxParams keeps one statement under SQLite's default limit of 32,766
// bound parameters (PostgreSQL allows 65,535).
const maxParams = 16000

// Upsert inserts rows into table, replacing the non-key columns of rows
// whose key already exists. On PostgreSQL it writes many rows per
// statement, because one round trip per row makes a 60,000-row lab file
// take seconds. SQLite runs in-process, where one prepared single-row
// statement is fastest: its driver binds $N parameters by name, which
// grows quadratically in a statement with thousands of them.
func (db *DB) Upsert(ctx context.Context, tx *sql.Tx, table string, cols, key []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if db.Dialect == SQLite {
		return upsertEach(ctx, tx, table, cols, key, rows)
	}
	perStmt := max(1, maxParams/len(cols))
	for start := 0; start < len(rows); start += perStmt {
		chunk := rows[start:min(start+perStmt, len(rows))]
		args := make([]any, 0, len(chunk)*len(cols))
		for _, r := range chunk {
			args = append(args, r...)
		}
		if _, err := tx.ExecContext(ctx, upsertSQL(table, cols, key, len(chunk)), args...); err != nil {
			return err
		}
	}
	return nil
}

func upsertEach(ctx context.Context, tx *sql.Tx, table string, cols, key []string, rows [][]any) error {
	stmt, err := tx.PrepareContext(ctx, upsertSQL(table, cols, key, 1))
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, r...); err != nil {
			return err
		}
	}
	return nil
}

func upsertSQL(table string, cols, key []string, nrows int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") VALUES ")
	n := 0
	for i := range nrows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('(')
		for j := range cols {
			if j > 0 {
				b.WriteByte(',')
			}
			n++
			b.WriteString("$" + strconv.Itoa(n))
		}
		b.WriteByte(')')
	}
	b.WriteString(" ON CONFLICT (" + strings.Join(key, ", ") + ") DO UPDATE SET ")
	first := true
	for _, c := range cols {
		if contains(key, c) {
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

// NullFloat turns an optional value into a column value.
func NullFloat(v float64, ok bool) sql.NullFloat64 { return sql.NullFloat64{Float64: v, Valid: ok} }
