package auth_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trialwatch/trialwatch/auth"
	"github.com/trialwatch/trialwatch/sqldb"
	"github.com/trialwatch/trialwatch/sqldb/sqldbtest"
)

// sharedLimits opens n SharedLimits on one fresh PostgreSQL schema, each
// through its own connection pool, as n replicas would.
func sharedLimits(t *testing.T, n int) ([]*auth.SharedLimits, *sqldb.DB) {
	t.Helper()
	dbs := sqldbtest.PostgresReplicas(t, n)
	var out []*auth.SharedLimits
	for _, db := range dbs {
		l, err := auth.OpenSharedLimits(context.Background(), db)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l)
	}
	return out, dbs[0]
}

// Both kinds of limits keep the same token buckets.
func TestLimitsBurstAndRefill(t *testing.T) {
	kinds := map[string]func(t *testing.T) auth.Limits{
		"memory":   func(*testing.T) auth.Limits { return auth.MemoryLimits{MaxKeys: 100} },
		"postgres": func(t *testing.T) auth.Limits { l, _ := sharedLimits(t, 1); return l[0] },
	}
	for name, open := range kinds {
		t.Run(name, func(t *testing.T) {
			limits := open(t)
			l := limits.Limiter("token", 2, 3) // 2/s, bursts of 3
			allow := func(key string, at time.Time) (bool, time.Duration) {
				t.Helper()
				ok, retry, err := l.Allow(context.Background(), key, at)
				if err != nil {
					t.Fatal(err)
				}
				return ok, retry
			}
			for i := range 3 {
				if ok, _ := allow("k", t0); !ok {
					t.Fatalf("request %d of the burst refused", i+1)
				}
			}
			if ok, retry := allow("k", t0); ok || retry != 500*time.Millisecond {
				t.Fatalf("after the burst: %v, retry after %v; want refusal, 500ms", ok, retry)
			}
			if ok, _ := allow("other", t0); !ok {
				t.Fatal("one key's burst limited another key")
			}
			if ok, _, _ := limits.Limiter("login", 2, 3).Allow(context.Background(), "k", t0); !ok {
				t.Fatal("one limiter's bucket limited another limiter's of the same key")
			}
			if ok, retry := allow("k", t0.Add(400*time.Millisecond)); ok || retry != 100*time.Millisecond {
				t.Fatalf("at 400ms: %v, retry after %v; want refusal, 100ms", ok, retry)
			}
			if ok, _ := allow("k", t0.Add(500*time.Millisecond)); !ok {
				t.Fatal("refused once a token had refilled")
			}
			if ok, _ := allow("k", t0.Add(500*time.Millisecond)); ok {
				t.Fatal("allowed a second request on one refilled token")
			}
			later := t0.Add(time.Hour)
			for i := range 3 {
				if ok, _ := allow("k", later); !ok {
					t.Fatalf("after an hour, request %d refused", i+1)
				}
			}
			if ok, _ := allow("k", later); ok {
				t.Fatal("an idle hour gave more than the burst")
			}
			if ok, retry := allow("k", t0); ok || retry <= 0 {
				t.Fatalf("clock stepped back: %v, %v; want a refusal", ok, retry)
			}
			// Keys are whatever a request sends: long ones, and ones
			// PostgreSQL text cannot hold, are limited apart all the same.
			long := strings.Repeat("x", 10_000)
			for _, key := range []string{long, long + "y", "nul\x00", "bad \xff utf-8"} {
				for i := range 3 {
					if ok, _ := allow(key, t0); !ok {
						t.Fatalf("key %.20q: request %d of the burst refused", key, i+1)
					}
				}
				if ok, _ := allow(key, t0); ok {
					t.Fatalf("key %.20q: allowed beyond the burst", key)
				}
			}
		})
	}
}

