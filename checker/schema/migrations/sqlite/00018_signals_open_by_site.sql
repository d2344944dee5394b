-- +goose Up
-- The overview counts a study's open findings site by site, and a site
-- user's summary counts its sites' only; no index held site with rule,
-- severity and status, so both read every finding's row. This index
-- answers them alone: on 50 sites and 290,000 findings (SQLite) the count
-- by site fell from 250 ms to 40 ms of CPU, one site's from 100 ms to 1 ms.
CREATE INDEX signals_open_by_site ON signals (study, site, status, rule, severity);

-- +goose Down
DROP INDEX signals_open_by_site;
