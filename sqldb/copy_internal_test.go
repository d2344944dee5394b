package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/trialwatch/trialwatch/clinical"
)

// Within InTx and BeginWrite on PostgreSQL, writes reach the
// transaction's pgx connection; in a transaction begun elsewhere they
// cannot, and fall back.
// Rows Upsert is told are new but another transaction stored first fail
// the COPY with an error saying so.
func TestCopyWithinInTx(t *testing.T) {
	dsn := os.Getenv("TRIALWATCH_TEST_PG")
	if dsn == "" {
		t.Skip("TRIALWATCH_TEST_PG is not set: skipping the PostgreSQL COPY test (set it to a DSN such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	ctx := context.Background()
	db := openPostgres(t, dsn)
	if _, err := db.ExecContext(ctx, `CREATE TABLE kv (k INTEGER PRIMARY KEY, v TEXT)`); err != nil {
		t.Fatal(err)
	}
	rows := make([][]any, minCopyRows)
	for i := range rows {
		rows[i] = []any{int64(i), "v"}
	}
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		if ok, err := db.withPgx(tx, func(*pgTx, *pgx.Conn) error { return nil }); !ok || err != nil {
			t.Errorf("withPgx in InTx = %v, %v; want the transaction's connection", ok, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO kv VALUES (7, 'first')`); err != nil {
			return err
		}
		return db.Upsert(WithFreshRows(ctx, "kv"), tx, "kv", []string{"k", "v"}, []string{"k"}, rows)
	})
	if !errors.Is(err, clinical.ErrConflict) || !strings.Contains(err.Error(), "another transaction stored some of them") {
		t.Errorf("COPY of a stored key: %v; want the error to say another transaction stored it", err)
	}
	w, err := db.BeginWrite(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Upsert(WithFreshRows(ctx, "kv"), w.Tx, "kv", []string{"k", "v"}, []string{"k"}, rows); err != nil {
		t.Errorf("COPY in a BeginWrite transaction: %v", err)
	}
	if ok, err := db.withPgx(w.Tx, func(*pgTx, *pgx.Conn) error { return nil }); !ok || err != nil {
		t.Errorf("withPgx in BeginWrite = %v, %v; want the transaction's connection", ok, err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if ok, _ := db.withPgx(w.Tx, func(*pgTx, *pgx.Conn) error { return nil }); ok {
		t.Error("a committed transaction is still registered")
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM kv`).Scan(&n); err != nil || n != len(rows) {
		t.Errorf("%d rows stored (%v), want %d", n, err, len(rows))
	}

	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if ok, _ := db.withPgx(tx, func(*pgTx, *pgx.Conn) error { return nil }); ok {
		t.Error("withPgx found a connection for a transaction InTx did not begin")
	}
}
