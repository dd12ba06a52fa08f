ALTER TABLE clients DROP COLUMN description;
ALTER TABLE clients DROP COLUMN name;
ALTER TABLE users DROP COLUMN email_verified;
