// Package pipeline runs a transaction's statements in as few round trips
// to a PostgreSQL server as their results allow (see Tx), and one at a
// time on SQLite.
package pipeline

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/trialwatch/trialwatch/sqldb"
)

// Tx is a transaction whose statements are queued and, on
// PostgreSQL, sent to the server together when the caller needs their
// results (Flush) and with the commit: a transaction of a read, then
// writes, costs two round trips to the server rather than one a
// statement, the begin and the commit included. On SQLite, whose
// statements are calls within the process, each runs as it is queued.
//
// Either way a failed statement fails the transaction, and the error is
// returned by the next Flush (and by Run): statements queued after it do
// not run.
type Tx struct {
	ctx context.Context
	db  *sqldb.DB
	tx  *sql.Tx // SQLite

	conn  *pgx.Conn // PostgreSQL
	batch *pgx.Batch
	scans []func(scan func(dest ...any) error) error // per queued statement; nil: no rows read

	err error
}

// Run runs fn in a Tx on db and commits it if fn returns nil and every
// statement succeeded; else it rolls it back. On SQLite it runs as this
// process's writer (see sqldb.DB.Writing).
func Run(ctx context.Context, db *sqldb.DB, fn func(p *Tx) error) error {
	if db.Dialect != sqldb.Postgres {
		return db.InTx(ctx, func(tx *sql.Tx) error {
			p := &Tx{ctx: ctx, db: db, tx: tx}
			if err := fn(p); err != nil {
				return err
			}
			return p.err
		})
	}
	c, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Raw(func(dc any) error {
		p := &Tx{ctx: ctx, db: db, conn: dc.(*stdlib.Conn).Conn(), batch: &pgx.Batch{}}
		p.queue("BEGIN", nil, nil) // sent with the first statements
		err := fn(p)
		if err == nil {
			commit := len(p.batch.QueuedQueries)
			p.queue("COMMIT", nil, nil)
			var tags []string
			tags, err = p.flush()
			if err == nil && tags[commit] != "COMMIT" {
				err = errors.New("the transaction was rolled back at its commit")
			}
		}
		if err != nil {
			p.rollback()
		}
		return err
	})
}

// SQLiteTx is the transaction on SQLite, where p's statements run as they
// are queued; nil on PostgreSQL.
func (p *Tx) SQLiteTx() *sql.Tx { return p.tx }

// Dialect is p's database's.
func (p *Tx) Dialect() sqldb.Dialect { return p.db.Dialect }

// Exec queues a statement.
func (p *Tx) Exec(query string, args ...any) {
	if p.tx == nil {
		p.queue(query, args, nil)
		return
	}
	if p.err == nil {
		_, p.err = p.tx.ExecContext(p.ctx, query, args...)
	}
}

// ExecCached is Exec of a statement of fixed text, which on SQLite is
// prepared once for the database's lifetime (see sqldb.DB.Stmt); PostgreSQL's
// driver caches every statement it runs.
func (p *Tx) ExecCached(query string, args ...any) {
	if p.tx == nil {
		p.queue(query, args, nil)
		return
	}
	if p.err == nil {
		_, p.err = p.db.ExecCached(p.ctx, p.tx, query, args...)
	}
}

// Query queues a query whose rows are handed to scan, with the function
// that scans a row's columns into dest, by the next Flush (at once on
// SQLite).
func (p *Tx) Query(query string, args []any, scan func(scan func(dest ...any) error) error) {
	if p.tx == nil {
		p.queue(query, args, scan)
		return
	}
	if p.err == nil {
		p.err = p.db.Each(p.ctx, p.tx, query, args, func(rows *sql.Rows) error { return scan(rows.Scan) })
	}
}

// WriteRows is sqldb.DB.WriteRows in p: head + a VALUES list + tail
// over rows, as many rows per statement as the dialect suits.
func (p *Tx) WriteRows(head, tail string, ncols int, rows [][]any) {
	if p.tx != nil {
		if p.err == nil {
			p.err = p.db.WriteRows(p.ctx, p.tx, head, tail, ncols, rows)
		}
		return
	}
	start := 0
	for _, size := range p.db.Dialect.Chunks(len(rows), ncols) {
		args := make([]any, 0, size*ncols)
		for _, r := range rows[start : start+size] {
			args = append(args, r...)
		}
		start += size
		p.queue(head+p.db.Dialect.Values(ncols, size)+tail, args, nil)
	}
}

// Flush sends the statements queued, and hands the rows of the queries
// among them to their scan functions; it returns the first error of p's
// statements so far. On SQLite, where they ran as queued, it
// only returns that error.
func (p *Tx) Flush() error {
	_, err := p.flush()
	return err
}

func (p *Tx) queue(query string, args []any, scan func(func(...any) error) error) {
	p.batch.Queue(query, args...)
	p.scans = append(p.scans, scan)
}

// flush is Flush, returning on PostgreSQL each statement's command tag.
func (p *Tx) flush() (tags []string, err error) {
	if p.err != nil || p.tx != nil || len(p.batch.QueuedQueries) == 0 {
		return nil, p.err
	}
	b, scans := p.batch, p.scans
	p.batch, p.scans = &pgx.Batch{}, nil
	br := p.conn.SendBatch(p.ctx, b)
	tags = make([]string, len(scans))
	for i, scan := range scans {
		if tags[i], err = result(br, scan); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		p.err = err
		return nil, err
	}
	return tags, nil
}

// result reads the next statement's result from br, handing its rows to
// scan unless nil, and returns its command tag.
func result(br pgx.BatchResults, scan func(func(...any) error) error) (string, error) {
	if scan == nil {
		tag, err := br.Exec()
		return tag.String(), err
	}
	rows, err := br.Query()
	if err != nil {
		return "", err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows.Scan); err != nil {
			return "", err
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return "", err
	}
	return rows.CommandTag().String(), nil
}

// rollbackTimeout bounds the rollback after a failure, which runs even
// when the pipeline's context has ended.
const rollbackTimeout = 5 * time.Second

// rollback ends the server's transaction, if one is open, after a
// failure; a connection too broken to say so is closed by pgx and dropped
// from the pool.
func (p *Tx) rollback() {
	if p.conn.IsClosed() || p.conn.PgConn().TxStatus() == 'I' {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(p.ctx), rollbackTimeout)
	defer cancel()
	if _, err := p.conn.Exec(ctx, "ROLLBACK"); err != nil {
		p.conn.Close(ctx)
	}
}
