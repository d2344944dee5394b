-- +goose Up
-- A study's settings are one JSON document, rules.Config as the settings
-- API reads and writes it (CTCAE version, AE terms, rule switches, the
-- out-of-range noise control): a field it lacks has its default. The
-- stored CTCAE versions and AE terms move into it.
ALTER TABLE study_settings ADD COLUMN document TEXT NOT NULL DEFAULT '{}';
UPDATE study_settings SET document = json_build_object('ctcae', criteria, 'ae_terms', ae_terms::json)::text;
ALTER TABLE study_settings DROP COLUMN criteria;
ALTER TABLE study_settings DROP COLUMN ae_terms;

-- A site user's listings are always narrowed to their sites.
CREATE INDEX signals_site ON signals (study, site, id);

-- +goose Down
DROP INDEX signals_site;
ALTER TABLE study_settings ADD COLUMN criteria TEXT NOT NULL DEFAULT '';
ALTER TABLE study_settings ADD COLUMN ae_terms TEXT NOT NULL DEFAULT '{}';
UPDATE study_settings SET criteria = COALESCE(document::json->>'ctcae', ''),
    ae_terms = COALESCE(NULLIF(document::json->>'ae_terms', 'null'), '{}');
ALTER TABLE study_settings DROP COLUMN document;
