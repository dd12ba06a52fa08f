-- Credentials beside the password (Keycloak's model): one-time-password
-- generators and recovery codes, their secrets sealed under the master key.
CREATE TABLE credentials (
    id TEXT PRIMARY KEY NOT NULL,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    user_label TEXT,
    created_ms BIGINT NOT NULL,
    last_used_ms BIGINT,
    secret_data BYTEA NOT NULL,
    credential_data TEXT NOT NULL
);
CREATE INDEX credentials_user ON credentials (user_id);

-- RFC 6238 §5.2: an accepted code is never accepted again. One row per
-- credential and time step; the primary key refuses the second use on
-- every node.
CREATE TABLE otp_used_steps (
    credential_id TEXT NOT NULL REFERENCES credentials(id) ON DELETE CASCADE,
    step BIGINT NOT NULL,
    used_at_ms BIGINT NOT NULL,
    PRIMARY KEY (credential_id, step)
);
CREATE INDEX otp_used_steps_age ON otp_used_steps (used_at_ms);

-- Which credentials a session's sign-in or step-up used, so removing one
-- ends exactly those sessions.
CREATE TABLE session_credentials (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL,
    used_at_ms BIGINT NOT NULL,
    PRIMARY KEY (session_id, credential_id)
);
CREATE INDEX session_credentials_credential ON session_credentials (credential_id);

-- The realm's OTP policy (Keycloak's names and defaults) and whether a
-- second factor is off, asked of users who have one, or required.
ALTER TABLE realms ADD COLUMN otp_policy_algorithm TEXT NOT NULL DEFAULT 'HmacSHA1';
ALTER TABLE realms ADD COLUMN otp_policy_digits BIGINT NOT NULL DEFAULT 6;
ALTER TABLE realms ADD COLUMN otp_policy_period BIGINT NOT NULL DEFAULT 30;
ALTER TABLE realms ADD COLUMN otp_policy_look_ahead BIGINT NOT NULL DEFAULT 1;
ALTER TABLE realms ADD COLUMN second_factor TEXT NOT NULL DEFAULT 'optional';

-- A session's authentication level (1 password, 2 second factor) and
-- methods (RFC 8176 amr values); a code and a refresh family keep the
-- acr their tokens carry.
ALTER TABLE sessions ADD COLUMN acr_level BIGINT NOT NULL DEFAULT 1;
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE auth_codes ADD COLUMN acr TEXT;
ALTER TABLE refresh_families ADD COLUMN acr TEXT;
