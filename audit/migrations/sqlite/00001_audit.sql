-- +goose Up
-- The audit trail (21 CFR 11.10(e)): one row per recorded action, chained by
-- SHA-256 (see package audit). seq is set by the writer as the last seq + 1,
-- so the chain has no gaps; the primary key refuses a second writer that
-- computed the same seq.
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY CHECK (seq > 0),
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
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE audit_log;
