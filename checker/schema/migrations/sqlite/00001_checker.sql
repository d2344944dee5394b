-- +goose Up
CREATE TABLE lab_results (
    study     TEXT NOT NULL,
    usubjid   TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    test_code TEXT NOT NULL,
    test      TEXT NOT NULL,
    category  TEXT NOT NULL,
    value     DOUBLE PRECISION,
    unit      TEXT NOT NULL,
    low       DOUBLE PRECISION,
    high      DOUBLE PRECISION,
    baseline  BOOLEAN NOT NULL,
    lab_date  TEXT NOT NULL,
    visit     TEXT NOT NULL,
    PRIMARY KEY (study, usubjid, seq)
);

CREATE TABLE signals (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    study      TEXT NOT NULL,
    site       TEXT NOT NULL,
    usubjid    TEXT NOT NULL,
    rule       TEXT NOT NULL,
    severity   INTEGER NOT NULL,
    evidence_key TEXT NOT NULL,
    evidence   TEXT NOT NULL,
    message    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (study, usubjid, rule, evidence_key)
);
CREATE INDEX signals_listing ON signals (study, id);
CREATE INDEX signals_subject ON signals (study, usubjid);

-- +goose Down
DROP TABLE signals;
DROP TABLE lab_results;
