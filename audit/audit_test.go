package audit_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sync/errgroup"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, db *sqldb.DB) *audit.Log {
	t.Helper()
	l, err := audit.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// rec is a record about study S, signal id, by actor.
func rec(actor, id string) audit.Record {
	return audit.Record{Actor: actor, Role: "monitor", Study: "S", Entity: "signal", EntityID: id, Action: "status",
		Old: `{"status":"new"}`, New: `{"status":"closed"}`, Source: "127.0.0.1"}
}

// appendN appends n records and returns them as stored.
func appendN(t *testing.T, l *audit.Log, n int) []audit.Record {
	t.Helper()
	out := make([]audit.Record, n)
	for i := range n {
		r, err := l.Append(t.Context(), rec("jane", fmt.Sprint(i+1)))
		if err != nil {
			t.Fatal(err)
		}
		out[i] = r
	}
	return out
}

func verifyOK(t *testing.T, l *audit.Log, want int64) {
	t.Helper()
	var last int64 = -1
	n, brk, err := l.Verify(t.Context(), func(c int64) { last = c })
	if err != nil || brk != nil || n != want {
		t.Fatalf("Verify = %d, %v, %v; want %d records, no break", n, brk, err, want)
	}
	if last != want {
		t.Errorf("last progress call reported %d, want %d", last, want)
	}
}

func TestAppendChainsAndVerifies(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		l := open(t, db)
		verifyOK(t, l, 0)
		before := time.Now().UTC().Truncate(time.Millisecond)
		recs := appendN(t, l, 5)
		for i, r := range recs {
			if r.Seq != int64(i+1) {
				t.Errorf("record %d: Seq %d", i, r.Seq)
			}
			if r.At.Location() != time.UTC || r.At.Before(before) || r.At.Nanosecond()%int(time.Millisecond) != 0 {
				t.Errorf("record %d: At %v, want UTC ms after %v", i, r.At, before)
			}
			prev := ""
			if i > 0 {
				prev = recs[i-1].Hash
			}
			if r.PrevHash != prev || len(r.Hash) != 64 {
				t.Errorf("record %d: PrevHash %q Hash %q; want PrevHash %q", i, r.PrevHash, r.Hash, prev)
			}
		}
		got, err := l.Query(t.Context(), audit.Filter{Study: "S"})
		if err != nil || len(got) != 5 || got[4] != recs[4] {
			t.Fatalf("Query = %+v, %v; want the 5 records appended", got, err)
		}
		verifyOK(t, l, 5)

		// A given time is kept, in UTC and to the millisecond.
		at := time.Date(2026, 3, 4, 5, 6, 7, 891_234_567, time.FixedZone("CET", 3600))
		r := rec("jane", "6")
		r.At = at
		r, err = l.Append(t.Context(), r)
		if err != nil || !r.At.Equal(at.Truncate(time.Millisecond)) || r.At.Location() != time.UTC {
			t.Fatalf("Append with At %v = %v, %v", at, r.At, err)
		}
		verifyOK(t, l, 6)
	})
}

func TestAppendRefusesBadRecords(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		l := open(t, db)
		for name, mod := range map[string]func(*audit.Record){
			"no actor":      func(r *audit.Record) { r.Actor = "" },
			"no entity":     func(r *audit.Record) { r.Entity = "" },
			"no action":     func(r *audit.Record) { r.Action = "" },
			"old not JSON":  func(r *audit.Record) { r.Old = "status new" },
			"NUL in id":     func(r *audit.Record) { r.EntityID = "a\x00b" },
			"bad UTF-8 new": func(r *audit.Record) { r.New = "\"\xff\"" },
		} {
			r := rec("jane", "1")
			mod(&r)
			if _, err := l.Append(t.Context(), r); err == nil {
				t.Errorf("%s: Append succeeded", name)
			}
		}
		verifyOK(t, l, 0)
	})
}

func TestDatabaseRefusesChanges(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		l := open(t, db)
		appendN(t, l, 3)
		stmts := []string{
			`UPDATE audit_log SET actor = 'mallory' WHERE seq = 2`,
			`UPDATE audit_log SET at_ms = at_ms - 1`,
			`DELETE FROM audit_log WHERE seq = 3`,
			`DELETE FROM audit_log`,
		}
		if db.Dialect == sqldb.Postgres {
			stmts = append(stmts, `TRUNCATE audit_log`)
		}
		for _, s := range stmts {
			_, err := db.ExecContext(t.Context(), s)
			if err == nil || !strings.Contains(err.Error(), "audit_log is append-only") {
				t.Errorf("%s: err = %v, want audit_log is append-only", s, err)
			}
		}
		verifyOK(t, l, 3)
	})
}

