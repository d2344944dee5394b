-- +goose Up
-- What a study sets: its CTCAE version and the AE terms it adds to the
-- lab ↔ AE reconciliation table (JSON object: LBTESTCD[:direction] → terms).
CREATE TABLE study_settings (
    study      TEXT PRIMARY KEY,
    criteria   TEXT NOT NULL,
    ae_terms   TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Each subject's point on the eDISH plot, refreshed by every check.
CREATE TABLE edish_points (
    study         TEXT NOT NULL,
    usubjid       TEXT NOT NULL,
    site          TEXT NOT NULL,
    alt           DOUBLE PRECISION NOT NULL,
    ast           DOUBLE PRECISION NOT NULL,
    transaminase  DOUBLE PRECISION NOT NULL,
    bilirubin     DOUBLE PRECISION NOT NULL,
    quadrant      TEXT NOT NULL,
    alt_seq       INTEGER NOT NULL,
    ast_seq       INTEGER NOT NULL,
    bilirubin_seq INTEGER NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (study, usubjid)
);

-- +goose Down
DROP TABLE edish_points;
DROP TABLE study_settings;
