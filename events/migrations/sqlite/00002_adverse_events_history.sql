-- +goose Up
-- Every update of a adverse_events row, as it was before and after; never changed.
CREATE TABLE adverse_events_history (
    row_key    TEXT NOT NULL,
    study      TEXT NOT NULL,
    usubjid    TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    before     TEXT NOT NULL,
    after      TEXT NOT NULL
);
CREATE INDEX adverse_events_history_subject ON adverse_events_history (study, usubjid);
-- +goose StatementBegin
CREATE TRIGGER adverse_events_history_no_update BEFORE UPDATE ON adverse_events_history
BEGIN SELECT RAISE(ABORT, 'adverse_events_history is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER adverse_events_history_no_delete BEFORE DELETE ON adverse_events_history
BEGIN SELECT RAISE(ABORT, 'adverse_events_history is append-only'); END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE adverse_events_history;
