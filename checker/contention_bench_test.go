package checker_test

import (
	"context"
	"database/sql"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/checker/checkertest"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// BenchmarkAnswerUnderWriteContention runs checks of 8 subjects at once
// while another writer holds the database's write turn for 300 ms at a
// time (a large upload's transaction), and reports how far past the
// deadline answers came: the p99 of answer time minus deadline, and the
// share of answers whose findings were stored behind them.
func BenchmarkAnswerUnderWriteContention(b *testing.B) {
	for _, backend := range sqldbtest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			ctx := context.Background()
			db := backend.Open(b)
			st := checkertest.Open(b, db)
			const deadline = 200 * time.Millisecond
			ids := make([]string, 8)
			for i := range ids {
				ids[i] = "S-" + string(rune('A'+i))
				labs := []clinical.LabResult{{Study: study, USUBJID: ids[i], Seq: 1, TestCode: "URATE", Value: 800, HasValue: true,
					Low: 200, HasLow: true, High: 400, HasHigh: true, Date: "2014-02-01"}}
				if _, err := st.Labs.PutLabs(ctx, study, labs, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
			c := st.Checker(checkertest.Upstream{Site: "701"}.Sources(), checker.WithDeadline(deadline))

			stop := make(chan struct{})
			var writer sync.WaitGroup
			writer.Go(func() { // ends when stop closes, after at most one 300 ms hold
				for {
					select {
					case <-stop:
						return
					default:
					}
					_ = db.InTx(ctx, func(tx *sql.Tx) error {
						if _, err := tx.ExecContext(ctx, `UPDATE check_jobs SET attempts = attempts WHERE study = 'none'`); err != nil {
							return err
						}
						select {
						case <-stop:
						case <-time.After(300 * time.Millisecond):
						}
						return nil
					})
				}
			})
			var mu sync.Mutex
			var over []time.Duration
			later := 0
			b.ResetTimer()
			for b.Loop() {
				var wg sync.WaitGroup
				for _, id := range ids {
					wg.Go(func() {
						start := time.Now()
						res := c.Check(ctx, study, id)
						took := time.Since(start)
						mu.Lock()
						over = append(over, took-deadline)
						if res.StoringLater {
							later++
						}
						mu.Unlock()
					})
				}
				wg.Wait()
			}
			b.StopTimer()
			close(stop)
			writer.Wait()
			if err := c.Wait(ctx); err != nil {
				b.Fatal(err)
			}
			slices.Sort(over)
			p99 := over[min(len(over)-1, len(over)*99/100)]
			b.ReportMetric(float64(p99.Microseconds())/1000, "p99-past-deadline-ms")
			b.ReportMetric(float64(later)/float64(len(over)), "storing-later-share")
		})
	}
}
