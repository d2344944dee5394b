-- +goose Up
-- Each lab result's entry lag, the days from its date (LBDTC, when a full
-- date) to the day it was first stored, kept in the row as SQLite computes
-- it on insert (and again if an update corrects the date): the site KRIs'
-- count of late results over every row of a study then adds integers. Worked
-- out as the rows were read, it cost 7 s of a recompute at 10,000,000 rows;
-- a value bound per row by the writer cost the pilot's lab write a tenth
-- more CPU, and SQLite's own computation costs it no parameter.
--
-- A stored generated column is only added by rebuilding the table.
DROP VIEW lab_results_view;
CREATE TABLE lab_results_lagged (
    subject_id INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    test_id    INTEGER NOT NULL,
    value      DOUBLE PRECISION,
    low        DOUBLE PRECISION,
    high       DOUBLE PRECISION,
    baseline   BOOLEAN NOT NULL,
    lab_date   TEXT NOT NULL,
    visit      TEXT NOT NULL,
    stored_day INTEGER DEFAULT (unixepoch() / 86400),
    entry_lag  INTEGER GENERATED ALWAYS AS (CASE WHEN length(lab_date) >= 10
        THEN stored_day - CAST(julianday(substr(lab_date, 1, 10)) - 2440587.5 AS INTEGER) END) STORED,
    PRIMARY KEY (subject_id, seq)
) WITHOUT ROWID;
INSERT INTO lab_results_lagged (subject_id, seq, test_id, value, low, high, baseline, lab_date, visit, stored_day)
    SELECT subject_id, seq, test_id, value, low, high, baseline, lab_date, visit, stored_day FROM lab_results;
DROP TABLE lab_results;
ALTER TABLE lab_results_lagged RENAME TO lab_results;
CREATE VIEW lab_results_view AS
    SELECT s.study, s.usubjid, r.seq, r.test_id, t.test_code, t.test, t.category, t.unit,
        r.value, r.low, r.high, r.baseline, r.lab_date, r.visit
    FROM lab_results r JOIN lab_subjects s ON s.id = r.subject_id JOIN lab_tests t ON t.id = r.test_id;

-- +goose Down
DROP VIEW lab_results_view;
CREATE TABLE lab_results_dated (
    subject_id INTEGER NOT NULL,
    seq        INTEGER NOT NULL,
    test_id    INTEGER NOT NULL,
    value      DOUBLE PRECISION,
    low        DOUBLE PRECISION,
    high       DOUBLE PRECISION,
    baseline   BOOLEAN NOT NULL,
    lab_date   TEXT NOT NULL,
    visit      TEXT NOT NULL,
    stored_day INTEGER DEFAULT (unixepoch() / 86400),
    PRIMARY KEY (subject_id, seq)
) WITHOUT ROWID;
INSERT INTO lab_results_dated (subject_id, seq, test_id, value, low, high, baseline, lab_date, visit, stored_day)
    SELECT subject_id, seq, test_id, value, low, high, baseline, lab_date, visit, stored_day FROM lab_results;
DROP TABLE lab_results;
ALTER TABLE lab_results_dated RENAME TO lab_results;
CREATE VIEW lab_results_view AS
    SELECT s.study, s.usubjid, r.seq, r.test_id, t.test_code, t.test, t.category, t.unit,
        r.value, r.low, r.high, r.baseline, r.lab_date, r.visit
    FROM lab_results r JOIN lab_subjects s ON s.id = r.subject_id JOIN lab_tests t ON t.id = r.test_id;
