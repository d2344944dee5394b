-- +goose Up
-- Site key risk indicators: each computation is a snapshot of one study
-- as of its data cut, so history and "flagged N times in a row" can be
-- read back. Rows are never changed.
CREATE TABLE kri_snapshots (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    study       TEXT NOT NULL,
    data_cut    BIGINT NOT NULL,
    computed_at BIGINT NOT NULL
);
CREATE INDEX kri_snapshots_study ON kri_snapshots (study, id);

-- One KRI of a snapshot: the study's metric (μ), the over-dispersion φ and
-- the thresholds and minimum denominator it was flagged with (JSON array).
CREATE TABLE kri_analyses (
    snapshot_id     BIGINT NOT NULL,
    kri             TEXT NOT NULL,
    overall         DOUBLE PRECISION NOT NULL,
    factor          DOUBLE PRECISION NOT NULL,
    thresholds      TEXT NOT NULL,
    min_denominator DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (snapshot_id, kri)
);

-- One site's KRI in a snapshot; score and flag are NULL where the site
-- has too little data (gsm leaves them NA). streak is how many snapshots
-- in a row, this one included, flagged it (0 when this one did not).
CREATE TABLE kri_site_results (
    snapshot_id BIGINT NOT NULL,
    study       TEXT NOT NULL,
    kri         TEXT NOT NULL,
    site        TEXT NOT NULL,
    numerator   DOUBLE PRECISION NOT NULL,
    denominator DOUBLE PRECISION NOT NULL,
    metric      DOUBLE PRECISION NOT NULL,
    score       DOUBLE PRECISION,
    flag        INTEGER,
    streak      INTEGER NOT NULL,
    PRIMARY KEY (snapshot_id, kri, site)
);
CREATE INDEX kri_site_results_history ON kri_site_results (study, kri, site, snapshot_id);

CREATE TABLE kri_risk_scores (
    snapshot_id BIGINT NOT NULL,
    site        TEXT NOT NULL,
    score       DOUBLE PRECISION NOT NULL,
    raw         DOUBLE PRECISION NOT NULL,
    max_raw     DOUBLE PRECISION NOT NULL,
    red         INTEGER NOT NULL,
    amber       INTEGER NOT NULL,
    PRIMARY KEY (snapshot_id, site)
);

CREATE TABLE kri_qtl_results (
    snapshot_id BIGINT NOT NULL,
    qtl         TEXT NOT NULL,
    numerator   DOUBLE PRECISION NOT NULL,
    denominator DOUBLE PRECISION NOT NULL,
    metric      DOUBLE PRECISION NOT NULL,
    limit_value DOUBLE PRECISION NOT NULL,
    exceeded    BOOLEAN NOT NULL,
    PRIMARY KEY (snapshot_id, qtl)
);

-- What a study changed of the KRI defaults (JSON: kri.Settings).
CREATE TABLE kri_settings (
    study      TEXT PRIMARY KEY,
    settings   TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE kri_settings;
DROP TABLE kri_qtl_results;
DROP TABLE kri_risk_scores;
DROP TABLE kri_site_results;
DROP TABLE kri_analyses;
DROP TABLE kri_snapshots;
