-- Realm roles and who holds them (the `admin` role of realm `master`
-- authorizes the admin API and console).
CREATE TABLE roles (
    id TEXT PRIMARY KEY NOT NULL,
    realm_id TEXT NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    created_at_ms BIGINT NOT NULL,
    UNIQUE (realm_id, name)
);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role_id TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX user_roles_role ON user_roles (role_id);

-- Steps a user must take at the next sign-in, e.g. UPDATE_PASSWORD after
-- an administrator set a temporary password.
ALTER TABLE users ADD COLUMN required_actions TEXT NOT NULL DEFAULT '';

-- Routine secret rotation may let the previous secret work a little longer.
ALTER TABLE clients ADD COLUMN previous_secret_hash TEXT;
ALTER TABLE clients ADD COLUMN previous_secret_until_ms BIGINT NOT NULL DEFAULT 0;

