-- +goose Up
-- A signal is one clinical finding (an episode of abnormal results, a
-- Hy's law case, a late SAE): the dates of the records it rests on, first
-- and last (ISO 8601 as recorded, '' when unknown), let a monitor filter
-- by when it happened.
ALTER TABLE signals ADD COLUMN first_date TEXT NOT NULL DEFAULT '';
ALTER TABLE signals ADD COLUMN last_date TEXT NOT NULL DEFAULT '';
CREATE INDEX signals_rule ON signals (study, rule, severity);

-- What each subject's last check graded, for the site key risk
-- indicators (grade ≥ 3 lab rate): results graded 0-4 with the study's
-- criteria, and those of grade 3 or more.
CREATE TABLE subject_lab_grades (
    study      TEXT NOT NULL,
    usubjid    TEXT NOT NULL,
    site       TEXT NOT NULL,
    graded     INTEGER NOT NULL,
    grade3plus INTEGER NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (study, usubjid)
);

-- +goose Down
DROP TABLE subject_lab_grades;
DROP INDEX signals_rule;
ALTER TABLE signals DROP COLUMN last_date;
ALTER TABLE signals DROP COLUMN first_date;
