-- +goose Up
-- doses becomes a view over its rows (kept by subject generation) so
-- that an upload can stage new generations of the subjects it changes out
-- of readers' sight and publish them with a statement or two
-- (internal/staged). A generation whose study starts with U+001F is an
-- upload's, not yet published, or one it replaced: the view leaves them out.
CREATE TABLE doses_subjects (
    id       INTEGER PRIMARY KEY,
    study    TEXT NOT NULL,
    usubjid  TEXT NOT NULL,
    replaces INTEGER
);
CREATE UNIQUE INDEX doses_subjects_key ON doses_subjects (study, usubjid);
CREATE TABLE doses_rows (
    subject_id    INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    treatment     TEXT NOT NULL,
    dose          DOUBLE PRECISION,
    unit          TEXT NOT NULL,
    route         TEXT NOT NULL,
    start_date    TEXT NOT NULL,
    end_date      TEXT NOT NULL,
    PRIMARY KEY (subject_id, seq)
) WITHOUT ROWID;
INSERT INTO doses_subjects (study, usubjid) SELECT DISTINCT study, usubjid FROM doses;
INSERT INTO doses_rows (subject_id, seq, treatment, dose, unit, route, start_date, end_date)
    SELECT s.id, a.seq, a.treatment, a.dose, a.unit, a.route, a.start_date, a.end_date FROM doses a JOIN doses_subjects s ON s.study = a.study AND s.usubjid = a.usubjid;
DROP TABLE doses;
CREATE VIEW doses AS SELECT s.study, s.usubjid, r.seq, r.treatment, r.dose, r.unit, r.route, r.start_date, r.end_date
    FROM doses_rows r JOIN doses_subjects s ON s.id = r.subject_id WHERE substr(s.study, 1, 1) <> char(31);

-- The history records of an upload's staged rows, under its name in study.
CREATE TABLE doses_staged_history (
    row_key    TEXT NOT NULL,
    study      TEXT NOT NULL,
    usubjid    TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    before     TEXT NOT NULL,
    after      TEXT NOT NULL
);
CREATE INDEX doses_staged_history_stage ON doses_staged_history (study);

-- con_meds becomes a view over its rows (kept by subject generation) so
-- that an upload can stage new generations of the subjects it changes out
-- of readers' sight and publish them with a statement or two
-- (internal/staged). A generation whose study starts with U+001F is an
-- upload's, not yet published, or one it replaced: the view leaves them out.
CREATE TABLE con_meds_subjects (
    id       INTEGER PRIMARY KEY,
    study    TEXT NOT NULL,
    usubjid  TEXT NOT NULL,
    replaces INTEGER
);
CREATE UNIQUE INDEX con_meds_subjects_key ON con_meds_subjects (study, usubjid);
CREATE TABLE con_meds_rows (
    subject_id    INTEGER NOT NULL,
    seq           INTEGER NOT NULL,
    term          TEXT NOT NULL,
    decoded_term  TEXT NOT NULL,
    start_date    TEXT NOT NULL,
    end_date      TEXT NOT NULL,
    PRIMARY KEY (subject_id, seq)
) WITHOUT ROWID;
INSERT INTO con_meds_subjects (study, usubjid) SELECT DISTINCT study, usubjid FROM con_meds;
INSERT INTO con_meds_rows (subject_id, seq, term, decoded_term, start_date, end_date)
    SELECT s.id, a.seq, a.term, a.decoded_term, a.start_date, a.end_date FROM con_meds a JOIN con_meds_subjects s ON s.study = a.study AND s.usubjid = a.usubjid;
DROP TABLE con_meds;
CREATE VIEW con_meds AS SELECT s.study, s.usubjid, r.seq, r.term, r.decoded_term, r.start_date, r.end_date
    FROM con_meds_rows r JOIN con_meds_subjects s ON s.id = r.subject_id WHERE substr(s.study, 1, 1) <> char(31);

-- The history records of an upload's staged rows, under its name in study.
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
DROP TABLE con_meds_staged_history;
CREATE TABLE con_meds_live (
    study         TEXT NOT NULL,
    usubjid       TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    term          TEXT NOT NULL,
    decoded_term  TEXT NOT NULL,
    start_date    TEXT NOT NULL,
    end_date      TEXT NOT NULL,
    PRIMARY KEY (study, usubjid, seq)
);
INSERT INTO con_meds_live SELECT * FROM con_meds;
DROP VIEW con_meds;
DROP TABLE con_meds_rows;
DROP TABLE con_meds_subjects;
ALTER TABLE con_meds_live RENAME TO con_meds;
DROP TABLE doses_staged_history;
CREATE TABLE doses_live (
    study         TEXT NOT NULL,
    usubjid       TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    treatment     TEXT NOT NULL,
    dose          DOUBLE PRECISION,
    unit          TEXT NOT NULL,
    route         TEXT NOT NULL,
    start_date    TEXT NOT NULL,
    end_date      TEXT NOT NULL,
    PRIMARY KEY (study, usubjid, seq)
);
INSERT INTO doses_live SELECT * FROM doses;
DROP VIEW doses;
DROP TABLE doses_rows;
DROP TABLE doses_subjects;
ALTER TABLE doses_live RENAME TO doses;
