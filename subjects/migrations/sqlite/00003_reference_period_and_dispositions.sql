-- +goose Up
-- DM's reference period (RFSTDTC, RFENDTC); empty for subjects stored before.
ALTER TABLE subjects ADD COLUMN ref_start TEXT NOT NULL DEFAULT '';
ALTER TABLE subjects ADD COLUMN ref_end TEXT NOT NULL DEFAULT '';

-- Disposition events (SDTM DS): randomization, completion, discontinuation.
CREATE TABLE dispositions (
    study        TEXT NOT NULL,
    usubjid      TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    term         TEXT NOT NULL,
    decoded_term TEXT NOT NULL,
    category     TEXT NOT NULL,
    epoch        TEXT NOT NULL,
    start_date   TEXT NOT NULL,
    PRIMARY KEY (study, usubjid, seq)
);

-- Every update of a dispositions row, as it was before and after; never changed.
CREATE TABLE dispositions_history (
    row_key    TEXT NOT NULL,
    study      TEXT NOT NULL,
    usubjid    TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    before     TEXT NOT NULL,
    after      TEXT NOT NULL
);
CREATE INDEX dispositions_history_subject ON dispositions_history (study, usubjid);
-- +goose StatementBegin
CREATE TRIGGER dispositions_history_no_update BEFORE UPDATE ON dispositions_history
BEGIN SELECT RAISE(ABORT, 'dispositions_history is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER dispositions_history_no_delete BEFORE DELETE ON dispositions_history
BEGIN SELECT RAISE(ABORT, 'dispositions_history is append-only'); END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE dispositions_history;
DROP TABLE dispositions;
ALTER TABLE subjects DROP COLUMN ref_end;
ALTER TABLE subjects DROP COLUMN ref_start;
