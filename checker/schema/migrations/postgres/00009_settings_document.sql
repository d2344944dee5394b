-- +goose Up
-- A study's settings are one JSON document, rules.Config as the settings
-- API reads and writes it (CTCAE version, AE terms, rule switches, the
-- out-of-range noise control): a field it lacks has its default. The
-- stored CTCAE versions and AE terms move into it.
ALTER TABLE study_settings ADD COLUMN document TEXT NOT NULL DEFAULT '{}';
UPDATE study_settings SET document = json_build_object('ctcae', criteria, 'ae_terms', ae_terms::json)::text;
ALTER TABLE study_settings DROP COLUMN criteria;
ALTER TABLE study_settings DROP COLUMN ae_terms;

-- The signal listing's indexes (BenchmarkSignalQueries, 100,000 signals
-- in 50 sites): a site user's listing is always narrowed to its sites;
-- the severity sort read a monitor's first page in 44 ms without its
-- index, 0.3 ms with; the summary counts by rule, severity and status
-- from the index alone (SQLite: 134 ms before, 40 ms). Indexes cost
-- writes: with the severity index, storing 5,000 new signals took about
-- a fifth longer; indexes on the date sorts' keys made it 1.5-3× slower,
-- so those sorts have none (30-45 ms a page).
CREATE INDEX signals_site ON signals (study, site, id);
CREATE INDEX signals_severity ON signals (study, severity, id);
DROP INDEX signals_rule;
CREATE INDEX signals_rule ON signals (study, rule, severity, status);

-- +goose Down
DROP INDEX signals_site;
DROP INDEX signals_severity;
DROP INDEX signals_rule;
CREATE INDEX signals_rule ON signals (study, rule, severity);
ALTER TABLE study_settings ADD COLUMN criteria TEXT NOT NULL DEFAULT '';
ALTER TABLE study_settings ADD COLUMN ae_terms TEXT NOT NULL DEFAULT '{}';
UPDATE study_settings SET criteria = COALESCE(document::json->>'ctcae', ''),
    ae_terms = COALESCE(NULLIF(document::json->>'ae_terms', 'null'), '{}');
ALTER TABLE study_settings DROP COLUMN document;
