-- +goose Up
-- An upload's EX and CM rows, staged a chunk a transaction out of readers'
-- sight and published in one short transaction (internal/staged): upload
-- is the stage's name, fresh says the row was new to the live table when
-- staged. Only rows that change something are staged.

CREATE TABLE doses_staged (
    upload        TEXT NOT NULL,
    fresh         BOOLEAN,
    study      TEXT NOT NULL,
    usubjid    TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    treatment  TEXT NOT NULL,
    dose       DOUBLE PRECISION,
    unit       TEXT NOT NULL,
    route      TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date   TEXT NOT NULL,
    PRIMARY KEY (upload, study, usubjid, seq)
);
-- The rows a chunk just staged, for it to mark fresh or not.
CREATE INDEX doses_staged_unmarked ON doses_staged (upload) WHERE fresh IS NULL;

-- The history records of the staged rows, under the stage's name in study.
CREATE TABLE doses_staged_history (
    row_key    TEXT NOT NULL,
    study      TEXT NOT NULL,
    usubjid    TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    before     TEXT NOT NULL,
    after      TEXT NOT NULL
);
CREATE INDEX doses_staged_history_stage ON doses_staged_history (study);

CREATE TABLE con_meds_staged (
    upload        TEXT NOT NULL,
    fresh         BOOLEAN,
    study        TEXT NOT NULL,
    usubjid      TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    term         TEXT NOT NULL,
    decoded_term TEXT NOT NULL,
    start_date   TEXT NOT NULL,
    end_date     TEXT NOT NULL,
    PRIMARY KEY (upload, study, usubjid, seq)
);
-- The rows a chunk just staged, for it to mark fresh or not.
CREATE INDEX con_meds_staged_unmarked ON con_meds_staged (upload) WHERE fresh IS NULL;

-- The history records of the staged rows, under the stage's name in study.
CREATE TABLE con_meds_staged_history (
    row_key    TEXT NOT NULL,
    study      TEXT NOT NULL,
    usubjid    TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    before     TEXT NOT NULL,
    after      TEXT NOT NULL
);
CREATE INDEX con_meds_staged_history_stage ON con_meds_staged_history (study);

-- +goose Down
DROP TABLE doses_staged_history;
DROP TABLE doses_staged;
DROP TABLE con_meds_staged_history;
DROP TABLE con_meds_staged;
