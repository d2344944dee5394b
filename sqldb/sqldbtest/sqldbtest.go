// Package sqldbtest gives tests a fresh, isolated database on every backend
// trialwatch supports: a SQLite file always, and PostgreSQL when
// TRIALWATCH_TEST_PG holds a DSN.
package sqldbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/trialwatch/trialwatch/sqldb"
)

// EnvPG names the variable holding the PostgreSQL DSN for tests.
const EnvPG = "TRIALWATCH_TEST_PG"

// Backend is a named way to get a fresh database.
type Backend struct {
	Name string
	Open func(t testing.TB) *sqldb.DB
}

// Backends lists SQLite and PostgreSQL. The PostgreSQL one skips its test
// with a clear message when TRIALWATCH_TEST_PG is unset.
func Backends() []Backend {
	return []Backend{{"sqlite", SQLite}, {"postgres", Postgres}}
}

// ForEach runs fn as a subtest on every backend.
func ForEach(t *testing.T, fn func(t *testing.T, db *sqldb.DB)) {
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.Open(t)) })
	}
}

// SQLiteDSN returns the path of a new SQLite file in the test's temp dir.
func SQLiteDSN(t testing.TB) string {
	return filepath.Join(t.TempDir(), "trialwatch.db")
}

// SQLite opens a new SQLite database closed when the test ends.
func SQLite(t testing.TB) *sqldb.DB {
	return open(t, SQLiteDSN(t))
}

// PostgresDSN returns a DSN for a new, empty schema that is dropped when
// the test ends, so tests never see each other's rows.
func PostgresDSN(t testing.TB) string {
	base := os.Getenv(EnvPG)
	if base == "" {
		t.Skip(EnvPG + " is not set: skipping the PostgreSQL backend (set it to a DSN such as postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	schema := "t_" + randomHex()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", EnvPG, err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema on %s: %v", EnvPG, err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", EnvPG, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Postgres opens a fresh PostgreSQL schema, or skips the test.
func Postgres(t testing.TB) *sqldb.DB {
	return open(t, PostgresDSN(t))
}

// PostgresReplicas opens n handles, each with its own connection pool,
// on one fresh PostgreSQL schema, as n processes sharing a database
// would have; or skips the test.
func PostgresReplicas(t testing.TB, n int) []*sqldb.DB {
	dsn := PostgresDSN(t)
	dbs := make([]*sqldb.DB, n)
	for i := range dbs {
		dbs[i] = open(t, dsn)
	}
	return dbs
}

func open(t testing.TB, dsn string) *sqldb.DB {
	db, err := sqldb.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func randomHex() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
