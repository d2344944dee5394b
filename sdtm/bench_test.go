package sdtm

import (
	"bytes"
	"testing"
)

// benchRead reads a pilot file, already decompressed, b.N times and
// reports rows per second.
func benchRead(b *testing.B, domain string, f Format, rows func(*Batch) int) {
	data := unzip(b, pilotPath(domain, f))
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		var batch Batch
		if err := Read(domain, bytes.NewReader(data), f, pilot, &batch); err != nil {
			b.Fatal(err)
		}
		n += rows(&batch)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkReadLabCSV(b *testing.B) {
	benchRead(b, "lb", CSV, func(b *Batch) int { return len(b.Labs) })
}

func BenchmarkReadAEDatasetJSON(b *testing.B) {
	benchRead(b, "ae", DatasetJSON, func(b *Batch) int { return len(b.Events) })
}

func BenchmarkReadAEXPT(b *testing.B) {
	benchRead(b, "ae", XPT, func(b *Batch) int { return len(b.Events) })
}
