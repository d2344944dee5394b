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
CREATE OR REPLACE FUNCTION subjects_history_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER subjects_history_append_only BEFORE UPDATE OR DELETE ON subjects_history
    FOR EACH ROW EXECUTE FUNCTION subjects_history_append_only();

-- +goose Down
DROP TABLE subjects_history;
