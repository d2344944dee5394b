package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// LazySession runs a series of write transactions whose commits count
// only once a later transaction confirms them (see Confirm): an upload's
// staged chunks, which its last transaction publishes. On PostgreSQL they
// run on one connection kept for the session and commit without waiting
// for the server's disk (synchronous_commit off, for each of them alone):
// a wait of about 3.5 ms a commit on this project's machines, a few per
// upload of the pilot's size and one per 10,000 lab results in larger
// ones. Nothing committed is lost for it:
//
//   - the server writes its log in order, so the confirming transaction's
//     commit, which waits for the disk, makes every earlier commit of the
//     session durable with it;
//   - what a crash can take, before then, are commits not yet on disk;
//     but a crash or restart of the server ends every connection, so the
//     session's connection still answering when Confirm asks proves that
//     none happened since its commits. If it does not answer, Confirm
//     fails and the confirming transaction is not to commit.
//
// On SQLite, whose commits (WAL, synchronous NORMAL) do not wait for the
// disk anyway, a session's transactions are InTx's and Confirm checks
// nothing. A session is for one goroutine at a time; Close ends it.
type LazySession struct {
	db   *DB
	conn *sql.Conn // the session's connection; nil on SQLite
}

// BeginLazy begins a LazySession.
func (db *DB) BeginLazy(ctx context.Context) (*LazySession, error) {
	s := &LazySession{db: db}
	if db.Dialect != Postgres {
		return s, nil
	}
	var err error
	if s.conn, err = db.Conn(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// InTx runs fn in a transaction of the session, as DB.InTx does: all or
// nothing, with bulk writes through COPY on PostgreSQL.
func (s *LazySession) InTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if s.conn == nil {
		return s.db.InTx(ctx, fn)
	}
	tx, end, err := s.db.beginPgOn(ctx, s.conn)
	if err != nil {
		return err
	}
	defer end()
	return runPgTx(tx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
		return fn(tx)
	})
}

// ErrSessionLost is what Confirm returns when the session's connection is
// gone: the server may have lost what the session committed.
var ErrSessionLost = errors.New("the connection that stored the first steps of this write is gone, and with it maybe what they stored (a restart of the database server?)")

// Confirm is run within the transaction that confirms what the session
// committed, before it commits (see LazySession): it returns an error
// wrapping ErrSessionLost when the session's connection no longer
// answers.
func (s *LazySession) Confirm(ctx context.Context) error {
	if s.conn == nil {
		return nil
	}
	if err := s.conn.PingContext(ctx); err != nil {
		return fmt.Errorf("%w: %w", ErrSessionLost, err)
	}
	return nil
}

// Close ends the session and frees its connection. Closing again does
// nothing.
func (s *LazySession) Close() {
	if s.conn != nil {
		s.conn.Close()
		s.conn = nil
	}
}
