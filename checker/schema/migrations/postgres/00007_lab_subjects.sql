-- +goose Up
-- A lab result refers to its subject by id, as to its test: with study,
-- USUBJID and the test's four strings gone, a row is half as wide.
--
-- A subject's version moves with every write of its lab results, in the
-- same transaction. The check workers keep the lab results they last
-- read or were handed, and use them again while the version has not
-- moved. Every subject with lab results has a row; rows are never
-- deleted, so ids are never reused.
CREATE TABLE lab_subjects (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    study   TEXT NOT NULL,
    usubjid TEXT NOT NULL,
    version BIGINT NOT NULL,
    UNIQUE (study, usubjid)
);
INSERT INTO lab_subjects (study, usubjid, version)
    SELECT DISTINCT study, usubjid, 1 FROM lab_results ORDER BY 1, 2;
ALTER TABLE lab_results ADD COLUMN subject_id BIGINT;
UPDATE lab_results r SET subject_id = s.id FROM lab_subjects s WHERE s.study = r.study AND s.usubjid = r.usubjid;
ALTER TABLE lab_results ALTER COLUMN subject_id SET NOT NULL;
ALTER TABLE lab_results DROP CONSTRAINT lab_results_pkey;
ALTER TABLE lab_results DROP COLUMN study, DROP COLUMN usubjid;
ALTER TABLE lab_results ADD PRIMARY KEY (subject_id, seq);
-- Lab results as they read: for the store's change detection, and for
-- anyone querying the database.
CREATE VIEW lab_results_view AS
    SELECT s.study, s.usubjid, r.seq, r.test_id, t.test_code, t.test, t.category, t.unit,
        r.value, r.low, r.high, r.baseline, r.lab_date, r.visit
    FROM lab_results r JOIN lab_subjects s ON s.id = r.subject_id JOIN lab_tests t ON t.id = r.test_id;

-- +goose Down
DROP VIEW lab_results_view;
ALTER TABLE lab_results ADD COLUMN study TEXT, ADD COLUMN usubjid TEXT;
UPDATE lab_results r SET study = s.study, usubjid = s.usubjid FROM lab_subjects s WHERE s.id = r.subject_id;
ALTER TABLE lab_results ALTER COLUMN study SET NOT NULL, ALTER COLUMN usubjid SET NOT NULL;
ALTER TABLE lab_results DROP CONSTRAINT lab_results_pkey;
ALTER TABLE lab_results DROP COLUMN subject_id;
ALTER TABLE lab_results ADD PRIMARY KEY (study, usubjid, seq);
DROP TABLE lab_subjects;
