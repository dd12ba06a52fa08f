DROP TABLE user_groups;
DROP TABLE group_roles;
DROP TABLE groups;
DROP TABLE role_composites;
DROP TABLE user_client_roles;
DROP TABLE client_roles;
