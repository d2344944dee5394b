-- +goose Up
-- An upload's DM and DS rows, staged a chunk a transaction out of readers'
-- sight and published in one short transaction (internal/staged): upload
-- is the stage's name, fresh says the row was new to the live table when
-- staged. Only rows that change something are staged.

CREATE TABLE subjects_staged (
    upload        TEXT NOT NULL,
    fresh         BOOLEAN,
    study         TEXT NOT NULL,
    usubjid       TEXT NOT NULL,
    site          TEXT NOT NULL,
    sex           TEXT NOT NULL,
    age           INTEGER NOT NULL,
    arm           TEXT NOT NULL,
    consent_date  TEXT NOT NULL,
    first_dose    TEXT NOT NULL,
    last_dose     TEXT NOT NULL,
    end_of_study  TEXT NOT NULL,
    death_date    TEXT NOT NULL,
    ref_start     TEXT NOT NULL,
    ref_end       TEXT NOT NULL,
    birth_date    TEXT NOT NULL,
    PRIMARY KEY (upload, study, usubjid)
);
-- The rows a chunk just staged, for it to mark fresh or not.
CREATE INDEX subjects_staged_unmarked ON subjects_staged (upload) WHERE fresh IS NULL;

-- The history records of the staged rows, under the stage's name in study.
CREATE TABLE subjects_staged_history (
    row_key    TEXT NOT NULL,
    study      TEXT NOT NULL,
    usubjid    TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    before     TEXT NOT NULL,
    after      TEXT NOT NULL
);
CREATE INDEX subjects_staged_history_stage ON subjects_staged_history (study);

CREATE TABLE dispositions_staged (
    upload        TEXT NOT NULL,
    fresh         BOOLEAN,
    study        TEXT NOT NULL,
    usubjid      TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    term         TEXT NOT NULL,
    decoded_term TEXT NOT NULL,
    category     TEXT NOT NULL,
    epoch        TEXT NOT NULL,
    start_date   TEXT NOT NULL,
    PRIMARY KEY (upload, study, usubjid, seq)
);
-- The rows a chunk just staged, for it to mark fresh or not.
CREATE INDEX dispositions_staged_unmarked ON dispositions_staged (upload) WHERE fresh IS NULL;

-- The history records of the staged rows, under the stage's name in study.
CREATE TABLE dispositions_staged_history (
    row_key    TEXT NOT NULL,
    study      TEXT NOT NULL,
    usubjid    TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    before     TEXT NOT NULL,
    after      TEXT NOT NULL
);
CREATE INDEX dispositions_staged_history_stage ON dispositions_staged_history (study);

-- +goose Down
DROP TABLE subjects_staged_history;
DROP TABLE subjects_staged;
DROP TABLE dispositions_staged_history;
DROP TABLE dispositions_staged;
