-- +goose Up
-- What an eDISH point carries besides its coordinates — the arm, the
-- peak ALP, each peak's date, the mDISH point — as one JSON document
-- (signals.edishDetail), so the plot can grow without a column each.
ALTER TABLE edish_points ADD COLUMN detail TEXT NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE edish_points DROP COLUMN detail;
