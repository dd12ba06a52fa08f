//! Who acts: the audit trail records it for every change, and operations
//! decide what an actor may do from it.

use std::fmt;

use crate::ids::{ClientId, Sid, UserId};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// An administrator of realm `master`, through the admin API or the console.
    Admin {
        user_id: UserId,
        username: String,
        ip: Option<String>,
    },
    /// The operator at the command line.
    Cli,
    /// The user themselves (account page, sign-out, a required action).
    User {
        user_id: UserId,
        sid: Option<Sid>,
        ip: Option<String>,
    },
    /// A client acting for itself (revocation, token grants, streams).
    Client {
        client_id: ClientId,
        ip: Option<String>,
    },
    /// A named background task of Latch (expiry, housekeeping, an outbox).
    System { task: &'static str },
    /// A caller nobody has authenticated (sign-out without a session).
    Anonymous { ip: Option<String> },
}

impl Actor {
    /// The `actor` column of the audit trail.
    pub fn audit_name(&self) -> String {
        self.to_string()
    }

    /// The caller's address, when one came with the request.
    pub fn ip(&self) -> Option<String> {
        match self {
            Actor::Admin { ip, .. }
            | Actor::User { ip, .. }
            | Actor::Client { ip, .. }
            | Actor::Anonymous { ip } => ip.clone(),
            Actor::Cli | Actor::System { .. } => None,
        }
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Actor::Admin { username, .. } => write!(f, "admin:{username}"),
            Actor::Cli => f.write_str("cli"),
            Actor::User { user_id, .. } => write!(f, "user:{user_id}"),
            Actor::Client { client_id, .. } => write!(f, "client:{client_id}"),
            Actor::System { .. } => f.write_str("system"),
            Actor::Anonymous { .. } => f.write_str("user"),
        }
    }
}
