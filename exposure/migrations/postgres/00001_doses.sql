-- +goose Up
CREATE TABLE doses (
    study      TEXT NOT NULL,
    usubjid    TEXT NOT NULL,
    seq        INTEGER NOT NULL,
    treatment  TEXT NOT NULL,
    dose       DOUBLE PRECISION,
    unit       TEXT NOT NULL,
    route      TEXT NOT NULL,
    start_date TEXT NOT NULL,
    end_date   TEXT NOT NULL,
    PRIMARY KEY (study, usubjid, seq)
);

-- +goose Down
DROP TABLE doses;
