-- +goose Up
CREATE TABLE adverse_events (
    study         TEXT NOT NULL,
    usubjid       TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    term          TEXT NOT NULL,
    decoded_term  TEXT NOT NULL,
    body_system   TEXT NOT NULL,
    severity      TEXT NOT NULL,
    serious       BOOLEAN NOT NULL,
    start_date    TEXT NOT NULL,
    end_date      TEXT NOT NULL,
    recorded_date TEXT NOT NULL,
    PRIMARY KEY (study, usubjid, seq)
);

-- +goose Down
DROP TABLE adverse_events;
