package sqldbtest_test

import (
	"context"
	"database/sql"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestIsolated checks two databases a backend gives are isolated: a table
// made in one is not in the other. On PostgreSQL each is a schema of one
// server database.
func TestIsolated(t *testing.T) {
	ctx := context.Background()
	for _, b := range sqldbtest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			first, second := b.Open(t), b.Open(t)
			if _, err := first.ExecContext(ctx, `CREATE TABLE isolated (x INTEGER)`); err != nil {
				t.Fatal(err)
			}
			if _, err := first.ExecContext(ctx, `INSERT INTO isolated VALUES (1)`); err != nil {
				t.Fatal(err)
			}
			var n int
			if err := first.QueryRowContext(ctx, `SELECT count(*) FROM isolated`).Scan(&n); err != nil || n != 1 {
				t.Fatalf("the first database: %d rows, %v", n, err)
			}
			if err := second.QueryRowContext(ctx, `SELECT count(*) FROM isolated`).Scan(&n); err == nil {
				t.Errorf("the second database sees the first's table (%d rows)", n)
			}
		})
	}
}

// TestForEach checks ForEach runs its function on every backend, each
// with an open database of that backend's dialect.
func TestForEach(t *testing.T) {
	var dialects []string
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		if err := db.PingContext(context.Background()); err != nil {
			t.Fatal(err)
		}
		dialects = append(dialects, string(db.Dialect))
	})
	want := 1
	if os.Getenv(sqldbtest.EnvPG) != "" {
		want = 2
	}
	if len(dialects) != want || (want == 2 && dialects[0] == dialects[1]) {
		t.Errorf("ForEach ran on %v, want %d backends", dialects, want)
	}
}

// TestPostgresSkips checks the PostgreSQL backend skips, saying which
// variable to set, when TRIALWATCH_TEST_PG is unset.
func TestPostgresSkips(t *testing.T) {
	t.Setenv(sqldbtest.EnvPG, "")
	var sub *testing.T
	t.Run("postgres", func(t *testing.T) {
		sub = t
		sqldbtest.Postgres(t)
		t.Error("Postgres returned without TRIALWATCH_TEST_PG")
	})
	if !sub.Skipped() {
		t.Errorf("the PostgreSQL test was not skipped")
	}
}

// TestPostgresSchemaDropped checks a test's PostgreSQL schema is gone
// once the test ends, and PostgresReplicas share one schema.
func TestPostgresSchemaDropped(t *testing.T) {
	base := os.Getenv(sqldbtest.EnvPG)
	if base == "" {
		t.Skip(sqldbtest.EnvPG + " is not set: skipping the PostgreSQL backend")
	}
	ctx := context.Background()
	var schema string
	t.Run("replicas", func(t *testing.T) {
		dbs := sqldbtest.PostgresReplicas(t, 2)
		if _, err := dbs[0].ExecContext(ctx, `CREATE TABLE shared (x INTEGER)`); err != nil {
			t.Fatal(err)
		}
		if _, err := dbs[1].ExecContext(ctx, `INSERT INTO shared VALUES (1)`); err != nil {
			t.Errorf("the second replica does not see the first's table: %v", err)
		}
		if err := dbs[0].QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(schema, "t_") {
			t.Errorf("current schema %q, want a test schema t_…", schema)
		}
	})
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var n int
	if err := admin.QueryRowContext(ctx, `SELECT count(*) FROM information_schema.schemata WHERE schema_name = $1`, schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("schema %s is left after its test", schema)
	}
}