// Two replicas hammering one key at once allow one burst between them,
// then the rate: not one each.
func TestSharedLimitsHoldAcrossReplicas(t *testing.T) {
	replicas, _ := sharedLimits(t, 2)
	const rate, burst, perReplica = 2, 5, 20
	var limiters []auth.RateLimiter
	for _, r := range replicas {
		limiters = append(limiters, r.Limiter("token", rate, burst))
	}
	hammer := func(at time.Time) (allowed, byFirst int64) {
		t.Helper()
		var n, first atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, len(limiters)*perReplica)
		for i, l := range limiters {
			for range perReplica {
				wg.Go(func() {
					ok, _, err := l.Allow(context.Background(), "token-7", at)
					if err != nil {
						errs <- err
					}
					if ok {
						n.Add(1)
						if i == 0 {
							first.Add(1)
						}
					}
				})
			}
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		return n.Load(), first.Load()
	}
	if n, _ := hammer(t0); n != burst {
		t.Fatalf("%d requests allowed at once by two replicas, want the burst of %d", n, burst)
	}
	if n, _ := hammer(t0.Add(1500 * time.Millisecond)); n != 3 {
		t.Fatalf("%d requests allowed 1.5s later, want 3 at %d/s", n, rate)
	}
	// Over many rounds both replicas allow some: they share the bucket,
	// neither one owns it.
	var total, byFirst int64
	for i := range 10 {
		n, f := hammer(t0.Add(1500*time.Millisecond + time.Duration(1+i)*time.Second))
		total, byFirst = total+n, byFirst+f
	}
	if total != 10*rate {
		t.Errorf("%d allowed over 10 rounds a second apart, want %d", total, 10*rate)
	}
	if byFirst == 0 || byFirst == total {
		t.Errorf("one replica allowed %d of %d: want both to share the bucket", byFirst, total)
	}
}

// Every SweepEvery-th request deletes buckets that are full again, a
// bounded number, and leaves those still filling.
func TestSharedLimitsSweepFullBuckets(t *testing.T) {
	replicas, db := sharedLimits(t, 1)
	ctx := context.Background()
	fast := replicas[0].Limiter("fast", 1000, 1) // full again 1ms after a request
	slow := replicas[0].Limiter("slow", 0.001, 1)
	take := func(l auth.RateLimiter, key string, at time.Time) {
		t.Helper()
		if _, _, err := l.Allow(ctx, key, at); err != nil {
			t.Fatal(err)
		}
	}
	rows := func() int {
		t.Helper()
		var n int
		if err := db.QueryRow(`SELECT COUNT(*) FROM rate_limits`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	take(slow, "s", t0)
	keys := auth.SweepMax + auth.SweepEvery // one sweep cannot take them all
	for i := range keys - 1 {
		take(fast, fmt.Sprint("k", i), t0)
	}
	if n := rows(); n != keys {
		t.Fatalf("%d rows after %d keys' first requests, want %d (none full yet)", n, keys, keys)
	}
	later := t0.Add(time.Minute) // full since the minute before
	for range auth.SweepEvery {
		take(fast, "again", later)
	}
	if n, want := rows(), keys+1-auth.SweepMax; n != want {
		t.Fatalf("%d rows after one sweep, want %d: it deletes %d", n, want, auth.SweepMax)
	}
	for range auth.SweepEvery {
		take(fast, "again", later)
	}
	// Left: the slow bucket, still filling, and "again", just used.
	if n := rows(); n != 2 {
		t.Fatalf("%d rows after two sweeps, want 2", n)
	}
}

// The cost of a limit per request: in memory, and shared in PostgreSQL
// (one statement on loopback), on one key and spread over many.
func BenchmarkLimits(b *testing.B) {
	kinds := map[string]func(b *testing.B) auth.Limits{
		"memory": func(*testing.B) auth.Limits { return auth.MemoryLimits{MaxKeys: 100_000} },
		"postgres": func(b *testing.B) auth.Limits {
			db := sqldbtest.Postgres(b)
			l, err := auth.OpenSharedLimits(context.Background(), db)
			if err != nil {
				b.Fatal(err)
			}
			return l
		},
	}
	for _, name := range []string{"memory", "postgres"} {
		for _, keys := range []int{1, 10_000} {
			b.Run(fmt.Sprintf("%s/keys=%d", name, keys), func(b *testing.B) {
				l := kinds[name](b).Limiter("token", 1e6, 1_000_000)
				ctx := context.Background()
				i := 0
				for b.Loop() {
					if _, _, err := l.Allow(ctx, strconv.Itoa(i%keys), time.Now()); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}
