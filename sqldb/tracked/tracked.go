// Package tracked writes rows of study data keyed by study and subject,
// storing only those new or changed and recording every change, with the
// row before and after, in an append-only history table: loading the same
// file twice changes nothing.
package tracked

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/trialwatch/trialwatch/sqldb"
)

// Table describes a table of study data keyed by (study, usubjid[, seq])
// whose changes are recorded in an append-only history table.
type Table struct {
	Name    string
	Cols    []string // the first two are study and usubjid
	Key     []string // a prefix of Cols
	History string   // table with row_key, study, usubjid, changed_at, before, after
	// Expand, when set, rewrites a row as its history records it (column
	// name → value), e.g. to put what an id stands for in place of the id,
	// so the record reads on its own.
	Expand func(row map[string]string)

	// A table that stores its rows in another shape than Cols (ids in
	// place of text, say) gives both of these: Read is a view or table
	// with Cols to read the stored rows from, Write stores rows of Cols
	// (new or changed ones, in key order on SQLite) within tx. On
	// PostgreSQL it is called twice, with the new rows and then with
	// the changed ones; Upsert into the table Name with the ctx of the
	// first call inserts them through COPY (see sqldb.WithFreshRows).
	Read  string
	Write func(ctx context.Context, tx *sql.Tx, rows [][]any) error

	// HistoryStudy, when set, is the study column of the history records
	// written (their row_key and before and after keep the rows' study):
	// a write staged out of readers' sight files its records under the
	// name it is staged under, to move them at once when it is published.
	HistoryStudy string
}

// Change is one row that a tracked upsert inserted or modified.
type Change struct {
	Row     int    // index in the rows given
	USUBJID string // the subject it belongs to
	Updated bool   // an existing row changed (false: a new row)
}

// subjectsPerQuery bounds the IN list used to read existing rows.
const subjectsPerQuery = 500

// Upsert writes the rows that are new or differ from what is stored
// and records every update, with the row before and after, in the table's
// history. Identical rows are left alone, so loading the same file twice
// changes nothing. All rows must belong to study.
func Upsert(ctx context.Context, db *sqldb.DB, tx *sql.Tx, t Table, study string, rows [][]any, now time.Time) ([]Change, error) {
	existing, err := existingRows(ctx, tx, t, study, rows)
	if err != nil {
		return nil, err
	}
	historyStudy := cmp.Or(t.HistoryStudy, study)
	changes := make([]Change, 0, len(rows))
	write := make([][]any, 0, len(rows))
	var history [][]any
	// written maps the key of each row written so far to its index in rows:
	// a later duplicate in the same batch compares with that row, not with
	// what is stored.
	written := make(map[string]int, len(rows))
	var kb []byte
	for i, r := range rows {
		kb = t.appendKey(kb[:0], r)
		var before []string
		j, found := written[string(kb)]
		if found {
			before = normalizeRow(rows[j])
		} else {
			before, found = existing[string(kb)]
		}
		var norm []string
		var usubjid string
		if found {
			norm = normalizeRow(r)
			if equalRows(before, norm) {
				continue
			}
			usubjid = norm[1]
		} else {
			usubjid = sqldb.String(r[1]) // a new row: nothing to compare it with
		}
		key := string(kb)
		changes = append(changes, Change{Row: i, USUBJID: usubjid, Updated: found})
		write = append(write, r)
		if found {
			history = append(history, []any{key, historyStudy, usubjid, now.UnixMilli(), t.asJSON(before), t.asJSON(norm)})
		}
		written[key] = i
	}
	if db.Dialect == sqldb.SQLite {
		t.sortByKey(write)
		err = storeRows(ctx, db, tx, t, write)
	} else {
		err = writeFreshThenChanged(ctx, db, tx, t, write, changes)
	}
	if err != nil {
		return nil, err
	}
	if err := db.Insert(ctx, tx, t.History, []string{"row_key", "study", "usubjid", "changed_at", "before", "after"}, history); err != nil {
		return nil, err
	}
	return changes, nil
}

