package sqldb_test

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
	"modernc.org/sqlite"

	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The pragmas of a new SQLite file hold on every connection the pool
// opens, and the page size is the one asked for: the driver runs the
// pragma list before journal_mode, and a page size set after the file
// exists is ignored without an error.
func TestNewSQLiteFileSettings(t *testing.T) {
	db := sqldbtest.SQLite(t)
	ctx := context.Background()
	conns := make([]*sql.Conn, 3)
	for i := range conns {
		c, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	if _, err := conns[0].ExecContext(ctx, `CREATE TABLE t (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	for i, c := range conns {
		for pragma, want := range map[string]string{"page_size": "8192", "journal_mode": "wal", "synchronous": "1", "busy_timeout": "10000", "temp_store": "2", "wal_autocheckpoint": "0"} {
			var got string
			if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("connection %d: PRAGMA %s = %s, want %s", i, pragma, got, want)
			}
		}
	}
}

// The page cache holds no more pages than cache_size on any connection,
// the one that creates the file included: SQLite sizes a cache given in
// KiB by the page size in force when the pragma runs, 4 KiB there, and
// that connection cached twice the memory meant.
func TestSQLiteCacheBoundOnNewFile(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	db.SetMaxOpenConns(1) // the connection that created the file, see sqldbtest.SQLite
	c, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var limit int
	if err := c.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&limit); err != nil {
		t.Fatal(err)
	}
	if limit < 0 { // KiB
		limit = -1024 * limit / 8192
	}
	// One 8 KiB page per row, more rows than the cache holds.
	if _, err := c.ExecContext(ctx, `CREATE TABLE big (k INTEGER PRIMARY KEY, v BLOB)`); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ExecContext(ctx, `WITH RECURSIVE n(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM n WHERE k < $1)
		INSERT INTO big SELECT k, zeroblob(8000) FROM n`, limit+limit/4); err != nil {
		t.Fatal(err)
	}
	var sum int
	if err := c.QueryRowContext(ctx, `SELECT sum(length(v)) FROM big`).Scan(&sum); err != nil {
		t.Fatal(err)
	}
	err = c.Raw(func(dc any) error {
		used, _, err := dc.(sqlite.DBStatus).Status(sqlite.DBStatusCacheUsed, false)
		if err != nil {
			return err
		}
		if pages := used / 8192; pages > limit+limit/20 {
			t.Errorf("the connection that created the file caches %d pages (%d MiB), want at most cache_size, %d", pages, used>>20, limit)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// pagesInFile reads the database size a SQLite file's header gives, in
// pages: what checkpoints have copied into it, not the log's pages.
func pagesInFile(t *testing.T, path string) uint32 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var header [100]byte
	if _, err := io.ReadFull(f, header[:]); err != nil {
		t.Fatal(err)
	}
	return binary.BigEndian.Uint32(header[28:32])
}

// Committed pages reach the database file once writes pause, and while
// they go on, within the longest delay.
func TestCheckpointsWhenWritesPause(t *testing.T) {
	path := sqldbtest.SQLiteDSN(t)
	db, err := sqldb.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	write := func(rows int) {
		t.Helper()
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
				INSERT INTO t (x) SELECT randomblob(1000) FROM n`, rows)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE t (x BLOB)`); err != nil {
		t.Fatal(err)
	}
	waitForPages := func(what string, least uint32, keepWriting bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for pagesInFile(t, path) < least {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %d pages in the file after 20 s, want at least %d", what, pagesInFile(t, path), least)
			}
			if keepWriting {
				write(1)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	write(2000) // about 250 pages of 8 KiB; commits copy none (wal_autocheckpoint 0, see above)
	waitForPages("after a pause", 250, false)
	// Writes that never pause for long: the longest delay still holds.
	write(2000)
	waitForPages("while writes go on", 500, true)
}

// A write waits for the one in progress in this process, and gives up
// when its context ends; on PostgreSQL Writing only runs the function.
func TestWritingTakesTurns(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		inFirst, release := make(chan struct{}), make(chan struct{})
		first := make(chan error, 1)
		go func() { // ends when release is closed
			first <- db.Writing(ctx, func() error {
				close(inFirst)
				<-release
				return nil
			})
		}()
		<-inFirst

		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		ran := false
		err := db.Writing(short, func() error { ran = true; return nil })
		if db.Dialect == sqldb.Postgres {
			if err != nil || !ran {
				t.Errorf("Writing on PostgreSQL: ran %v, err %v; want it run at once", ran, err)
			}
		} else if !errors.Is(err, context.DeadlineExceeded) || ran {
			t.Errorf("second writer while the first writes: ran %v, err %v; want it not run and DeadlineExceeded", ran, err)
		}

		close(release)
		if err := <-first; err != nil {
			t.Fatal(err)
		}
		// The turn is free again, and fn's error is Writing's.
		boom := errors.New("boom")
		if err := db.Writing(ctx, func() error { return boom }); err != boom {
			t.Errorf("Writing returned %v, want fn's error", err)
		}
		// InTx takes the same turn: it runs while no one else writes.
		if err := db.InTx(ctx, func(tx *sql.Tx) error { return nil }); err != nil {
			t.Fatal(err)
		}
	})
}

// Chunks covers every row exactly once; on SQLite every statement is full
// or a power of two rows, so a table's statements come from a small set.
func TestChunks(t *testing.T) {
	for _, d := range []sqldb.Dialect{sqldb.SQLite, sqldb.Postgres} {
		for _, ncols := range []int{1, 9, 13, 200} {
			per := d.RowsPerStatement(ncols)
			sizes := map[int]bool{}
			for n := 0; n <= 3*per+5; n++ {
				total, partial := 0, 0
				for _, size := range d.Chunks(n, ncols) {
					total += size
					sizes[size] = true
					if size > per || size <= 0 {
						t.Fatalf("%s, %d cols, %d rows: a statement of %d rows (at most %d)", d, ncols, n, size, per)
					}
					if size < per {
						partial++
						if d == sqldb.SQLite && bits.OnesCount(uint(size)) != 1 {
							t.Fatalf("%s, %d cols, %d rows: a statement of %d rows, not a power of two", d, ncols, n, size)
						}
					}
				}
				if total != n {
					t.Fatalf("%s, %d cols: %d rows written as %d", d, ncols, n, total)
				}
				if d == sqldb.Postgres && partial > 1 {
					t.Fatalf("postgres, %d cols, %d rows: %d partial statements, want at most one", ncols, n, partial)
				}
			}
			if d == sqldb.SQLite && len(sizes) > bits.Len(uint(per))+1 {
				t.Errorf("sqlite, %d cols: %d distinct statement sizes %v", ncols, len(sizes), fmt.Sprint(sizes))
			}
		}
	}
}
