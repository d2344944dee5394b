-- +goose Up
-- The audit trail (21 CFR 11.10(e)): one row per recorded action, chained by
-- SHA-256 (see package audit). seq is set by the writer, under an advisory
-- lock, as the last seq + 1: a sequence would leave gaps on rollback, and
-- gaps are how a deleted row is detected.
CREATE TABLE audit_log (
    seq       BIGINT PRIMARY KEY CHECK (seq > 0),
    at_ms     BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    role      TEXT NOT NULL,
    study     TEXT NOT NULL,
    entity    TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    action    TEXT NOT NULL,
    old_value TEXT NOT NULL,
    new_value TEXT NOT NULL,
    source    TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE INDEX audit_log_study_at ON audit_log (study, at_ms);
CREATE INDEX audit_log_study_entity ON audit_log (study, entity, entity_id);
CREATE INDEX audit_log_actor_at ON audit_log (actor, at_ms);
CREATE INDEX audit_log_at ON audit_log (at_ms);
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$ LANGUAGE plpgsql;
-- +goose StatementEnd
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- +goose Down
DROP TABLE audit_log;
DROP FUNCTION audit_log_append_only();
