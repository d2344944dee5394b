package labs_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/checker/labs"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// replicaStores opens n stores on one fresh PostgreSQL schema, each
// through its own connection pool, as n checker processes would.
func replicaStores(t *testing.T, n int) []*labs.Store {
	t.Helper()
	var out []*labs.Store
	for _, db := range sqldbtest.PostgresReplicas(t, n) {
		s, err := labs.Open(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// A replica's lab snapshot is never served once another replica, or an
// import through another store, wrote the subject's labs: each read sees
// at least every write that committed before it began, while reads
// between writes still come from the snapshot.
func TestReplicasNeverServeAStaleLabSnapshot(t *testing.T) {
	replicas := replicaStores(t, 3) // a reader, a writer, an importer
	reader, writer, importer := replicas[0], replicas[1], replicas[2]
	ctx := context.Background()
	lab := func(value int) []clinical.LabResult {
		return []clinical.LabResult{{Study: "S", USUBJID: "A", Seq: 1, TestCode: "ALT", Test: "Alanine Aminotransferase",
			Value: float64(value), HasValue: true, Unit: "U/L", Date: "2014-01-02"}}
	}
	valueRead := func() int {
		t.Helper()
		labs, err := reader.Labs(ctx, "S", "A")
		if err != nil || len(labs) != 1 {
			t.Fatalf("reading the labs: %+v, %v", labs, err)
		}
		return int(labs[0].Value)
	}
	if _, err := writer.PutLabs(ctx, "S", lab(1), time.Now()); err != nil {
		t.Fatal(err)
	}
	if v := valueRead(); v != 1 {
		t.Fatalf("first read: ALT %d, want 1", v)
	}
	if v := valueRead(); v != 1 {
		t.Fatalf("second read: ALT %d, want 1", v)
	}
	if hits, _ := reader.SnapshotStats(); hits != 1 {
		t.Fatalf("%d snapshot hits: the second read should come from the snapshot", hits)
	}

	// Writers on the other stores change the value, each write larger
	// than the last, while the reader reads: a read never sees less
	// than what was committed before it began.
	const writes = 200
	var committed atomic.Int64
	committed.Store(1)
	errs := make(chan error, 1)
	go func() { // ends after its writes; the test waits on errs
		for v := 2; v <= writes; v++ {
			w := writer
			if v%2 == 0 {
				w = importer
			}
			if _, err := w.PutLabs(ctx, "S", lab(v), time.Now()); err != nil {
				errs <- err
				return
			}
			committed.Store(int64(v))
		}
		errs <- nil
	}()
	for reads := 0; ; reads++ {
		before := committed.Load()
		if v := valueRead(); int64(v) < before {
			t.Fatalf("read %d: ALT %d, but %d was committed before the read began: a stale snapshot", reads, v, before)
		}
		if before == writes {
			break
		}
	}
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if v := valueRead(); v != writes {
		t.Fatalf("after the writes: ALT %d, want %d", v, writes)
	}
	hits, misses := reader.SnapshotStats()
	t.Logf("snapshot hits %d, misses %d", hits, misses)
	if hits < 2 {
		t.Errorf("%d snapshot hits: reads between writes should use the snapshot", hits)
	}
}
