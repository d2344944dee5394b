// Package sqldb opens trialwatch's databases, embedded SQLite
// (modernc.org/sqlite) or PostgreSQL (pgx), and applies each service's
// embedded migrations. Services write portable SQL with $N placeholders,
// which both drivers accept.
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers "pgx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers "sqlite"
)

// Dialect names the SQL backend behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is a database handle that knows its dialect.
type DB struct {
	*sql.DB
	Dialect Dialect
	dsn     string
	stmts   sync.Map // query text → *sql.Stmt, see Stmt
	pgTxs   sync.Map // *sql.Tx → *pgTx, PostgreSQL transactions InTx runs, see copy.go

	// writer is a one-slot semaphore that this process's SQLite writes
	// take, see Writing. nil on PostgreSQL, as is checkpoints.
	writer      chan struct{}
	checkpoints *checkpointer

	closeOnce sync.Once
	closeErr  error
}

// IsPostgres reports whether dsn names a PostgreSQL database rather than a
// SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open connects to dsn: a postgres:// URL, or else a SQLite file path. It
// pings the database so a bad DSN fails here, not on the first request.
func Open(ctx context.Context, dsn string) (*DB, error) {
	if dsn == "" {
		return nil, errors.New("no database given: pass --db with a file path or a postgres:// URL")
	}
	db := &DB{dsn: dsn}
	var err error
	if IsPostgres(dsn) {
		db.Dialect = Postgres
		db.DB, err = sql.Open("pgx", dsn)
	} else {
		db.Dialect = SQLite
		db.writer = make(chan struct{}, 1)
		db.DB, err = sql.Open("sqlite", sqliteDSN(dsn))
	}
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", redact(dsn), err)
	}
	// Workers and request handlers read concurrently; the default of two
	// idle connections made them reopen SQLite connections all the time.
	db.SetMaxIdleConns(16)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s: %w", redact(dsn), err)
	}
	if db.Dialect == SQLite {
		db.startCheckpointer()
	}
	return db, nil
}

// sqliteDSN turns a file path into a modernc DSN. WAL and a busy timeout let
// the split-mode services share one file from several processes.
func sqliteDSN(path string) string {
	if strings.HasPrefix(path, "file:") {
		return path
	}
	q := url.Values{}
	// The driver runs the _pragma list before its _journal_mode and
	// _synchronous keys, and page_size only counts while the file is
	// still empty: set after journal_mode, it would be ignored.
	q.Add("_pragma", fmt.Sprintf("page_size(%d)", sqlitePageSize))
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_journal_mode", "WAL")
	q.Add("_synchronous", "NORMAL")
	q.Add("_pragma", "temp_store(MEMORY)") // statement journals, sorts: scratch no recovery reads, not written to temp files
	// In pages, not KiB: SQLite turns KiB into pages by the page size in
	// force when the pragma runs, still 4 KiB on the connection that
	// creates the file, which so cached twice the memory meant.
	q.Add("_pragma", fmt.Sprintf("cache_size(%d)", sqliteCachePages))
	q.Add("_pragma", "wal_autocheckpoint(0)") // the checkpointer's, off the commits' path
	q.Add("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// sqlitePageSize is the page size of new SQLite databases (an existing
// file keeps its own). SQLite writes a transaction's pages to the WAL,
// and later copies them into the database, with a system call or two per
// page: at 4 KiB, committing the pilot's 60,000 lab rows made about 8,500
// calls, a fifth of the import's time. Bigger pages make fewer calls,
// but the driver's memory grew with them: importing 10 million lab rows
// peaked at 488 MB with 4 KiB pages, 545 MB with 8 KiB, 927 MB with
// 16 KiB and 1.26 GB with 32 KiB, and took 64, 56, 62 and 66 s.
const sqlitePageSize = 8 << 10

// sqliteCachePages is the size of each connection's page cache, in
// pages: 32 MiB of 8 KiB pages, which costs about 50 MB when full, as the
// driver's allocator gives each page (8 KiB and SQLite's header of a few
// hundred bytes) a 16 KiB block. Readers rarely fill it: in WAL mode a
// connection's cache is dropped whenever another one commits. The writer
// of a big upload does: with 64 MiB (twice that on the connection that
// had created the file, see sqliteDSN) a 2,000,000-row LB upload raised the
// checker's RSS by 210-310 MB; with this, by about 160 MB, and importing
// 10 million lab rows peaked 130 MB lower, as fast.
const sqliteCachePages = 4096

// busyTimeout is how long a write waits for another one to finish, in
// SQLite's busy handler (another process) or in Writing (this one).
const busyTimeout = 10 * time.Second

// redact hides a password in a DSN before it reaches a log or an error.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Close checkpoints a SQLite file (see checkpointer) and closes the
// cached statements and the database. Closing again does nothing.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.stopCheckpointer()
		db.closeStmts()
		db.closeErr = db.DB.Close()
	})
	return db.closeErr
}

// String describes the database without secrets.
func (db *DB) String() string { return string(db.Dialect) + " " + redact(db.dsn) }

