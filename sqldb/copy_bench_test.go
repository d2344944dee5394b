package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// BenchmarkUpsertPostgres writes 60,000 lab-result-shaped rows in chunks
// of 10,000 per transaction into a growing table, the way an import
// does: multi-row VALUES … ON CONFLICT statements (the path before COPY),
// COPY through a stage and a merge (Upsert of rows that may be stored),
// and COPY straight into the table (Upsert of rows package tracked found
// new). Needs TRIALWATCH_TEST_PG.
func BenchmarkUpsertPostgres(b *testing.B) {
	dsn := os.Getenv("TRIALWATCH_TEST_PG")
	if dsn == "" {
		b.Skip("TRIALWATCH_TEST_PG is not set: PostgreSQL benchmark skipped")
	}
	ctx := context.Background()
	cols := []string{"subject_id", "seq", "test_id", "value", "low", "high", "baseline", "lab_date", "visit"}
	key := cols[:2]
	chunk := func(first int) [][]any {
		rows := make([][]any, 10000)
		for i := range rows {
			n := first + i
			rows[i] = []any{int64(n / 200), int64(n % 200), int64(n % 40), float64(n) * 0.37, 1.5, nil, n%7 == 0, "2014-01-02", "WEEK 2"}
		}
		return rows
	}
	for _, path := range []struct {
		name  string
		write func(ctx context.Context, db *DB, tx *sql.Tx, rows [][]any) error
	}{
		{"values", func(ctx context.Context, db *DB, tx *sql.Tx, rows [][]any) error {
			return db.WriteRows(ctx, tx, "INSERT INTO bench_labs ("+strings.Join(cols, ", ")+") VALUES ",
				onConflictSQL(cols, key, nil), len(cols), rows)
		}},
		{"copy-merge", func(ctx context.Context, db *DB, tx *sql.Tx, rows [][]any) error {
			return db.Upsert(ctx, tx, "bench_labs", cols, key, rows)
		}},
		{"copy-fresh", func(ctx context.Context, db *DB, tx *sql.Tx, rows [][]any) error {
			return db.Upsert(WithFreshRows(ctx, "bench_labs"), tx, "bench_labs", cols, key, rows)
		}},
	} {
		b.Run(path.name, func(b *testing.B) {
			db := openPostgres(b, dsn)
			if _, err := db.ExecContext(ctx, `CREATE TABLE bench_labs (subject_id BIGINT NOT NULL, seq INTEGER NOT NULL,
				test_id BIGINT NOT NULL, value DOUBLE PRECISION, low DOUBLE PRECISION, high DOUBLE PRECISION,
				baseline BOOLEAN NOT NULL, lab_date TEXT NOT NULL, visit TEXT NOT NULL, PRIMARY KEY (subject_id, seq))`); err != nil {
				b.Fatal(err)
			}
			next := 0
			for b.Loop() {
				err := db.InTx(ctx, func(tx *sql.Tx) error {
					for range 6 {
						rows := chunk(next)
						next += len(rows)
						if err := path.write(ctx, db, tx, rows); err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(60000*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// openPostgres opens dsn in a schema of its own, dropped when tb ends.
// (sqldbtest does this for other packages; it imports this one.)
func openPostgres(tb testing.TB, dsn string) *DB {
	ctx := context.Background()
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	schema := fmt.Sprintf("sqldb_bench_%d", time.Now().UnixNano())
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatal(err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := Open(ctx, u.String())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		db.Close()
		if admin, err := sql.Open("pgx", dsn); err == nil {
			admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
			admin.Close()
		}
	})
	return db
}
