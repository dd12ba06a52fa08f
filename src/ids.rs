//! Identifiers that cross function boundaries, as types, so that a public
//! OAuth `client_id` is never passed where a client's row id is meant.

use std::fmt;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(value: String) -> Self {
                $name(value)
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                $name(value.to_string())
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

id!(
    /// A realm's name, the last segment of its issuer (`demo`).
    RealmName
);
id!(
    /// A client's public OAuth `client_id` (`demo-app`).
    ClientId
);
id!(
    /// A client's row id in the database (what tokens' cut-offs key on).
    ClientRowId
);
id!(
    /// A user's id, the `sub` of their tokens.
    UserId
);
id!(
    /// A browser session's id, the `sid` of its tokens.
    Sid
);
id!(
    /// An access token's `jti`.
    Jti
);
