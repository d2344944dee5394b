-- +goose Up
ALTER TABLE signals ADD COLUMN status TEXT NOT NULL DEFAULT 'new';
ALTER TABLE signals ADD COLUMN status_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE signals ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;

-- Who changed a signal's status, when and why; never rewritten.
CREATE TABLE signal_history (
    signal_id   BIGINT NOT NULL,
    changed_at  BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    reason      TEXT NOT NULL
);
CREATE INDEX signal_history_signal ON signal_history (signal_id);

-- Durable queue of subjects to check: written in the same transaction as
-- the data that changed, so a crash loses no check. generation grows when
-- a subject changes again while its check runs, so that run does not
-- complete the newer job.
CREATE TABLE check_jobs (
    study              TEXT NOT NULL,
    usubjid            TEXT NOT NULL,
    generation         BIGINT NOT NULL DEFAULT 1,
    enqueued_at        BIGINT NOT NULL,
    not_before         BIGINT NOT NULL,
    claimed_until      BIGINT NOT NULL DEFAULT 0,
    claimed_generation BIGINT NOT NULL DEFAULT 0,
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_error         TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (study, usubjid)
);
CREATE INDEX check_jobs_ready ON check_jobs (not_before, claimed_until);
-- +goose StatementBegin
CREATE TRIGGER signal_history_no_update BEFORE UPDATE ON signal_history
BEGIN SELECT RAISE(ABORT, 'signal_history is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER signal_history_no_delete BEFORE DELETE ON signal_history
BEGIN SELECT RAISE(ABORT, 'signal_history is append-only'); END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE check_jobs;
DROP TABLE signal_history;
