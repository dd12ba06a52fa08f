-- Whether a user's email address is known to be theirs (Keycloak's
-- `emailVerified`, the `email_verified` claim); a client's display name
-- (shown on the consent page) and description.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN name TEXT;
ALTER TABLE clients ADD COLUMN description TEXT;
