-- Client scopes: named sets of claim mappers a client gets by default or
-- on request; user attributes for the attribute mapper. A client names
-- its scopes in two JSON lists; a realm marks which scopes new clients
-- get (realm_default: 'default' or 'optional'). Realms created before
-- this receive the built-in scopes at the next start (scopes_seeded).
CREATE TABLE client_scopes (
    id TEXT PRIMARY KEY NOT NULL,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    include_in_token_scope BOOLEAN NOT NULL,
    consent_text TEXT,
    realm_default TEXT,
    created_at_ms BIGINT NOT NULL,
    UNIQUE (realm_id, name)
);

CREATE TABLE protocol_mappers (
    id TEXT PRIMARY KEY NOT NULL,
    scope_id TEXT NOT NULL REFERENCES client_scopes(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    mapper TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    UNIQUE (scope_id, name)
);

CREATE TABLE user_attributes (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (user_id, name, position)
);

ALTER TABLE clients ADD COLUMN default_scopes TEXT NOT NULL DEFAULT '["profile","email","roles","groups"]';
ALTER TABLE clients ADD COLUMN optional_scopes TEXT NOT NULL DEFAULT '["offline_access"]';
ALTER TABLE realms ADD COLUMN scopes_seeded BOOLEAN NOT NULL DEFAULT FALSE;
