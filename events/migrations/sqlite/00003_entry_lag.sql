-- +goose Up
-- How many days after its onset (AESTDTC) each event was first stored;
-- NULL when the onset is partial or missing, or the event was stored
-- before this column. Set on insert, never updated.
ALTER TABLE adverse_events ADD COLUMN entry_lag INTEGER;

-- +goose Down
ALTER TABLE adverse_events DROP COLUMN entry_lag;
