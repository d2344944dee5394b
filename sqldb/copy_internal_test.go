package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"os"
	"strings"
	"testing"
	"time"

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

// The values trialwatch stores go through copyBinary's own encoding, and
// come back as given; others (a time, an int into a text column) and
// values out of a column's range go through pgx's CopyFrom, which stores
// them or says what is wrong, as before.
func TestCopyBinary(t *testing.T) {
	dsn := os.Getenv("TRIALWATCH_TEST_PG")
	if dsn == "" {
		t.Skip("TRIALWATCH_TEST_PG is not set: skipping the PostgreSQL COPY test (set it to a DSN such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	ctx := context.Background()
	db := openPostgres(t, dsn)
	if _, err := db.ExecContext(ctx, `CREATE TABLE typed (i4 INTEGER, i8 BIGINT, f DOUBLE PRECISION, b BOOLEAN, t TEXT, at TIMESTAMPTZ)`); err != nil {
		t.Fatal(err)
	}
	cols := []string{"i4", "i8", "f", "b", "t"}
	own := [][]any{
		{int64(-7), int64(1) << 40, 1.5, true, "ünïcode"},
		{int32(math.MaxInt32), -3, math.Inf(-1), false, []byte("bytes")},
		{nil, nil, nil, nil, nil},
		{int64(math.MinInt32), int64(0), math.Copysign(0, -1), true, ""},
	}
	copyRows := func(cols []string, rows [][]any) (handled bool, err error) {
		err = db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := db.withPgx(tx, func(_ *pgTx, c *pgx.Conn) error {
				var err error
				if handled, err = copyBinary(ctx, c, "typed", cols, rows); handled || err != nil {
					return err
				}
				return copyInto(ctx, c, "typed", cols, rows)
			})
			return err
		})
		return handled, err
	}
	if handled, err := copyRows(cols, own); !handled || err != nil {
		t.Fatalf("copyBinary of trialwatch's own types: handled %v, %v", handled, err)
	}
	var got []string
	err := db.Each(ctx, nil, `SELECT concat_ws('|', i4, i8, f, b, t) FROM typed ORDER BY i8 NULLS FIRST, i4`, nil, func(r *sql.Rows) error {
		var s string
		err := r.Scan(&s)
		got = append(got, s)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"", "2147483647|-3|-Infinity|f|bytes", "-2147483648|0|-0|t|", "-7|1099511627776|1.5|t|ünïcode"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows copied:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, c := range []struct {
		name    string
		cols    []string
		row     []any
		wantErr bool
	}{
		{"a time", []string{"i4", "at"}, []any{int64(1), time.Now()}, false},
		{"an integer into text", []string{"t"}, []any{int64(5)}, true},
		{"an integer past INTEGER's range", []string{"i4"}, []any{int64(math.MaxInt32) + 1}, true},
	} {
		handled, err := copyRows(c.cols, [][]any{c.row})
		if handled || (err != nil) != c.wantErr {
			t.Errorf("%s: handled %v, %v; want it left to pgx's CopyFrom, failing: %v", c.name, handled, err, c.wantErr)
		}
	}
}
