package checker_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/checker"
	"github.com/trialwatch/trialwatch/clinical"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// replicaStores opens n stores on one fresh PostgreSQL schema, each
// through its own connection pool, as n checker processes would.
func replicaStores(t *testing.T, n int) []*checker.Store {
	t.Helper()
	dsn := sqldbtest.PostgresDSN(t)
	var out []*checker.Store
	for range n {
		db, err := sqldb.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		s, err := checker.OpenStore(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// Two replicas draining one queue claim every job once per generation: a
// subject queued again while its check runs is claimed again, on its new
// generation, and no job is ever claimed by both.
func TestReplicasClaimEachJobOncePerGeneration(t *testing.T) {
	replicas := replicaStores(t, 2)
	ctx := context.Background()
	const jobs, workersPerReplica, batch = 2000, 4, 16
	subjects := make([]string, jobs)
	for i := range subjects {
		subjects[i] = fmt.Sprintf("S-%04d", i)
	}
	if err := replicas[0].Enqueue(ctx, "S", subjects, time.Now()); err != nil {
		t.Fatal(err)
	}
	requeued := func(usubjid string) bool { return usubjid[len(usubjid)-1] == '7' } // one in ten

	type run struct {
		usubjid    string
		generation int64
	}
	var mu sync.Mutex
	claims := map[run]int{}
	byReplica := make([]int, len(replicas))
	errs := make(chan error, len(replicas)*workersPerReplica)
	deadline := time.Now().Add(30 * time.Second)
	var wg sync.WaitGroup
	for r, s := range replicas {
		for range workersPerReplica {
			wg.Go(func() {
				errs <- drain(ctx, s, batch, deadline, func(j checker.Job) error {
					mu.Lock()
					claims[run{j.USUBJID, j.Generation}]++
					byReplica[r]++
					mu.Unlock()
					// The subject's data changes while its first check runs.
					if j.Generation == 1 && requeued(j.USUBJID) {
						return s.Enqueue(ctx, "S", []string{j.USUBJID}, time.Now())
					}
					return nil
				})
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range subjects {
		gens := []int64{1}
		if requeued(id) {
			gens = append(gens, 2)
		}
		for _, g := range gens {
			if n := claims[run{id, g}]; n != 1 {
				t.Errorf("%s generation %d claimed %d times, want once", id, g, n)
			}
			delete(claims, run{id, g})
		}
	}
	for r, n := range claims {
		t.Errorf("%s generation %d claimed %d times: no such generation", r.usubjid, r.generation, n)
	}
	if byReplica[0] == 0 || byReplica[1] == 0 {
		t.Errorf("claims per replica %v: want both to take part", byReplica)
	}
	t.Logf("claims per replica: %v", byReplica)
}

// drain claims batches from s and completes each job after check, until
// the queue is empty or the deadline passes.
func drain(ctx context.Context, s *checker.Store, batch int, deadline time.Time, check func(checker.Job) error) error {
	for time.Now().Before(deadline) {
		jobs, err := s.ClaimBatch(ctx, time.Now(), time.Minute, batch)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if err := check(j); err != nil {
				return err
			}
			if err := s.Complete(ctx, j); err != nil {
				return err
			}
		}
		if len(jobs) > 0 {
			continue
		}
		// Nothing to claim: done once no job is left, not even one
		// another worker holds and may release again.
		if n, err := s.QueueDepth(ctx); err != nil || n == 0 {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
	return fmt.Errorf("queue not drained by the deadline")
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
	if hits, _ := reader.LabSnapshotStats(); hits != 1 {
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
	hits, misses := reader.LabSnapshotStats()
	t.Logf("snapshot hits %d, misses %d", hits, misses)
	if hits < 2 {
		t.Errorf("%d snapshot hits: reads between writes should use the snapshot", hits)
	}
}
