-- +goose Up
-- The day (since 1970-01-01, UTC) each lab result was first stored: set by
-- the database on insert, never updated; NULL for results stored before
-- this column. Its entry lag, the days from its date (LBDTC) to this day,
-- is reckoned when read (labs.Store.EntryLags): a column the writes leave
-- to its default costs them nothing, where a value bound per row cost a
-- tenth more CPU on the pilot's lab write.
ALTER TABLE lab_results ADD COLUMN stored_day INTEGER DEFAULT (unixepoch() / 86400);

-- +goose Down
ALTER TABLE lab_results DROP COLUMN stored_day;
