-- +goose Up
-- The history records of an upload's lab results while they are staged
-- (see checker/labs/staging.go), under the name the upload stages them
-- under in `study`; publishing the upload moves them to
-- lab_results_history in its short final transaction.
CREATE TABLE lab_staged_history (
    row_key    TEXT NOT NULL,
    study      TEXT NOT NULL,
    usubjid    TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    before     TEXT NOT NULL,
    after      TEXT NOT NULL
);
CREATE INDEX lab_staged_history_study ON lab_staged_history (study);

-- +goose Down
DROP TABLE lab_staged_history;