// tamper runs stmts the way someone with rights over the database could:
// with the append-only triggers out of the way, then restored.
func tamper(t *testing.T, db *sqldb.DB, stmts ...string) {
	t.Helper()
	ctx := t.Context()
	err := db.InTx(ctx, func(tx *sql.Tx) error {
		var restore []string
		if db.Dialect == sqldb.Postgres {
			stmts = append(append([]string{`ALTER TABLE audit_log DISABLE TRIGGER USER`}, stmts...), `ALTER TABLE audit_log ENABLE TRIGGER USER`)
		} else {
			rows, err := tx.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_log'`)
			if err != nil {
				return err
			}
			var drop []string
			for rows.Next() {
				var name, def string
				if err := rows.Scan(&name, &def); err != nil {
					return err
				}
				drop, restore = append(drop, "DROP TRIGGER "+name), append(restore, def)
			}
			if err := rows.Err(); err != nil {
				return err
			}
			if len(drop) == 0 {
				return errors.New("no triggers on audit_log")
			}
			stmts = append(append(drop, stmts...), restore...)
		}
		for _, s := range stmts {
			if _, err := tx.ExecContext(ctx, s); err != nil {
				return fmt.Errorf("%s: %w", s, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The triggers are back.
	if _, err := db.ExecContext(ctx, `DELETE FROM audit_log`); err == nil {
		t.Fatal("triggers not restored after tampering")
	}
}

func TestVerifyFindsTampering(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stmts func(recs []audit.Record) []string
		seq   int64
	}{
		{"field edited", func([]audit.Record) []string {
			return []string{`UPDATE audit_log SET new_value = '{"status":"acknowledged"}' WHERE seq = 3`}
		}, 3},
		{"time edited", func([]audit.Record) []string {
			return []string{`UPDATE audit_log SET at_ms = at_ms + 1 WHERE seq = 4`}
		}, 4},
		{"hash edited", func([]audit.Record) []string {
			return []string{`UPDATE audit_log SET hash = prev_hash WHERE seq = 5`}
		}, 5},
		{"last record edited", func([]audit.Record) []string {
			return []string{`UPDATE audit_log SET actor = 'mallory' WHERE seq = 6`}
		}, 6},
		{"first record edited", func([]audit.Record) []string {
			return []string{`UPDATE audit_log SET role = 'admin' WHERE seq = 1`}
		}, 1},
		{"record edited and its hash recomputed", func(recs []audit.Record) []string {
			// Whoever rewrites one hash must rewrite every later one too.
			r := recs[2]
			r.Actor = "mallory"
			return []string{fmt.Sprintf(`UPDATE audit_log SET actor = 'mallory', hash = '%s' WHERE seq = 3`, audit.HashOf(r))}
		}, 4},
		{"middle record deleted", func([]audit.Record) []string {
			return []string{`DELETE FROM audit_log WHERE seq = 3`}
		}, 4},
		{"first record deleted", func([]audit.Record) []string {
			return []string{`DELETE FROM audit_log WHERE seq = 1`}
		}, 2},
		{"records swapped", func([]audit.Record) []string {
			return []string{
				`UPDATE audit_log SET seq = 100 WHERE seq = 2`,
				`UPDATE audit_log SET seq = 2 WHERE seq = 3`,
				`UPDATE audit_log SET seq = 3 WHERE seq = 100`,
			}
		}, 2},
		{"record inserted", func(recs []audit.Record) []string {
			return []string{
				`UPDATE audit_log SET seq = seq + 100 WHERE seq > 3`,
				`UPDATE audit_log SET seq = seq - 99 WHERE seq > 100`,
				fmt.Sprintf(`INSERT INTO audit_log SELECT 4, at_ms, 'mallory', role, study, entity, entity_id, action, old_value, new_value, source, '%s', hash FROM audit_log WHERE seq = 3`, recs[2].Hash),
			}
		}, 4},
		{"record appended without the chain", func([]audit.Record) []string {
			return []string{`INSERT INTO audit_log SELECT 7, at_ms, actor, role, study, entity, entity_id, action, old_value, new_value, source, prev_hash, hash FROM audit_log WHERE seq = 6`}
		}, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
				l := open(t, db)
				recs := appendN(t, l, 6)
				tamper(t, db, tc.stmts(recs)...)
				_, brk, err := l.Verify(t.Context(), nil)
				if err != nil || brk == nil || brk.Seq != tc.seq {
					t.Fatalf("Verify = %v, %v; want a break at seq %d", brk, err, tc.seq)
				}
				t.Logf("break: %s", brk)
			})
		})
	}
}

func TestAppendTx(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		l := open(t, db)
		if _, err := db.ExecContext(ctx, `CREATE TABLE widget (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		appendN(t, l, 1)
		change := func(name string, fail error) error {
			return db.InTx(ctx, func(tx *sql.Tx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO widget (id, name) VALUES ((SELECT COUNT(*) + 1 FROM widget), $1)`, name); err != nil {
					return err
				}
				r := rec("jane", name)
				r.Entity, r.Action, r.Old, r.New = "widget", "create", "", fmt.Sprintf(`{"name":%q}`, name)
				if _, err := l.AppendTx(ctx, tx, r); err != nil {
					return err
				}
				return fail
			})
		}
		boom := errors.New("boom")
		if err := change("rolled back", boom); err != boom {
			t.Fatalf("change = %v, want %v", err, boom)
		}
		if err := change("kept", nil); err != nil {
			t.Fatal(err)
		}
		var widgets int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM widget`).Scan(&widgets); err != nil || widgets != 1 {
			t.Fatalf("widgets = %d, %v; want 1", widgets, err)
		}
		got, err := l.Query(ctx, audit.Filter{AllStudies: true, Entity: "widget"})
		if err != nil || len(got) != 1 || got[0].EntityID != "kept" || got[0].Seq != 2 {
			t.Fatalf("widget records = %+v, %v; want only \"kept\" at seq 2 (no gap)", got, err)
		}
		verifyOK(t, l, 2)
	})
}

func TestConcurrentAppends(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		l := open(t, db)
		const writers, each = 8, 15
		var g errgroup.Group
		for w := range writers {
			g.Go(func() error {
				for i := range each {
					if _, err := l.Append(t.Context(), rec(fmt.Sprintf("w%d", w), fmt.Sprint(i))); err != nil {
						return err
					}
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}
		verifyOK(t, l, writers*each)
		for w := range writers {
			got, err := l.Query(t.Context(), audit.Filter{Study: "S", Actor: fmt.Sprintf("w%d", w)})
			if err != nil || len(got) != each {
				t.Fatalf("writer %d: %d records, %v; want %d", w, len(got), err, each)
			}
		}
	})
}

func TestVerifyStreamsWithProgress(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		l := open(t, db)
		// Enough records for more than one progress call, in one transaction
		// to keep the test fast.
		const n = 2500
		err := db.InTx(t.Context(), func(tx *sql.Tx) error {
			for i := range n {
				if _, err := l.AppendTx(t.Context(), tx, rec("jane", fmt.Sprint(i))); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		var calls []int64
		got, brk, err := l.Verify(t.Context(), func(c int64) { calls = append(calls, c) })
		if err != nil || brk != nil || got != n {
			t.Fatalf("Verify = %d, %v, %v", got, brk, err)
		}
		if want := []int64{1000, 2000, 2500}; fmt.Sprint(calls) != fmt.Sprint(want) {
			t.Errorf("progress calls %v, want %v", calls, want)
		}
	})
}

func TestVerifyStopsOnCancel(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		l := open(t, db)
		appendN(t, l, 3)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if _, _, err := l.Verify(ctx, nil); err == nil {
			t.Fatal("Verify with a cancelled context succeeded")
		}
	})
}

// An anchor proves what the chain alone cannot: that the trail was not
// cut off or rewritten up to it.
func TestCheckAgainstAnAnchor(t *testing.T) {
	ctx := context.Background()
	db := sqldbtest.SQLite(t)
	l := open(t, db)
	if n, head, err := l.Check(ctx, audit.Anchor{}, nil); err != nil || n != 0 || head != (audit.Anchor{}) {
		t.Fatalf("empty trail: %d %v %v", n, head, err)
	}
	for range 3 {
		if _, err := l.Append(ctx, audit.Record{Actor: "a", Entity: "e", Action: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	n, head, err := l.Check(ctx, audit.Anchor{}, nil)
	if err != nil || n != 3 || head.Seq != 3 || len(head.Hash) != 64 {
		t.Fatalf("Check: %d %v %v", n, head, err)
	}
	parsed, err := audit.ParseAnchor(head.String())
	if err != nil || parsed != head {
		t.Fatalf("ParseAnchor(%q) = %v, %v", head.String(), parsed, err)
	}
	if _, _, err := l.Check(ctx, head, nil); err != nil {
		t.Errorf("against its own head: %v", err)
	}
	for _, tt := range []struct {
		anchor audit.Anchor
		want   string
	}{
		{audit.Anchor{Seq: 9, Hash: head.Hash}, "cut off"},
		{audit.Anchor{Seq: 2, Hash: head.Hash}, "rewritten"},
	} {
		if _, _, err := l.Check(ctx, tt.anchor, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("anchor %v: %v, want %q", tt.anchor, err, tt.want)
		}
	}
	for _, bad := range []string{"", "3", "x:" + head.Hash, "0:" + head.Hash, "3:abc"} {
		if _, err := audit.ParseAnchor(bad); err == nil {
			t.Errorf("ParseAnchor(%q) accepted it", bad)
		}
	}
}
