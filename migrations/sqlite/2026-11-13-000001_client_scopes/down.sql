ALTER TABLE realms DROP COLUMN scopes_seeded;
ALTER TABLE clients DROP COLUMN optional_scopes;
ALTER TABLE clients DROP COLUMN default_scopes;
DROP TABLE user_attributes;
DROP TABLE protocol_mappers;
DROP TABLE client_scopes;
