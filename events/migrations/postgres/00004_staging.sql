-- +goose Up
-- An upload's AE rows, staged a chunk a transaction out of readers'
-- sight and published in one short transaction (internal/staged): upload
-- is the stage's name, fresh says the row was new to the live table when
-- staged. Only rows that change something are staged.

CREATE TABLE adverse_events_staged (
    upload        TEXT NOT NULL,
    fresh         BOOLEAN,
    study         TEXT NOT NULL,
    usubjid       TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    term          TEXT NOT NULL,
    decoded_term  TEXT NOT NULL,
    body_system   TEXT NOT NULL,
    severity      TEXT NOT NULL,
    serious       BOOLEAN NOT NULL,
    start_date    TEXT NOT NULL,
    end_date      TEXT NOT NULL,
    recorded_date TEXT NOT NULL,
    entry_lag     INTEGER,
    PRIMARY KEY (upload, study, usubjid, seq)
);
-- The rows a chunk just staged, for it to mark fresh or not.
CREATE INDEX adverse_events_staged_unmarked ON adverse_events_staged (upload) WHERE fresh IS NULL;

-- The history records of the staged rows, under the stage's name in study.
CREATE TABLE adverse_events_staged_history (
    row_key    TEXT NOT NULL,
    study      TEXT NOT NULL,
    usubjid    TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    before     TEXT NOT NULL,
    after      TEXT NOT NULL
);
CREATE INDEX adverse_events_staged_history_stage ON adverse_events_staged_history (study);

-- +goose Down
DROP TABLE adverse_events_staged_history;
DROP TABLE adverse_events_staged;
