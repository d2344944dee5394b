-- +goose Up
-- How many days after its date (LBDTC) each lab result was first stored;
-- NULL when the date is partial or missing, or the result was stored
-- before this column. Set on insert, never updated: a site KRI counts
-- results entered late (labs.Store.EntryLags).
ALTER TABLE lab_results ADD COLUMN entry_lag INTEGER;

-- +goose Down
ALTER TABLE lab_results DROP COLUMN entry_lag;
