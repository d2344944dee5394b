-- +goose Up
-- A subject's labs are read together on every check: keep them together on
-- disk by making the primary key the table's own order (SQLite only; in
-- PostgreSQL the primary-key index serves the same reads).
CREATE TABLE lab_results_clustered (
    study     TEXT NOT NULL,
    usubjid   TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    test_code TEXT NOT NULL,
    test      TEXT NOT NULL,
    category  TEXT NOT NULL,
    value     DOUBLE PRECISION,
    unit      TEXT NOT NULL,
    low       DOUBLE PRECISION,
    high      DOUBLE PRECISION,
    baseline  BOOLEAN NOT NULL,
    lab_date  TEXT NOT NULL,
    visit     TEXT NOT NULL,
    PRIMARY KEY (study, usubjid, seq)
) WITHOUT ROWID;
INSERT INTO lab_results_clustered SELECT study, usubjid, seq, test_code, test, category, value, unit, low, high, baseline, lab_date, visit FROM lab_results;
DROP TABLE lab_results;
ALTER TABLE lab_results_clustered RENAME TO lab_results;

-- +goose Down
CREATE TABLE lab_results_rowid (
    study     TEXT NOT NULL,
    usubjid   TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    test_code TEXT NOT NULL,
    test      TEXT NOT NULL,
    category  TEXT NOT NULL,
    value     DOUBLE PRECISION,
    unit      TEXT NOT NULL,
    low       DOUBLE PRECISION,
    high      DOUBLE PRECISION,
    baseline  BOOLEAN NOT NULL,
    lab_date  TEXT NOT NULL,
    visit     TEXT NOT NULL,
    PRIMARY KEY (study, usubjid, seq)
);
INSERT INTO lab_results_rowid SELECT * FROM lab_results;
DROP TABLE lab_results;
ALTER TABLE lab_results_rowid RENAME TO lab_results;
