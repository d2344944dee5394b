-- +goose Up
-- Every update of a lab_results row, as it was before and after; never changed.
CREATE TABLE lab_results_history (
    row_key    TEXT NOT NULL,
    study      TEXT NOT NULL,
    usubjid    TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    before     TEXT NOT NULL,
    after      TEXT NOT NULL
);
CREATE INDEX lab_results_history_subject ON lab_results_history (study, usubjid);
-- +goose StatementBegin
CREATE TRIGGER lab_results_history_no_update BEFORE UPDATE ON lab_results_history
BEGIN SELECT RAISE(ABORT, 'lab_results_history is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER lab_results_history_no_delete BEFORE DELETE ON lab_results_history
BEGIN SELECT RAISE(ABORT, 'lab_results_history is append-only'); END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE lab_results_history;
