package sqldb_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"

	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// A lazy session's transactions store all or nothing, as InTx's, bulk
// rows included; on PostgreSQL they commit without waiting for the disk,
// and that setting stays with them. Confirm passes while the session's
// connection answers and fails once it is gone, as after a restart of
// the server, which may have lost what the session committed.
func TestLazySession(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, `CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)`); err != nil {
			t.Fatal(err)
		}
		s, err := db.BeginLazy(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		rows := make([][]any, 100) // enough to go through COPY on PostgreSQL
		for i := range rows {
			rows[i] = []any{int64(i), "v"}
		}
		var pid int64
		err = s.InTx(ctx, func(tx *sql.Tx) error {
			if db.Dialect == sqldb.Postgres {
				var commit string
				if err := tx.QueryRowContext(ctx, `SELECT current_setting('synchronous_commit'), pg_backend_pid()`).Scan(&commit, &pid); err != nil {
					return err
				}
				if commit != "off" {
					t.Errorf("synchronous_commit in a lazy transaction: %s, want off", commit)
				}
			}
			return db.Upsert(ctx, tx, "kv", []string{"k", "v"}, []string{"k"}, rows)
		})
		if err != nil {
			t.Fatal(err)
		}
		failed := errors.New("no")
		if err := s.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO kv VALUES (1000, 'x')`); err != nil {
				return err
			}
			return failed
		}); !errors.Is(err, failed) {
			t.Fatalf("a failing transaction: %v", err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM kv`).Scan(&n); err != nil || n != len(rows) {
			t.Errorf("%d rows seen from another connection (%v), want the %d the session committed", n, err, len(rows))
		}
		if err := s.Confirm(ctx); err != nil {
			t.Errorf("Confirm of a live session: %v", err)
		}
		if db.Dialect != sqldb.Postgres {
			return
		}
		for range 4 { // the pool's connections, the session's not among them yet
			var commit string
			if err := db.QueryRowContext(ctx, `SHOW synchronous_commit`).Scan(&commit); err != nil || commit != "on" {
				t.Errorf("synchronous_commit outside the session: %s (%v), want on", commit, err)
			}
		}
		var ended bool
		if err := db.QueryRowContext(ctx, `SELECT pg_terminate_backend($1, 10000)`, pid).Scan(&ended); err != nil || !ended {
			t.Fatalf("ending the session's connection: %v, %v", ended, err)
		}
		if err := s.Confirm(ctx); !errors.Is(err, sqldb.ErrSessionLost) {
			t.Errorf("Confirm once the session's connection is gone: %v, want ErrSessionLost", err)
		}
	})
}
