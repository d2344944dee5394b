-- +goose Up
CREATE TABLE subjects (
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
    PRIMARY KEY (study, usubjid)
);
CREATE INDEX subjects_site ON subjects (study, site);

-- +goose Down
DROP TABLE subjects;
