-- +goose Up
-- adverse_events becomes a view over its rows (kept by subject generation) so
-- that an upload can stage new generations of the subjects it changes out
-- of readers' sight and publish them with a statement or two
-- (internal/staged). A generation whose study starts with U+001F is an
-- upload's, not yet published, or one it replaced: the view leaves them out.
CREATE TABLE adverse_events_subjects (
    id       INTEGER PRIMARY KEY,
    study    TEXT NOT NULL,
    usubjid  TEXT NOT NULL,
    replaces INTEGER
);
CREATE UNIQUE INDEX adverse_events_subjects_key ON adverse_events_subjects (study, usubjid);
CREATE TABLE adverse_events_rows (
    subject_id    INTEGER NOT NULL,
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
    PRIMARY KEY (subject_id, seq)
) WITHOUT ROWID;
INSERT INTO adverse_events_subjects (study, usubjid) SELECT DISTINCT study, usubjid FROM adverse_events;
INSERT INTO adverse_events_rows (subject_id, seq, term, decoded_term, body_system, severity, serious, start_date, end_date, recorded_date, entry_lag)
    SELECT s.id, a.seq, a.term, a.decoded_term, a.body_system, a.severity, a.serious, a.start_date, a.end_date, a.recorded_date, a.entry_lag FROM adverse_events a JOIN adverse_events_subjects s ON s.study = a.study AND s.usubjid = a.usubjid;
DROP TABLE adverse_events;
CREATE VIEW adverse_events AS SELECT s.study, s.usubjid, r.seq, r.term, r.decoded_term, r.body_system, r.severity, r.serious, r.start_date, r.end_date, r.recorded_date, r.entry_lag
    FROM adverse_events_rows r JOIN adverse_events_subjects s ON s.id = r.subject_id WHERE substr(s.study, 1, 1) <> char(31);

-- The history records of an upload's staged rows, under its name in study.
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
CREATE TABLE adverse_events_live (
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
    PRIMARY KEY (study, usubjid, seq)
);
INSERT INTO adverse_events_live SELECT * FROM adverse_events;
DROP VIEW adverse_events;
DROP TABLE adverse_events_rows;
DROP TABLE adverse_events_subjects;
ALTER TABLE adverse_events_live RENAME TO adverse_events;
