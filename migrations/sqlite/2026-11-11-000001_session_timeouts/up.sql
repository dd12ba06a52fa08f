-- Session timeouts per realm: SSO idle, remember-me (longer, also for
-- idleness), offline idle. Sessions carry their idle deadline.
ALTER TABLE realms ADD COLUMN sso_idle_s BIGINT NOT NULL DEFAULT 1800;
ALTER TABLE realms ADD COLUMN remember_me BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE realms ADD COLUMN remember_me_lifetime_s BIGINT NOT NULL DEFAULT 2592000;
ALTER TABLE realms ADD COLUMN offline_idle_s BIGINT NOT NULL DEFAULT 2592000;
ALTER TABLE sessions ADD COLUMN remember_me BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN idle_until_ms BIGINT NOT NULL DEFAULT 9000000000000000;
CREATE INDEX sessions_live ON sessions (ended_at_ms, idle_until_ms);