// storeRows stores rows, new or changed ones, with t.Write or Upsert.
func storeRows(ctx context.Context, db *sqldb.DB, tx *sql.Tx, t Table, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if t.Write != nil {
		return t.Write(ctx, tx, rows)
	}
	return db.Upsert(ctx, tx, t.Name, t.Cols, t.Key, rows)
}

// writeFreshThenChanged writes the new rows of write (changes tells which
// they are), then the changed ones, so that on PostgreSQL the new ones,
// usually nearly all, are inserted through COPY with no merge (see
// sqldb.WithFreshRows). A key written twice in the batch is new at its
// first row and changed at the next, so the last row still wins.
//
// Each list goes in key order, as on SQLite: the server then adds each
// row to the key's index next to the one before, on the page it has in
// hand, rather than searching the index for it. Files group a subject's
// rows but order them by test and visit: a COPY of 60,000 lab rows shaped
// like the pilot's cost the server 130 ms of CPU in that order and 97 ms
// sorted, most of it the primary key's (40 ms without it).
func writeFreshThenChanged(ctx context.Context, db *sqldb.DB, tx *sql.Tx, t Table, write [][]any, changes []Change) error {
	fresh := make([][]any, 0, len(write))
	var changed [][]any
	for i, c := range changes {
		if c.Updated {
			changed = append(changed, write[i])
		} else {
			fresh = append(fresh, write[i])
		}
	}
	t.sortByKey(fresh)
	t.sortByKey(changed)
	if err := storeRows(sqldb.WithFreshRows(ctx, t.Name), db, tx, t, fresh); err != nil {
		return err
	}
	return storeRows(ctx, db, tx, t, changed)
}

