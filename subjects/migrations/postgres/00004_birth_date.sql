-- +goose Up
-- DM's birth date (BRTHDTC), for age at collection to the day; empty for
-- subjects stored before, and where DM does not collect it.
ALTER TABLE subjects ADD COLUMN birth_date TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE subjects DROP COLUMN birth_date;
