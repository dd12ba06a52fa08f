CREATE TABLE server_meta (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE realms (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    enabled BOOLEAN NOT NULL DEFAULT 1,
    access_token_lifetime_s BIGINT NOT NULL,
    id_token_lifetime_s BIGINT NOT NULL,
    refresh_token_lifetime_s BIGINT NOT NULL,
    offline_token_lifetime_s BIGINT NOT NULL,
    session_lifetime_s BIGINT NOT NULL,
    refresh_grace_ms BIGINT NOT NULL DEFAULT 0,
    key_rotation_interval_s BIGINT NOT NULL DEFAULT 0,
    not_before_ms BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    email TEXT,
    first_name TEXT,
    last_name TEXT,
    enabled BOOLEAN NOT NULL DEFAULT 1,
    password_hash TEXT,
    not_before_ms BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    UNIQUE (realm_id, username)
);

CREATE TABLE clients (
    id TEXT PRIMARY KEY NOT NULL,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    secret_hash TEXT,
    redirect_uris TEXT NOT NULL,
    post_logout_redirect_uris TEXT NOT NULL,
    grant_types TEXT NOT NULL,
    backchannel_logout_uri TEXT,
    consent_required BOOLEAN NOT NULL DEFAULT 0,
    default_audience TEXT,
    id_token_alg TEXT NOT NULL,
    enabled BOOLEAN NOT NULL DEFAULT 1,
    not_before_ms BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    UNIQUE (realm_id, client_id)
);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY NOT NULL,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    alg TEXT NOT NULL,
    status TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    private_key BLOB NOT NULL,
    created_at_ms BIGINT NOT NULL,
    activated_at_ms BIGINT,
    retire_after_ms BIGINT,
    retired_at_ms BIGINT
);
CREATE INDEX signing_keys_realm ON signing_keys (realm_id, status);

CREATE TABLE revocation_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    realm_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    not_before_ms BIGINT,
    expires_at_ms BIGINT,
    created_at_ms BIGINT NOT NULL
);