// existingRows loads, normalised, the stored rows of the subjects the batch
// touches, keyed like rowKey.
func existingRows(ctx context.Context, tx *sql.Tx, t Table, study string, rows [][]any) (map[string][]string, error) {
	seen := map[string]bool{}
	var subjects []any
	for _, r := range rows {
		id := sqldb.String(r[1])
		if !seen[id] {
			seen[id] = true
			subjects = append(subjects, id)
		}
	}
	out := map[string][]string{}
	var kb []byte
	for start := 0; start < len(subjects); start += subjectsPerQuery {
		chunk := subjects[start:min(start+subjectsPerQuery, len(subjects))]
		from := t.Name
		if t.Read != "" {
			from = t.Read
		}
		q := "SELECT " + strings.Join(t.Cols, ", ") + " FROM " + from + " WHERE study = $1 AND usubjid IN (" +
			sqldb.Placeholders(2, len(chunk)) + ")"
		if err := scanInto(ctx, tx, q, append([]any{study}, chunk...), len(t.Cols), func(vals []any) {
			kb = t.appendKey(kb[:0], vals)
			out[string(kb)] = normalizeRow(vals)
		}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func scanInto(ctx context.Context, tx *sql.Tx, q string, args []any, ncols int, fn func([]any)) error {
	rs, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rs.Close()
	vals := make([]any, ncols)
	ptrs := make([]any, ncols)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rs.Next() {
		if err := rs.Scan(ptrs...); err != nil {
			return err
		}
		fn(vals)
	}
	return rs.Err()
}

// appendKey appends to b the key of row r: its key columns normalised and
// joined by U+001F.
func (t Table) appendKey(b []byte, r []any) []byte {
	for i := range t.Key {
		if i > 0 {
			b = append(b, '\x1f')
		}
		b = sqldb.AppendString(b, r[i])
	}
	return b
}

// sortByKey orders rows by key, keeping the order of rows with the same
// key. SQLite then adds each row to its B-tree next to the one before,
// rather than seeking it out and splitting pages in the middle; rows of
// one subject in a file are often in another order (by test, then
// visit). Rows of the same key stay in order, so the last still wins.
func (t Table) sortByKey(rows [][]any) {
	last := len(t.Key) - 1
	// Files come grouped by subject: sort each run of rows equal but for
	// the key's last column by that column, which is cheap, then the
	// whole if that was not enough.
	var buf []seqAt
	var tmp [][]any
	for start := 0; start < len(rows); {
		end := start + 1
		for end < len(rows) && t.samePrefix(rows[start], rows[end]) {
			end++
		}
		buf, tmp = sortRun(rows[start:end], last, buf, tmp)
		start = end
	}
	if !slices.IsSortedFunc(rows, t.compareKeys) {
		slices.SortStableFunc(rows, t.compareKeys)
	}
}

// seqAt is a row's integer key column and its place in its run.
type seqAt struct {
	seq int64
	at  int
}

// sortRun sorts rows by column col, stably, through buf and tmp, which it
// returns for the next run.
func sortRun(rows [][]any, col int, buf []seqAt, tmp [][]any) ([]seqAt, [][]any) {
	if len(rows) < 2 {
		return buf, tmp
	}
	buf = buf[:0]
	for i, r := range rows {
		v, ok := r[col].(int64)
		if !ok {
			slices.SortStableFunc(rows, func(a, b []any) int { return compareValues(a[col], b[col]) })
			return buf, tmp
		}
		buf = append(buf, seqAt{v, i})
	}
	if slices.IsSortedFunc(buf, compareSeqAt) {
		return buf, tmp
	}
	slices.SortFunc(buf, compareSeqAt) // places differ: stable
	tmp = append(tmp[:0], rows...)
	for i, s := range buf {
		rows[i] = tmp[s.at]
	}
	clear(tmp)
	return buf, tmp
}

func compareSeqAt(a, b seqAt) int {
	if c := cmp.Compare(a.seq, b.seq); c != 0 {
		return c
	}
	return cmp.Compare(a.at, b.at)
}

// samePrefix reports whether a and b agree on every key column but the last.
func (t Table) samePrefix(a, b []any) bool {
	for i := range len(t.Key) - 1 {
		if compareValues(a[i], b[i]) != 0 {
			return false
		}
	}
	return true
}

func (t Table) compareKeys(a, b []any) int {
	for i := range t.Key {
		if c := compareValues(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

func compareValues(a, b any) int {
	switch a := a.(type) {
	case string:
		if b, ok := b.(string); ok {
			return strings.Compare(a, b)
		}
	case int64:
		if b, ok := b.(int64); ok {
			return cmp.Compare(a, b)
		}
	}
	return 0
}

func (t Table) asJSON(norm []string) string {
	m := make(map[string]string, len(t.Cols))
	for i, c := range t.Cols {
		m[c] = norm[i]
	}
	if t.Expand != nil {
		t.Expand(m)
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func normalizeRow(r []any) []string {
	out := make([]string, len(r))
	for i, v := range r {
		out[i] = sqldb.String(v)
	}
	return out
}

func equalRows(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Summary tells what a tracked write did.
type Summary struct {
	Inserted  int      `json:"inserted"`
	Updated   int      `json:"updated"`
	Unchanged int      `json:"unchanged"`
	Subjects  []string `json:"-"` // distinct subjects with an inserted or updated row, in first-seen order
}

// PutTx is Upsert summarised, for stores writing rows of one
// study within a transaction their caller owns.
func PutTx(ctx context.Context, db *sqldb.DB, tx *sql.Tx, t Table, study string, rows [][]any, now time.Time) (Summary, error) {
	for i, r := range rows {
		if got := sqldb.String(r[0]); got != study {
			return Summary{}, fmt.Errorf("%s row %d belongs to study %q, not %q", t.Name, i+1, got, study)
		}
	}
	changes, err := Upsert(ctx, db, tx, t, study, rows, now)
	if err != nil {
		return Summary{}, err
	}
	sum := Summary{Unchanged: len(rows) - len(changes)}
	seen := map[string]bool{}
	for _, c := range changes {
		if c.Updated {
			sum.Updated++
		} else {
			sum.Inserted++
		}
		if !seen[c.USUBJID] {
			seen[c.USUBJID] = true
			sum.Subjects = append(sum.Subjects, c.USUBJID)
		}
	}
	return sum, nil
}

// Put is PutTx in a transaction of its own: all or nothing.
func Put(ctx context.Context, db *sqldb.DB, t Table, study string, rows [][]any, now time.Time) (Summary, error) {
	var sum Summary
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		sum, err = PutTx(ctx, db, tx, t, study, rows, now)
		return err
	})
	return sum, err
}
