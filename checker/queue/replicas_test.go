package queue_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/checker/queue"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// replicaStores opens n stores on one fresh PostgreSQL schema, each
// through its own connection pool, as n checker processes would.
func replicaStores(t *testing.T, n int) []*queue.Store {
	t.Helper()
	var out []*queue.Store
	for _, db := range sqldbtest.PostgresReplicas(t, n) {
		s, err := queue.Open(context.Background(), db)
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
				errs <- drain(ctx, s, batch, deadline, func(j queue.Job) error {
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
func drain(ctx context.Context, s *queue.Store, batch int, deadline time.Time, check func(queue.Job) error) error {
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
