package sqldb_test

import (
	"context"
	"database/sql"
	"maps"
	"testing"

	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// Columns UpsertKeeping keeps take their value when a row is first
// inserted and keep it through updates, on every write path: few rows
// (one statement), many new rows (COPY on PostgreSQL) and many changed
// ones (COPY and merge).
func TestUpsertKeeping(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, `CREATE TABLE kept (k INTEGER PRIMARY KEY, note TEXT NOT NULL, first TEXT)`); err != nil {
			t.Fatal(err)
		}
		cols, key, keep := []string{"k", "note", "first"}, []string{"k"}, []string{"first"}
		write := func(from, n int, note, first string) {
			rows := make([][]any, n)
			for i := range rows {
				rows[i] = []any{int64(from + i), note, first}
			}
			if err := db.InTx(ctx, func(tx *sql.Tx) error {
				return db.UpsertKeeping(ctx, tx, "kept", cols, key, keep, rows)
			}); err != nil {
				t.Fatal(err)
			}
		}
		write(0, 2, "a", "one")     // few new rows
		write(2, 200, "a", "one")   // many new rows
		write(0, 1, "b", "two")     // one changed row
		write(1, 202, "c", "three") // many changed rows, and one new
		got := map[string]int{}
		rows, err := db.QueryContext(ctx, `SELECT note, first FROM kept`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var note, first string
			if err := rows.Scan(&note, &first); err != nil {
				t.Fatal(err)
			}
			got[note+"/"+first]++
		}
		if want := map[string]int{"b/one": 1, "c/one": 201, "c/three": 1}; !maps.Equal(got, want) {
			t.Errorf("stored %v, want %v", got, want)
		}
	})
}
