package audit_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// Appends that arrive while a group is being committed are committed
// together: many records in few transactions, each returned as stored,
// the chain intact. A full group makes later appends wait for room; one
// whose context ends while it waits fails and writes nothing.
func TestAppendsAreGrouped(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		l := open(t, db)
		ctx := t.Context()
		const n = 2*audit.MaxGroupRecords + 100
		release := audit.HoldAppends(l) // as if a commit took long
		stored := make([]audit.Record, n)
		var g errgroup.Group
		for i := range n {
			g.Go(func() (err error) {
				stored[i], err = l.Append(ctx, rec(fmt.Sprintf("u%d", i), fmt.Sprint(i)))
				return err
			})
		}
		waitFor(t, "a full group and the rest waiting for room", func() bool {
			return audit.OpenGroup(l) == audit.MaxGroupRecords && l.AppendStats().Waiting == n
		})
		gone, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := l.Append(gone, rec("gone", "x")); !errors.Is(err, context.Canceled) {
			t.Errorf("append with its context ended while the group is full: %v, want context.Canceled", err)
		}
		release()
		if err := g.Wait(); err != nil {
			t.Fatal(err)
		}

		st := l.AppendStats()
		t.Logf("%d records in %d transactions", st.Records, st.Transactions)
		if st.Records != n || st.Waiting != 0 {
			t.Errorf("stats %+v, want %d records and none waiting", st, n)
		}
		// Each group holds at most MaxGroupRecords; the first three fill
		// at once here. A bound, not an exact count: how the rest group
		// depends on the scheduler.
		if st.Transactions < n/audit.MaxGroupRecords+1 || st.Transactions > n/20 {
			t.Errorf("%d records in %d transactions, want between %d and %d", n, st.Transactions, n/audit.MaxGroupRecords+1, n/20)
		}
		seen := map[int64]bool{}
		for i, r := range stored {
			if r.Actor != fmt.Sprintf("u%d", i) || r.Seq < 1 || r.Seq > n || seen[r.Seq] || len(r.Hash) != 64 {
				t.Fatalf("append %d returned %+v (seq seen before: %v)", i, r, seen[r.Seq])
			}
			seen[r.Seq] = true
		}
		verifyOK(t, l, n)
		if got, err := l.Query(ctx, audit.Filter{Study: "S", Actor: "gone"}); err != nil || len(got) != 0 {
			t.Errorf("records of the append that gave up: %v, %v; want none", got, err)
		}
	})
}

// A group that fails to commit fails every append in it, and leaves the
// chain as it was.
func TestFailedGroupFailsItsAppends(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		l := open(t, db)
		ctx := t.Context()
		appendN(t, l, 2)
		release := audit.HoldAppends(l)
		const n = 10
		errs := make(chan error, n)
		for i := range n {
			go func() { // returns once its group failed, after release below
				_, err := l.Append(ctx, rec("jane", fmt.Sprint(i)))
				errs <- err
			}()
		}
		waitFor(t, "the appends to join a group", func() bool { return audit.OpenGroup(l) == n })
		if _, err := db.ExecContext(ctx, `ALTER TABLE audit_log RENAME TO audit_log_away`); err != nil {
			t.Fatal(err)
		}
		release()
		for range n {
			if err := <-errs; err == nil {
				t.Error("an append of a group that could not commit succeeded")
			}
		}
		if _, err := db.ExecContext(ctx, `ALTER TABLE audit_log_away RENAME TO audit_log`); err != nil {
			t.Fatal(err)
		}
		verifyOK(t, l, 2)
		if r, err := l.Append(ctx, rec("jane", "after")); err != nil || r.Seq != 3 {
			t.Errorf("append after the failure: %+v, %v; want seq 3", r, err)
		}
	})
}

// waitFor polls cond until it holds, failing the test after a while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
