ALTER TABLE clients ADD COLUMN introspect_any BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE realms ADD COLUMN key_stage_s BIGINT NOT NULL DEFAULT 60;
ALTER TABLE signing_keys ADD COLUMN activate_after_ms BIGINT;
ALTER TABLE refresh_tokens ADD COLUMN access_jti TEXT;
ALTER TABLE refresh_tokens ADD COLUMN access_exp_ms BIGINT;
CREATE INDEX revocation_events_expiry ON revocation_events (expires_at_ms);

CREATE TABLE audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    realm_id TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    ip TEXT,
    detail TEXT
);
CREATE INDEX audit_events_realm_time ON audit_events (realm_id, at_ms);
