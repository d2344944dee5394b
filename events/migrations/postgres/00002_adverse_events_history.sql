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
CREATE OR REPLACE FUNCTION adverse_events_history_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER adverse_events_history_append_only BEFORE UPDATE OR DELETE ON adverse_events_history
    FOR EACH ROW EXECUTE FUNCTION adverse_events_history_append_only();

-- +goose Down
DROP TABLE adverse_events_history;
