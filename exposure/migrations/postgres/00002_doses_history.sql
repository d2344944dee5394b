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
CREATE OR REPLACE FUNCTION doses_history_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER doses_history_append_only BEFORE UPDATE OR DELETE ON doses_history
    FOR EACH ROW EXECUTE FUNCTION doses_history_append_only();

-- +goose Down
DROP TABLE doses_history;
