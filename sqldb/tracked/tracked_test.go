package tracked_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
	"github.com/trialwatch/trialwatch/sqldb/tracked"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// items is a tracked table for these tests; the batches below are large
// enough that PostgreSQL writes them through COPY.
var items = tracked.Table{
	Name:    "items",
	Cols:    []string{"study", "usubjid", "seq", "note", "value", "flag"},
	Key:     []string{"study", "usubjid", "seq"},
	History: "items_history",
}

func createItems(t *testing.T, db *sqldb.DB) {
	t.Helper()
	for _, q := range []string{
		`CREATE TABLE items (study TEXT NOT NULL, usubjid TEXT NOT NULL, seq INTEGER NOT NULL, note TEXT NOT NULL,
			value DOUBLE PRECISION, flag BOOLEAN NOT NULL, PRIMARY KEY (study, usubjid, seq))`,
		`CREATE TABLE items_history (row_key TEXT NOT NULL, study TEXT NOT NULL, usubjid TEXT NOT NULL,
			changed_at BIGINT NOT NULL, before TEXT NOT NULL, after TEXT NOT NULL)`,
	} {
		if _, err := db.ExecContext(context.Background(), q); err != nil {
			t.Fatal(err)
		}
	}
}

// awkward are texts that a COPY in text or CSV format would have to
// escape, and the empty text, which is not NULL.
var awkward = []string{"plain", "tab\there", "new\nline", `back\slash`, `quote'"s`, "comma,semi;", "ünïcødé ✓",
	`\N`, "", "unit\x1fseparator", "carriage\rreturn"}

// itemRows makes n rows of subjects first, first+1, … (20 rows each),
// with every awkward text and, every fifth row, a NULL value.
func itemRows(first, n int) [][]any {
	rows := make([][]any, n)
	for i := range rows {
		k := first*20 + i
		var value any = float64(k)*0.1 + 1e-300
		if k%5 == 0 {
			value = nil
		}
		rows[i] = []any{"S1", fmt.Sprintf("SUBJ-%03d", k/20), int64(k % 20), awkward[k%len(awkward)], value, k%3 == 0}
	}
	return rows
}

