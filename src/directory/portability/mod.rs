//! Realm export and import in Keycloak's realm JSON: settings, clients,
//! realm and client roles (with composites), groups, users with their
//! password credentials. Keycloak's PBKDF2 hashes import as they are and
//! are upgraded to argon2id at the user's first sign-in; argon2 hashes
//! travel in Keycloak's argon2 credential format. Fields Latch does not
//! know are reported, never silently dropped. Client secrets are stored as
//! keyed hashes and cannot be exported: an imported confidential client
//! keeps the secret the file carries, or gets a new one (reported).

mod export;
mod import;

pub use export::{export, partial as partial_export, MASKED_SECRET};
pub use import::{import, ImportReport};

use super::bootstrap::{ACCOUNT_CLIENT, ADMIN_CLI, CONSOLE_CLIENT};

/// Latch's own clients: every realm has them, so files neither carry nor
/// replace them.
const BUILT_IN: [&str; 3] = [ADMIN_CLI, CONSOLE_CLIENT, ACCOUNT_CLIENT];
