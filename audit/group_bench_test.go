package audit_test

import (
	"database/sql"
	"testing"

	"github.com/trialwatch/trialwatch/audit"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// BenchmarkConcurrentAppends appends records from many goroutines at
// once, as a flood of refused logins does: grouped (Append), and each in
// a transaction of its own (AppendTx in InTx, as Append did before it
// grouped), the baseline in the same run.
func BenchmarkConcurrentAppends(b *testing.B) {
	for _, backend := range sqldbtest.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			db := backend.Open(b)
			b.Run("grouped", func(b *testing.B) {
				appendConcurrently(b, db, func(l *audit.Log, r audit.Record) error {
					_, err := l.Append(b.Context(), r)
					return err
				})
			})
			b.Run("one-per-transaction", func(b *testing.B) {
				appendConcurrently(b, db, func(l *audit.Log, r audit.Record) error {
					return db.InTx(b.Context(), func(tx *sql.Tx) error {
						_, err := l.AppendTx(b.Context(), tx, r)
						return err
					})
				})
			})
		})
	}
}

// appendConcurrently runs b.N appends from 16 goroutines a CPU, and
// reports how many records each of Append's transactions held.
func appendConcurrently(b *testing.B, db *sqldb.DB, appendOne func(*audit.Log, audit.Record) error) {
	l, err := audit.Open(b.Context(), db)
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := appendOne(l, rec("flood", "x")); err != nil {
				b.Error(err)
				return
			}
		}
	})
	if st := l.AppendStats(); st.Transactions > 0 {
		b.ReportMetric(float64(st.Records)/float64(st.Transactions), "records/tx")
	}
}
