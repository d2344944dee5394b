-- +goose Up
-- Concomitant medications (SDTM CM).
CREATE TABLE con_meds (
    study        TEXT NOT NULL,
    usubjid      TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    term         TEXT NOT NULL,
    decoded_term TEXT NOT NULL,
    start_date   TEXT NOT NULL,
    end_date     TEXT NOT NULL,
    PRIMARY KEY (study, usubjid, seq)
);

-- Every update of a con_meds row, as it was before and after; never changed.
CREATE TABLE con_meds_history (
    row_key    TEXT NOT NULL,
    study      TEXT NOT NULL,
    usubjid    TEXT NOT NULL,
    changed_at BIGINT NOT NULL,
    before     TEXT NOT NULL,
    after      TEXT NOT NULL
);
CREATE INDEX con_meds_history_subject ON con_meds_history (study, usubjid);
-- +goose StatementBegin
CREATE TRIGGER con_meds_history_no_update BEFORE UPDATE ON con_meds_history
BEGIN SELECT RAISE(ABORT, 'con_meds_history is append-only'); END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER con_meds_history_no_delete BEFORE DELETE ON con_meds_history
BEGIN SELECT RAISE(ABORT, 'con_meds_history is append-only'); END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE con_meds_history;
DROP TABLE con_meds;
