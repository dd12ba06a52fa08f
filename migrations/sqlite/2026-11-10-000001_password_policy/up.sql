-- A realm's password policy, in Keycloak's syntax
-- (e.g. "length(8) and notUsername and notCommon and passwordHistory(3)").
ALTER TABLE realms ADD COLUMN password_policy TEXT NOT NULL DEFAULT 'length(8) and notUsername and notCommon';

-- Earlier password hashes, for passwordHistory(N).
CREATE TABLE password_history (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    password_hash TEXT NOT NULL,
    replaced_at_ms BIGINT NOT NULL
);
CREATE INDEX password_history_user ON password_history (user_id, replaced_at_ms);