// stored reads items back as text, in key order.
func stored(t *testing.T, db *sqldb.DB) [][]string {
	t.Helper()
	rs, err := db.QueryContext(context.Background(), `SELECT study, usubjid, seq, note, value, flag FROM items ORDER BY usubjid, seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	var out [][]string
	for rs.Next() {
		vals := make([]any, 6)
		ptrs := make([]any, 6)
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rs.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, 6)
		for i, v := range vals {
			row[i] = sqldb.String(v)
		}
		row[5] = fmt.Sprint(sqldb.Int(vals[5])) // SQLite gives an integer, PostgreSQL a bool
		out = append(out, row)
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// asText is rows as stored reads them, the last row of a key winning.
func asText(rows [][]any) [][]string {
	byKey := map[string][]string{}
	for _, r := range rows {
		row := make([]string, len(r))
		for i, v := range r {
			row[i] = sqldb.String(v)
		}
		row[5] = "0"
		if r[5].(bool) {
			row[5] = "1"
		}
		byKey[fmt.Sprintf("%s/%03d", row[1], r[2].(int64))] = row
	}
	var out [][]string
	for _, k := range slices.Sorted(maps.Keys(byKey)) {
		out = append(out, byKey[k])
	}
	return out
}

func count(t *testing.T, db *sqldb.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Change detection, history and what is stored are the same on both
// backends, for batches PostgreSQL writes through COPY: identical rows are
// left alone, changed ones updated with their old values in history, new
// ones inserted; awkward texts and NULLs come back as written.
func TestPutDetectsChanges(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		createItems(t, db)
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		first := itemRows(0, 200) // subjects 000–009
		sum, err := tracked.Put(ctx, db, items, "S1", first, now)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Inserted != 200 || sum.Updated != 0 || sum.Unchanged != 0 || len(sum.Subjects) != 10 || sum.Subjects[0] != "SUBJ-000" {
			t.Fatalf("first put: %+v; want 200 inserted for 10 subjects", sum)
		}
		if got, want := stored(t, db), asText(first); !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("stored rows differ from those put:\n got %q\nwant %q", got[:3], want[:3])
		}

		sum, err = tracked.Put(ctx, db, items, "S1", first, now)
		if err != nil || sum.Unchanged != 200 || sum.Inserted+sum.Updated != 0 || len(sum.Subjects) != 0 {
			t.Fatalf("identical put: %+v, %v; want all 200 unchanged", sum, err)
		}

		// Four rows change (a value to NULL, a NULL to a value, a text,
		// a flag), 100 are new, and one new key comes twice: it is
		// inserted, then updated by its second row.
		second := itemRows(0, 200)
		second[3][4] = nil
		second[5][4] = 7.5
		second[6][3] = "changed\tto\nthis"
		second[7][5] = !second[7][5].(bool)
		second = append(second, itemRows(10, 100)...) // subjects 010–014
		dup := slices.Clone(second[len(second)-1])
		dup[3] = "second of the same key"
		second = append(second, dup)
		sum, err = tracked.Put(ctx, db, items, "S1", second, now)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Inserted != 100 || sum.Updated != 5 || sum.Unchanged != 196 {
			t.Fatalf("changed put: %+v; want 100 inserted, 5 updated, 196 unchanged", sum)
		}
		wantSubjects := []string{"SUBJ-000", "SUBJ-010", "SUBJ-011", "SUBJ-012", "SUBJ-013", "SUBJ-014"}
		if !slices.Equal(sum.Subjects, wantSubjects) {
			t.Errorf("changed subjects %q, want %q", sum.Subjects, wantSubjects)
		}
		if got, want := stored(t, db), asText(second); !slices.EqualFunc(got, want, slices.Equal) {
			t.Fatalf("stored rows differ from those put (%d rows, want %d)", len(got), len(want))
		}

		// History holds each update's row before and after, every value as text.
		history := map[string][2]map[string]string{}
		rs, err := db.QueryContext(ctx, `SELECT row_key, usubjid, changed_at, before, after FROM items_history`)
		if err != nil {
			t.Fatal(err)
		}
		for rs.Next() {
			var key, usubjid, before, after string
			var at int64
			if err := rs.Scan(&key, &usubjid, &at, &before, &after); err != nil {
				t.Fatal(err)
			}
			if at != now.UnixMilli() || !strings.HasPrefix(key, "S1\x1f"+usubjid+"\x1f") {
				t.Errorf("history row %q of %s at %d", key, usubjid, at)
			}
			var b, a map[string]string
			if err := json.Unmarshal([]byte(before), &b); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(after), &a); err != nil {
				t.Fatal(err)
			}
			history[key] = [2]map[string]string{b, a}
		}
		rs.Close()
		if len(history) != 5 {
			t.Fatalf("%d history rows, want 5: %v", len(history), history)
		}
		for _, c := range []struct {
			key, col, before, after string
		}{
			{"S1\x1fSUBJ-000\x1f3", "value", sqldb.String(first[3][4]), ""},
			{"S1\x1fSUBJ-000\x1f5", "value", "", "7.5"},
			{"S1\x1fSUBJ-000\x1f6", "note", awkward[6], "changed\tto\nthis"},
			{"S1\x1fSUBJ-000\x1f7", "flag", "0", "1"},
			{"S1\x1fSUBJ-014\x1f19", "note", awkward[299%len(awkward)], "second of the same key"},
		} {
			h, ok := history[c.key]
			if !ok {
				t.Errorf("no history for %q", c.key)
				continue
			}
			if h[0][c.col] != c.before || h[1][c.col] != c.after {
				t.Errorf("history of %q: %s %q → %q, want %q → %q", c.key, c.col, h[0][c.col], h[1][c.col], c.before, c.after)
			}
			if len(h[0]) != len(items.Cols) || len(h[1]) != len(items.Cols) {
				t.Errorf("history of %q has %d and %d columns, want %d", c.key, len(h[0]), len(h[1]), len(items.Cols))
			}
		}
	})
}

// A batch with one bad row stores nothing, neither its new rows nor its
// changes nor their history; the next batch on the same connection is
// stored normally.
func TestPutAllOrNothing(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if db.Dialect == sqldb.Postgres {
			// The failed transactions' connection is the next one's. (On
			// SQLite, statements are prepared on the pool during a
			// transaction: one connection would not do.)
			db.SetMaxOpenConns(1)
		}
		createItems(t, db)
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		if _, err := tracked.Put(ctx, db, items, "S1", itemRows(0, 100), now); err != nil {
			t.Fatal(err)
		}
		before := stored(t, db)

		changed := itemRows(0, 100)
		for _, r := range changed {
			r[3] = "changed"
		}
		bad := itemRows(5, 100)
		bad[57][3] = nil // note is NOT NULL
		if _, err := tracked.Put(ctx, db, items, "S1", append(changed, bad...), now); err == nil {
			t.Fatal("a batch with a NULL note was stored")
		}
		// The changes are written before the new rows fail: a transaction
		// that fails later must take them back too.
		errLater := errors.New("failed after writing")
		err := db.InTx(ctx, func(tx *sql.Tx) error {
			if _, err := tracked.PutTx(ctx, db, tx, items, "S1", append(changed, itemRows(5, 100)...), now); err != nil {
				return err
			}
			return errLater
		})
		if !errors.Is(err, errLater) {
			t.Fatalf("InTx = %v, want %v", err, errLater)
		}
		if got := stored(t, db); !slices.EqualFunc(got, before, slices.Equal) {
			t.Errorf("failed batches left %d rows, want the %d before them", len(got), len(before))
		}
		if n := count(t, db, "items_history"); n != 0 {
			t.Errorf("failed batches left %d history rows", n)
		}

		sum, err := tracked.Put(ctx, db, items, "S1", append(changed, itemRows(5, 100)...), now)
		if err != nil {
			t.Fatalf("batch after the failures: %v", err)
		}
		if sum.Updated != 100 || sum.Inserted != 100 {
			t.Errorf("batch after the failures: %+v, want 100 updated and 100 inserted", sum)
		}
		if n := count(t, db, "items_history"); n != 100 {
			t.Errorf("%d history rows, want 100", n)
		}
	})
}

// A table stored in another shape through Table.Write gets the same
// result; on PostgreSQL, Write is called with the new rows, then the
// changed ones.
func TestPutThroughWrite(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		createItems(t, db)
		var calls []int
		tbl := items
		tbl.Write = func(ctx context.Context, tx *sql.Tx, rows [][]any) error {
			calls = append(calls, len(rows))
			return db.Upsert(ctx, tx, "items", items.Cols, items.Key, rows)
		}
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		if _, err := tracked.Put(ctx, db, tbl, "S1", itemRows(0, 100), now); err != nil {
			t.Fatal(err)
		}
		rows := itemRows(0, 200)
		for _, r := range rows[:80] {
			r[3] = "changed"
		}
		calls = nil
		sum, err := tracked.Put(ctx, db, tbl, "S1", rows, now)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Updated != 80 || sum.Inserted != 100 || sum.Unchanged != 20 {
			t.Errorf("put through Write: %+v, want 80 updated, 100 inserted, 20 unchanged", sum)
		}
		want := []int{180}
		if db.Dialect == sqldb.Postgres {
			want = []int{100, 80}
		}
		if !slices.Equal(calls, want) {
			t.Errorf("Write called with %v rows, want %v", calls, want)
		}
		if got, want := stored(t, db), asText(rows); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("stored rows differ from those put (%d rows, want %d)", len(got), len(want))
		}
	})
}

// A transaction the caller began itself, not through InTx, cannot COPY:
// its writes take the multi-row statements, with the same result.
func TestPutInOwnTransaction(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		createItems(t, db)
		now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
		if _, err := tracked.Put(ctx, db, items, "S1", itemRows(0, 100), now); err != nil {
			t.Fatal(err)
		}
		rows := itemRows(0, 200)
		for _, r := range rows[:80] {
			r[3] = "changed"
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		sum, err := tracked.PutTx(ctx, db, tx, items, "S1", rows, now)
		if err != nil {
			tx.Rollback()
			t.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		if sum.Updated != 80 || sum.Inserted != 100 {
			t.Errorf("put: %+v, want 80 updated, 100 inserted", sum)
		}
		if got, want := stored(t, db), asText(rows); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("stored rows differ from those put (%d rows, want %d)", len(got), len(want))
		}
	})
}
