//! The domain error: what went wrong, in words safe to show a caller, and
//! the one table (`Error::classify`) that says which HTTP status and OAuth
//! error code it is. The JSON renderer (`http::errors`) and the HTML
//! renderer (`http::pages`) both use the table, so they cannot disagree.

use crate::crypto::MasterKeyError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("signing key error: {0}")]
    Key(String),
    #[error(transparent)]
    MasterKey(#[from] MasterKeyError),
    #[error("{0}")]
    Unavailable(String),
    /// A refusal with its own OAuth error code (RFC 6749 §5.2): a grant,
    /// a client authentication, a scope.
    #[error("{description}")]
    OAuth {
        error: &'static str,
        description: String,
    },
}

/// How an error is shown: HTTP status, error code, and a message safe for
/// the caller (internal causes are logged by `classify`, never shown).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl Error {
    pub fn oauth(error: &'static str, description: impl Into<String>) -> Error {
        Error::OAuth {
            error,
            description: description.into(),
        }
    }

    /// The error table.
    pub fn classify(&self) -> Classified {
        let (status, code, message) = match self {
            Error::NotFound(what) => (404, "not_found", format!("{what} not found")),
            Error::Invalid(msg) => (400, "invalid_request", msg.clone()),
            Error::Conflict(msg) => (409, "conflict", msg.clone()),
            Error::Unavailable(msg) => (503, "temporarily_unavailable", msg.clone()),
            // RFC 6749 §5.2: a failed client authentication is 401.
            Error::OAuth { error, description } if *error == "invalid_client" => {
                (401, "invalid_client", description.clone())
            }
            Error::OAuth { error, description } => (400, *error, description.clone()),
            Error::Store(cause) => {
                tracing::error!(error = %cause, "storage failure");
                (
                    503,
                    "temporarily_unavailable",
                    "the database is unavailable; try again shortly".to_string(),
                )
            }
            Error::Key(_) | Error::MasterKey(_) => {
                tracing::error!(error = %self, "internal failure");
                (
                    500,
                    "server_error",
                    "the server could not complete the request".to_string(),
                )
            }
        };
        Classified {
            status,
            code,
            message,
        }
    }
}

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        Error::Store(StoreError::Query(e))
    }
}

impl From<josekit::JoseError> for Error {
    fn from(e: josekit::JoseError) -> Self {
        Error::Key(e.to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
