-- +goose Up
-- The day (since 1970-01-01, UTC) each lab result was first stored: set by
-- the database on insert, never updated; NULL for results stored before
-- this column. Its entry lag, the days from its date (LBDTC) to this day,
-- is reckoned when read (labs.Store.EntryLags): a column the writes leave
-- to its default costs them nothing, where a value bound per row cost a
-- tenth more CPU on the pilot's lab write.
--
-- SQLite adds a column with such a default only to an empty table: the
-- table is rebuilt, its view with it.
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
    SELECT subject_id, seq, test_id, value, low, high, baseline, lab_date, visit, NULL FROM lab_results;
DROP TABLE lab_results;
ALTER TABLE lab_results_dated RENAME TO lab_results;
CREATE VIEW lab_results_view AS
    SELECT s.study, s.usubjid, r.seq, r.test_id, t.test_code, t.test, t.category, t.unit,
        r.value, r.low, r.high, r.baseline, r.lab_date, r.visit
    FROM lab_results r JOIN lab_subjects s ON s.id = r.subject_id JOIN lab_tests t ON t.id = r.test_id;

-- +goose Down
ALTER TABLE lab_results DROP COLUMN stored_day;
