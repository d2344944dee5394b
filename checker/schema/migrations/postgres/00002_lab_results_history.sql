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
CREATE OR REPLACE FUNCTION lab_results_history_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER lab_results_history_append_only BEFORE UPDATE OR DELETE ON lab_results_history
    FOR EACH ROW EXECUTE FUNCTION lab_results_history_append_only();

-- +goose Down
DROP TABLE lab_results_history;
