-- +goose Up
-- The token buckets of the rate limits that replicas share (SharedLimits):
-- one row per limiter and key. A bucket that is full again is the same as
-- none, so calls delete those rows (full_us passed), a few at a time.
-- UNLOGGED: writing no WAL makes the update each request costs cheaper;
-- after a crash the table is empty, which gives every key a fresh burst.
CREATE UNLOGGED TABLE rate_limits (
    limiter    TEXT NOT NULL,
    key        TEXT NOT NULL,
    tokens     DOUBLE PRECISION NOT NULL,
    counted_us BIGINT NOT NULL,  -- when tokens was counted, µs since 1970
    full_us    BIGINT NOT NULL,  -- when the bucket is full again
    allowed    BOOLEAN NOT NULL, -- what the last request was answered
    PRIMARY KEY (limiter, key)
);
CREATE INDEX rate_limits_full ON rate_limits (full_us);

-- +goose Down
DROP TABLE rate_limits;
