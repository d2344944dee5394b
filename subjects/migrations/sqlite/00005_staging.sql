-- +goose Up
-- An upload's subjects rows, staged a chunk a transaction out of readers'
-- sight and copied into subjects when it is published (internal/staged):
-- upload is its name, fresh says the row was new to subjects when staged.
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

-- The history records of an upload's staged rows, under its name in study.
CREATE TABLE subjects_staged_history (
    row_key    TEXT NOT NULL,
    study      TEXT NOT NULL,
    usubjid    TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    before     TEXT NOT NULL,
    after      TEXT NOT NULL
);
CREATE INDEX subjects_staged_history_stage ON subjects_staged_history (study);

-- dispositions becomes a view over its rows (kept by subject generation) so
-- that an upload can stage new generations of the subjects it changes out
-- of readers' sight and publish them with a statement or two
-- (internal/staged). A generation whose study starts with U+001F is an
-- upload's, not yet published, or one it replaced: the view leaves them out.
CREATE TABLE dispositions_subjects (
    id       INTEGER PRIMARY KEY,
    study    TEXT NOT NULL,
    usubjid  TEXT NOT NULL,
    replaces INTEGER
);
CREATE UNIQUE INDEX dispositions_subjects_key ON dispositions_subjects (study, usubjid);
CREATE TABLE dispositions_rows (
    subject_id    INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    term          TEXT NOT NULL,
    decoded_term  TEXT NOT NULL,
    category      TEXT NOT NULL,
    epoch         TEXT NOT NULL,
    start_date    TEXT NOT NULL,
    PRIMARY KEY (subject_id, seq)
) WITHOUT ROWID;
INSERT INTO dispositions_subjects (study, usubjid) SELECT DISTINCT study, usubjid FROM dispositions;
INSERT INTO dispositions_rows (subject_id, seq, term, decoded_term, category, epoch, start_date)
    SELECT s.id, a.seq, a.term, a.decoded_term, a.category, a.epoch, a.start_date FROM dispositions a JOIN dispositions_subjects s ON s.study = a.study AND s.usubjid = a.usubjid;
DROP TABLE dispositions;
CREATE VIEW dispositions AS SELECT s.study, s.usubjid, r.seq, r.term, r.decoded_term, r.category, r.epoch, r.start_date
    FROM dispositions_rows r JOIN dispositions_subjects s ON s.id = r.subject_id WHERE substr(s.study, 1, 1) <> char(31);

-- The history records of an upload's staged rows, under its name in study.
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
DROP TABLE dispositions_staged_history;
CREATE TABLE dispositions_live (
    study         TEXT NOT NULL,
    usubjid       TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    term          TEXT NOT NULL,
    decoded_term  TEXT NOT NULL,
    category      TEXT NOT NULL,
    epoch         TEXT NOT NULL,
    start_date    TEXT NOT NULL,
    PRIMARY KEY (study, usubjid, seq)
);
INSERT INTO dispositions_live SELECT * FROM dispositions;
DROP VIEW dispositions;
DROP TABLE dispositions_rows;
DROP TABLE dispositions_subjects;
ALTER TABLE dispositions_live RENAME TO dispositions;
DROP TABLE subjects_staged_history;
DROP TABLE subjects_staged;
