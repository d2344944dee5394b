-- +goose Up
-- Every update of a subjects row, as it was before and after; never changed.
CREATE TABLE subjects_history (
    row_key    TEXT NOT NULL,
    study      TEXT NOT NULL,
    usubjid    TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    before     TEXT NOT NULL,
    after      TEXT NOT NULL
);
CREATE INDEX subjects_history_subject ON subjects_history (study, usubjid);
-- +goose StatementBegin
CREATE TRIGGER subjects_history_no_update BEFORE UPDATE ON subjects_history
BEGIN SELECT RAISE(ABORT, 'subjects_history is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER subjects_history_no_delete BEFORE DELETE ON subjects_history
BEGIN SELECT RAISE(ABORT, 'subjects_history is append-only'); END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE subjects_history;
