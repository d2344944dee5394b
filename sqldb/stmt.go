package sqldb

import (
	"context"
	"database/sql"
	"slices"
)

// Stmt returns query prepared once for db and kept for its lifetime, or,
// with a transaction, that statement bound to tx (closed when tx ends).
//
// modernc's SQLite driver parses every query handed to QueryContext or
// ExecContext again; for the short, fixed queries a check runs hundreds of
// times, parsing costs as much as running them. database/sql prepares the
// statement again on each pooled connection that first runs it. Use Stmt
// only for queries of fixed text: every distinct text is kept.
func (db *DB) Stmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	v, ok := db.stmts.Load(query)
	if !ok {
		st, err := db.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		var raced bool
		if v, raced = db.stmts.LoadOrStore(query, st); raced {
			st.Close() // another goroutine prepared it first
		}
	}
	st := v.(*sql.Stmt)
	if tx != nil {
		st = tx.StmtContext(ctx, st)
	}
	return st, nil
}

// QueryCached is QueryContext through Stmt, within tx unless it is nil.
func (db *DB) QueryCached(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	st, err := db.Stmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// ExecCached is ExecContext through Stmt, within tx unless it is nil.
func (db *DB) ExecCached(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := db.Stmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// QueryChunk runs a multi-row statement whose text varies only with the
// row counts Chunks gives: prepared once per size on SQLite (see Stmt),
// left to the driver's own statement cache on PostgreSQL, where the sizes
// are not few. Within tx unless it is nil.
func (db *DB) QueryChunk(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	switch {
	case db.Dialect == SQLite:
		return db.QueryCached(ctx, tx, query, args...)
	case tx != nil:
		return tx.QueryContext(ctx, query, args...)
	}
	return db.QueryContext(ctx, query, args...)
}

// QueryRowCached is QueryRowContext through Stmt.
func (db *DB) QueryRowCached(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := db.Stmt(ctx, nil, query)
	if err != nil {
		// A *sql.Row cannot be made to carry err: running the query
		// unprepared reports the same failure.
		return db.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// closeStmts closes the cached statements.
func (db *DB) closeStmts() {
	db.stmts.Range(func(k, v any) bool {
		v.(*sql.Stmt).Close()
		db.stmts.Delete(k)
		return true
	})
}

// keysPerQuery bounds the IN list of one QueryKeys statement.
const keysPerQuery = 500

// QueryKeys runs head + an IN list of keys' parameters + tail, the keys
// numbered after args, and hands each row to scan. Many keys are read in
// several statements, each key once however often given; the statements
// of each list length are prepared once on SQLite (see QueryChunk), and a
// batch's lists are short.
func (db *DB) QueryKeys(ctx context.Context, head, tail string, args []any, keys []string, scan func(*sql.Rows) error) error {
	if len(keys) > keysPerQuery {
		keys = slices.Clone(keys)
		slices.Sort(keys)
		keys = slices.Compact(keys)
	}
	for start := 0; start < len(keys); start += keysPerQuery {
		chunk := keys[start:min(start+keysPerQuery, len(keys))]
		all := make([]any, 0, len(args)+len(chunk))
		all = append(all, args...)
		for _, k := range chunk {
			all = append(all, k)
		}
		if err := db.queryEach(ctx, head+Placeholders(len(args)+1, len(chunk))+tail, all, scan); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) queryEach(ctx context.Context, query string, args []any, scan func(*sql.Rows) error) error {
	rows, err := db.QueryChunk(ctx, nil, query, args...)
	return scanAll(rows, err, scan)
}

// Each runs query within tx (unless nil) and calls scan for every row.
func (db *DB) Each(ctx context.Context, tx *sql.Tx, query string, args []any, scan func(*sql.Rows) error) error {
	var rows *sql.Rows
	var err error
	if tx != nil {
		rows, err = tx.QueryContext(ctx, query, args...)
	} else {
		rows, err = db.QueryContext(ctx, query, args...)
	}
	return scanAll(rows, err, scan)
}

// scanAll calls scan for every row of a query that ended with err.
func scanAll(rows *sql.Rows, err error, scan func(*sql.Rows) error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Args is values as query arguments.
func Args[T any](values []T) []any {
	out := make([]any, len(values))
	for i, v := range values {
		out[i] = v
	}
	return out
}
