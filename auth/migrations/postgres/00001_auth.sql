-- +goose Up
-- An identity id is never reused, so a user or token named in the
-- audit trail always means the same one (21 CFR 11.10(d)).
CREATE TABLE users (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL CHECK (role IN ('site', 'monitor', 'admin', 'ops')),
    password_hash TEXT,
    disabled_at   BIGINT,
    created_at    BIGINT NOT NULL
);

-- Site '*' grants every site of the study.
CREATE TABLE user_grants (
    user_id BIGINT NOT NULL REFERENCES users (id),
    study   TEXT NOT NULL,
    site    TEXT NOT NULL,
    PRIMARY KEY (user_id, study, site)
);

-- Only the SHA-256 of a token is kept: a copy of the database gives no
-- usable credential.
CREATE TABLE tokens (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id),
    token_hash   TEXT NOT NULL UNIQUE,
    label        TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
CREATE INDEX tokens_user ON tokens (user_id);

-- +goose Down
DROP TABLE tokens;
DROP TABLE user_grants;
DROP TABLE users;
