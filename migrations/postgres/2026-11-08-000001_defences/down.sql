ALTER TABLE clients DROP COLUMN rate_limit_per_s;
ALTER TABLE users DROP COLUMN last_failure_ip;
ALTER TABLE users DROP COLUMN last_failure_ms;
ALTER TABLE users DROP COLUMN locked_until_ms;
ALTER TABLE users DROP COLUMN lockouts;
ALTER TABLE users DROP COLUMN failed_logins;
