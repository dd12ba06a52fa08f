-- Brute-force protection: consecutive failed sign-ins and the lockout
-- they lead to (doubling with each lockout, up to a cap).
ALTER TABLE users ADD COLUMN failed_logins INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN lockouts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_failure_ms BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_failure_ip TEXT;

-- An operator's per-client quota at the token, revocation and
-- introspection endpoints (requests per second; NULL = none).
ALTER TABLE clients ADD COLUMN rate_limit_per_s INTEGER;
