DROP TABLE revocation_events;
DROP TABLE signing_keys;
DROP TABLE clients;
DROP TABLE users;
DROP TABLE realms;
DROP TABLE server_meta;