// Migrate applies the migrations in migrations/<dialect>/ of fsys, keeping
// the applied versions in versionTable so that services sharing a database
// each track their own tables. On PostgreSQL an advisory lock serialises
// replicas that start together.
func (db *DB) Migrate(ctx context.Context, versionTable string, fsys fs.FS) error {
	sub, err := fs.Sub(fsys, "migrations/"+string(db.Dialect))
	if err != nil {
		return err
	}
	opts := []goose.ProviderOption{goose.WithTableName(versionTable), goose.WithDisableGlobalRegistry(true)}
	dialect := goose.DialectSQLite3
	if db.Dialect == Postgres {
		dialect = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(lockID(versionTable)))
		if err != nil {
			return err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(dialect, db.DB, sub, opts...)
	if err != nil {
		return fmt.Errorf("migrations for %s: %w", versionTable, err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", versionTable, err)
	}
	return nil
}

// lockID derives a stable advisory-lock key per version table so services
// sharing one PostgreSQL database migrate without waiting for each other.
func lockID(name string) int64 {
	var h int64 = 5381
	for _, c := range name {
		h = h*33 + int64(c)
	}
	return h
}

// InTx runs fn in a transaction, committing if it returns nil and rolling
// back otherwise: a batch is stored whole or not at all.
//
// On SQLite it runs within Writing: every transaction here writes, as
// they begin IMMEDIATE (taking the write lock at once).
//
// On PostgreSQL it begins the transaction on a connection of its own, kept
// for the transaction, so that bulk writes within it can COPY through that
// connection's driver (see copy.go).
func (db *DB) InTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if db.Dialect == Postgres {
		return db.inPgTx(ctx, fn)
	}
	return db.Writing(ctx, func() error {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	})
}

// Writing runs fn, which writes, as this process's only SQLite writer;
// on PostgreSQL it just runs fn. Statements that write outside InTx
// should run within it.
//
// SQLite lets one connection write at a time. A second writer left to
// SQLite waits in its busy handler, which polls with sleeps growing from
// 1 ms to 100 ms, so the lock can sit idle between one writer's end and
// the next poll; the check workers of the pilot benchmark spent a quarter
// of their time in such waits. Here the next writer starts as soon as the
// last ends, and a wait ends with its context. Writers of other processes
// sharing the file still meet in SQLite's busy handler.
func (db *DB) Writing(ctx context.Context, fn func() error) error {
	if err := db.takeWriteTurn(ctx); err != nil {
		return err
	}
	wrote := false
	defer func() { db.endWriteTurn(wrote) }()
	if err := fn(); err != nil {
		return err
	}
	wrote = true
	return nil
}

// TryWriting is Writing for a write that may as well be skipped: on
// SQLite it runs fn only if no other write of the process has the turn
// now, and reports whether it ran; on PostgreSQL it runs fn. Bookkeeping
// on a request's path (when a token was last used) so never waits for a
// long write.
func (db *DB) TryWriting(fn func() error) (ran bool, err error) {
	if db.writer != nil {
		select {
		case db.writer <- struct{}{}:
		default:
			return false, nil
		}
	} else {
		return true, fn()
	}
	wrote := false
	defer func() { db.endWriteTurn(wrote) }()
	if err := fn(); err != nil {
		return true, err
	}
	wrote = true
	return true, nil
}

// takeWriteTurn makes the caller this process's only SQLite writer, see
// Writing; endWriteTurn ends its turn.
func (db *DB) takeWriteTurn(ctx context.Context) error {
	if db.writer == nil {
		return nil
	}
	select {
	case db.writer <- struct{}{}:
		return nil
	default:
	}
	wait := time.NewTimer(busyTimeout)
	defer wait.Stop()
	select {
	case db.writer <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-wait.C:
		return fmt.Errorf("database is locked: another write in this process has run for over %v", busyTimeout)
	}
}

// endWriteTurn ends a turn taken by takeWriteTurn; wrote says it
// committed something for the checkpointer to copy.
func (db *DB) endWriteTurn(wrote bool) {
	if db.writer == nil {
		return
	}
	<-db.writer
	if wrote {
		db.checkpoints.wrote()
	}
}

// WriteTx is a write transaction that outlives the call that began it,
// for a write fed in pieces (a streamed upload). Its caller must end it
// with Commit or Rollback.
type WriteTx struct {
	*sql.Tx
	db       *DB
	once     sync.Once
	stopDone func() bool
	release  func() // frees what the transaction held, once it has ended
}

// BeginWrite begins a WriteTx, as InTx begins its transaction: on SQLite
// it holds this process's write turn (see Writing) until it ends, so
// other writes of the process wait for it. ctx bounds the transaction:
// when it ends first, the transaction is rolled back and the turn ends,
// so a writer its caller forgot does not block the others for good.
func (db *DB) BeginWrite(ctx context.Context) (*WriteTx, error) {
	if err := db.takeWriteTurn(ctx); err != nil {
		return nil, err
	}
	var tx *sql.Tx
	release := func() {}
	var err error
	if db.Dialect == Postgres {
		tx, release, err = db.beginPg(ctx) // so that its bulk writes can COPY, see copy.go
	} else {
		tx, err = db.BeginTx(ctx, nil)
	}
	if err != nil {
		db.endWriteTurn(false)
		return nil, err
	}
	t := &WriteTx{Tx: tx, db: db, release: release}
	t.stopDone = context.AfterFunc(ctx, func() { t.Rollback() })
	return t, nil
}

// Commit commits the transaction and ends the write turn.
func (t *WriteTx) Commit() error {
	t.stopDone()
	err := t.Tx.Commit()
	t.end(err == nil)
	return err
}

// Rollback rolls the transaction back and ends the write turn; after
// Commit it does nothing.
func (t *WriteTx) Rollback() error {
	t.stopDone()
	err := t.Tx.Rollback()
	t.end(false)
	return err
}

func (t *WriteTx) end(wrote bool) {
	t.once.Do(func() {
		t.release()
		t.db.endWriteTurn(wrote)
	})
}
