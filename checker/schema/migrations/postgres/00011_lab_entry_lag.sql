-- +goose Up
-- The day (since 1970-01-01, UTC) each lab result was first stored: set by
-- the database on insert (the transaction's day), never updated; NULL for
-- results stored before this column. Its entry lag, the days from its date
-- (LBDTC) to this day, is reckoned when read (labs.Store.EntryLags): a
-- column the writes (and COPY) leave to its default costs them nothing.
-- The default is set after the column is added: given with ADD COLUMN,
-- it would fill the rows already stored too.
ALTER TABLE lab_results ADD COLUMN stored_day INTEGER;
ALTER TABLE lab_results ALTER COLUMN stored_day SET DEFAULT ((now() AT TIME ZONE 'UTC')::date - DATE '1970-01-01');

-- +goose Down
ALTER TABLE lab_results DROP COLUMN stored_day;
