package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/trialwatch/trialwatch/sqldb"
)

// RateLimiter bounds requests per key (a token, a user name, a client
// address) with a token bucket.
type RateLimiter interface {
	// Allow takes one request from key's bucket at now. When the bucket
	// is empty it answers false and how long until it is not.
	Allow(ctx context.Context, key string, now time.Time) (ok bool, retryAfter time.Duration, err error)
}

// Limits makes a process's rate limiters, one per purpose (name), each
// allowing rate requests per second per key in bursts of up to burst.
// It panics on values that are not positive and finite, as NewLimiter.
type Limits interface {
	Limiter(name string, rate float64, burst int) RateLimiter
}

// MemoryLimits keeps each limiter's buckets in this process's memory, at
// most MaxKeys keys per limiter (see Limiter): a limit holds per process.
type MemoryLimits struct{ MaxKeys int }

func (m MemoryLimits) Limiter(_ string, rate float64, burst int) RateLimiter {
	return memoryLimiter{NewLimiter(rate, burst, m.MaxKeys)}
}

type memoryLimiter struct{ buckets *Limiter }

func (m memoryLimiter) Allow(_ context.Context, key string, now time.Time) (bool, time.Duration, error) {
	ok, wait := m.buckets.Allow(key, now)
	return ok, wait, nil
}

// SharedLimits keeps the buckets in the database, in table rate_limits,
// so that every replica serving one PostgreSQL database enforces a limit
// together: N replicas allow what one would, not N times as much.
//
// A request costs one statement, an upsert that refills the key's bucket,
// takes a token if there is one and says which it did, atomically however
// many replicas update the same row. Every sweepEvery-th request also
// deletes up to sweepMax buckets that have been full since the minute
// before (a full bucket is the same as none), so the table holds about
// the keys seen within the time a bucket takes to fill and a minute,
// with no goroutine of its own.
//
// The time is the caller's clock, as with Limiter; replicas' clocks that
// differ by a second let a key have about rate more requests, once.
type SharedLimits struct {
	db    *sqldb.DB
	calls atomic.Uint64
}

// OpenSharedLimits applies the auth migrations (as Open does) and returns
// the limits kept in db, which must be PostgreSQL.
func OpenSharedLimits(ctx context.Context, db *sqldb.DB) (*SharedLimits, error) {
	if db.Dialect != sqldb.Postgres {
		return nil, fmt.Errorf("shared rate limits need PostgreSQL, not %s", db.Dialect)
	}
	if err := db.Migrate(ctx, "auth_schema_version", migrations); err != nil {
		return nil, err
	}
	return &SharedLimits{db: db}, nil
}

// Sweeping: every sweepEvery-th request deletes up to sweepMax full
// buckets, more than the sweepEvery rows those requests can add.
const (
	sweepEvery = 64
	sweepMax   = 256
)

func (s *SharedLimits) Limiter(name string, rate float64, burst int) RateLimiter {
	checkLimit(rate, burst)
	return &sharedLimiter{limits: s, name: name, rate: rate, burst: float64(burst)}
}

type sharedLimiter struct {
	limits *SharedLimits
	name   string
	rate   float64
	burst  float64
}

// takeToken is the upsert of one request. A new key's bucket starts full
// less the token taken. {refilled} is what the bucket holds at $5: what
// it held then, plus what flowed in since (none if the clock went back),
// at most the burst; {taken} is 1 if that is a token, else 0. Every SET
// sees the row as it was before the update. {fullMinute} is the minute
// by whose end the bucket holds the burst again.
var takeToken = strings.NewReplacer(
	"{refilled}", `LEAST($4::float8, b.tokens + GREATEST(0, $5::bigint - b.counted_us) * $3::float8 / 1e6)`,
	"{taken}", `CASE WHEN LEAST($4::float8, b.tokens + GREATEST(0, $5::bigint - b.counted_us) * $3::float8 / 1e6) >= 1 THEN 1 ELSE 0 END`,
).Replace(strings.NewReplacer(
	"{fullMinute}", `(GREATEST(b.counted_us, $5::bigint) + LEAST(1e15, CEIL(($4::float8 - {refilled} + {taken}) * 1e6 / $3::float8))::bigint) / 60000000`,
).Replace(`INSERT INTO rate_limits AS b (limiter, key, tokens, counted_us, full_minute, allowed)
	VALUES ($1, $2, $4::float8 - 1, $5::bigint, ($5::bigint + LEAST(1e15, CEIL(1e6 / $3::float8))::bigint) / 60000000, TRUE)
	ON CONFLICT (limiter, key) DO UPDATE SET
		tokens = {refilled} - {taken},
		allowed = {taken} = 1,
		counted_us = GREATEST(b.counted_us, $5::bigint),
		full_minute = {fullMinute}
	RETURNING allowed, tokens`))

// sweepFull deletes buckets full since before the current minute.
// SKIP LOCKED: it never waits for a row a request is updating, so it
// cannot hold one up for long or take part in a deadlock; a bucket used
// again meanwhile is left alone, as FOR UPDATE checks the condition again
// on the newest row.
const sweepFull = `DELETE FROM rate_limits WHERE (limiter, key) IN (
	SELECT limiter, key FROM rate_limits WHERE full_minute < $1 ORDER BY full_minute LIMIT $2 FOR UPDATE SKIP LOCKED)`

func (l *sharedLimiter) Allow(ctx context.Context, key string, now time.Time) (bool, time.Duration, error) {
	us := now.UnixMicro()
	if l.limits.calls.Add(1)%sweepEvery == 0 {
		if _, err := l.limits.db.ExecContext(ctx, sweepFull, us/60_000_000, sweepMax); err != nil {
			return false, 0, fmt.Errorf("rate limit %s: sweeping full buckets: %w", l.name, err)
		}
	}
	var ok bool
	var tokens float64
	err := l.limits.db.QueryRowContext(ctx, takeToken, l.name, storedKey(key), l.rate, l.burst, us).Scan(&ok, &tokens)
	if err != nil {
		return false, 0, fmt.Errorf("rate limit %s: %w", l.name, err)
	}
	if ok {
		return true, 0, nil
	}
	return false, time.Duration(math.Ceil((1 - tokens) / l.rate * float64(time.Second))), nil
}

// storedKey is key as the table holds it: keys come from requests (a
// login's user name is whatever the caller sent), and a long one, or one
// PostgreSQL text cannot hold, is kept as its SHA-256.
func storedKey(key string) string {
	if len(key) <= 128 && utf8.ValidString(key) && !strings.ContainsRune(key, 0) {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// checkLimit panics on a rate or burst that is not positive and finite,
// which are programming errors.
func checkLimit(rate float64, burst int) {
	if !(rate > 0) || math.IsInf(rate, 0) || burst < 1 {
		panic(errors.New("auth: a rate limit's rate and burst must be positive and finite"))
	}
}
