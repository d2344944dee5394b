-- +goose Up
-- Every update of a doses row, as it was before and after; never changed.
CREATE TABLE doses_history (
    row_key    TEXT NOT NULL,
    study      TEXT NOT NULL,
    usubjid    TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    before     TEXT NOT NULL,
    after      TEXT NOT NULL
);
CREATE INDEX doses_history_subject ON doses_history (study, usubjid);
-- +goose StatementBegin
CREATE TRIGGER doses_history_no_update BEFORE UPDATE ON doses_history
BEGIN SELECT RAISE(ABORT, 'doses_history is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER doses_history_no_delete BEFORE DELETE ON doses_history
BEGIN SELECT RAISE(ABORT, 'doses_history is append-only'); END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE doses_history;
