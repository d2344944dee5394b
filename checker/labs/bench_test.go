package labs_test

import (
	"context"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/checker/labs"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/pilotdata"
	"github.com/trialwatch/trialwatch/sdtm"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// BenchmarkPutPilotLabs stores the pilot's 59,580 lab results in one
// write: new (on PostgreSQL through COPY), then again with every tenth
// row changed (COPY and merge of those), on each backend; each iteration on a fresh schema, made
// untimed. It measures the lab write path alone, which the whole pilot
// benchmark (ingest) cannot resolve to a few percent on a busy machine.
func BenchmarkPutPilotLabs(b *testing.B) {
	rc, err := pilotdata.Open("lb")
	if err != nil {
		b.Fatal(err)
	}
	defer rc.Close()
	var batch sdtm.Batch
	if err := sdtm.ReadCSV("lb.csv", rc, pilotdata.Study, &batch); err != nil {
		b.Fatal(err)
	}
	changed := make([]clinical.LabResult, len(batch.Labs))
	for i, l := range batch.Labs {
		if i%10 == 0 {
			l.Visit += " (corrected)"
		}
		changed[i] = l
	}
	for _, backend := range sqldbtest.Backends() {
		for _, step := range []string{"new", "changed"} {
			b.Run(backend.Name+"/"+step, func(b *testing.B) {
				ctx := context.Background()
				now := time.Now()
				for b.Loop() {
					b.StopTimer()
					s, err := labs.Open(ctx, backend.Open(b))
					if err != nil {
						b.Fatal(err)
					}
					if step == "changed" {
						if _, err := s.PutLabs(ctx, pilotdata.Study, batch.Labs, now); err != nil {
							b.Fatal(err)
						}
					}
					rows := batch.Labs
					if step == "changed" {
						rows = changed
					}
					b.StartTimer()
					if _, err := s.PutLabs(ctx, pilotdata.Study, rows, now); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(len(batch.Labs)*b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}
