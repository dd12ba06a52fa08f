//! What this server is and supports, as Keycloak's admin clients ask for it
//! (`/admin/serverinfo`): the version, the protocol, the protocol mapper
//! types with their configuration keys, the mappers a realm starts with,
//! the password policies and the signature algorithms.

use crate::app::Latch;
use crate::directory::scopes::{self, BuiltinMapper, MapperType};
use crate::keys::Alg;
use crate::login::policy::POLICY_TYPES;

/// A password policy an operator can set: id, display name, configuration
/// type, default value.
pub type PolicyType = (&'static str, &'static str, &'static str, &'static str);

/// What the server supports.
pub struct ServerInfo {
    pub version: &'static str,
    /// The server's clock (ms since the epoch).
    pub now_ms: i64,
    /// The login protocol: always `openid-connect`.
    pub protocol: &'static str,
    pub mapper_types: Vec<MapperType>,
    /// (scope, mapper) pairs every realm starts with.
    pub builtin_mappers: Vec<(&'static str, BuiltinMapper)>,
    pub password_policies: Vec<PolicyType>,
    /// Token signature algorithms.
    pub signature_algorithms: Vec<&'static str>,
}

/// What this server supports.
pub fn info(latch: &Latch) -> ServerInfo {
    ServerInfo {
        version: env!("CARGO_PKG_VERSION"),
        now_ms: latch.clock.now_ms(),
        protocol: "openid-connect",
        mapper_types: scopes::mapper_types(),
        builtin_mappers: scopes::builtin_mappers(),
        password_policies: POLICY_TYPES.to_vec(),
        signature_algorithms: [Alg::ES256, Alg::RS256, Alg::EdDSA]
            .iter()
            .map(|a| a.as_str())
            .collect(),
    }
}
