-- +goose Up
-- A subject's lab version moves with every write of its lab results, in
-- the same transaction. The check workers keep the lab results of a
-- subject they last read or were handed, and use them again while its
-- version has not moved. Every subject with lab results has a row.
CREATE TABLE lab_versions (
    study   TEXT NOT NULL,
    usubjid TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (study, usubjid)
);
INSERT INTO lab_versions (study, usubjid, version) SELECT DISTINCT study, usubjid, 1 FROM lab_results;

-- +goose Down
DROP TABLE lab_versions;
