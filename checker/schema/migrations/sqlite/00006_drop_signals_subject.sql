-- +goose Up
-- The unique key (study, usubjid, rule, evidence_key) starts with the same
-- columns and serves every look-up by subject; the second index only cost
-- a write per stored signal.
DROP INDEX signals_subject;

-- +goose Down
CREATE INDEX signals_subject ON signals (study, usubjid);
