package pipeline_test

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"

	"go.uber.org/goleak"

	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/pipeline"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// A pipeline's statements run in the order queued, within one
// transaction: a query flushed sees the writes queued before it, and
// what it wrote is committed at the end.
func TestPipelineRunsInOrderAndCommits(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, `CREATE TABLE p (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		var seen []string
		err := pipeline.Run(ctx, db, func(p *pipeline.Tx) error {
			p.Exec(`INSERT INTO p (k, v) VALUES ($1, $2)`, "a", 1)
			p.WriteRows(`INSERT INTO p (k, v) VALUES `, ` ON CONFLICT (k) DO UPDATE SET v = excluded.v`, 2,
				[][]any{{"b", 3}})
			p.ExecCached(`UPDATE p SET v = v + 10 WHERE k = $1`, "a")
			p.Query(`SELECT k, v FROM p ORDER BY k`, nil, func(scan func(...any) error) error {
				var k string
				var v int64
				err := scan(&k, &v)
				seen = append(seen, k+"="+itoa(v))
				return err
			})
			if err := p.Flush(); err != nil {
				return err
			}
			if want := []string{"a=11", "b=3"}; !slices.Equal(seen, want) {
				t.Errorf("read %v within the pipeline, want %v", seen, want)
			}
			p.Exec(`DELETE FROM p WHERE k = $1`, "b")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if got := rowsOf(t, db); !slices.Equal(got, []string{"a=11"}) {
			t.Errorf("committed %v, want [a=11]", got)
		}
	})
}

// A failed statement fails the pipeline, however much was flushed before
// it: nothing is committed, the statements queued after it do not run,
// and the connection serves the next transaction.
func TestPipelineFailureRollsBack(t *testing.T) {
	sqldbtest.ForEach(t, func(t *testing.T, db *sqldb.DB) {
		ctx := context.Background()
		if _, err := db.ExecContext(ctx, `CREATE TABLE p (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		scanned := false
		err := pipeline.Run(ctx, db, func(p *pipeline.Tx) error {
			p.Exec(`INSERT INTO p (k, v) VALUES ($1, $2)`, "a", 1)
			if err := p.Flush(); err != nil {
				return err
			}
			p.Exec(`INSERT INTO p (k, v) VALUES ($1, $2)`, "a", 2) // the key is taken
			p.Query(`SELECT k FROM p`, nil, func(func(...any) error) error { scanned = true; return nil })
			p.Exec(`INSERT INTO p (k, v) VALUES ($1, $2)`, "b", 3)
			return p.Flush()
		})
		if err == nil {
			t.Fatal("a duplicate key did not fail the pipeline")
		}
		if scanned {
			t.Error("a query queued after the failed statement ran")
		}
		if got := rowsOf(t, db); len(got) != 0 {
			t.Errorf("committed %v after a failure", got)
		}

		// fn's own error rolls back what was flushed, too.
		mine := errors.New("mine")
		err = pipeline.Run(ctx, db, func(p *pipeline.Tx) error {
			p.Exec(`INSERT INTO p (k, v) VALUES ($1, $2)`, "c", 1)
			if err := p.Flush(); err != nil {
				return err
			}
			return mine
		})
		if !errors.Is(err, mine) {
			t.Fatalf("Run returned %v, want fn's error", err)
		}
		if got := rowsOf(t, db); len(got) != 0 {
			t.Errorf("committed %v after fn failed", got)
		}
		// Every pooled connection is out of any transaction.
		for range 3 {
			if err := pipeline.Run(ctx, db, func(p *pipeline.Tx) error {
				p.Exec(`INSERT INTO p (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = p.v + 1`, "d", 1)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		if got := rowsOf(t, db); !slices.Equal(got, []string{"d=3"}) {
			t.Errorf("committed %v, want [d=3]", got)
		}
	})
}

func rowsOf(t *testing.T, db *sqldb.DB) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), `SELECT k, v FROM p ORDER BY k`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var k string
		var v int64
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		out = append(out, k+"="+itoa(v))
	}
	return out
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
