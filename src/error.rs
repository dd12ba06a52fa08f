//! The domain error: what went wrong, in words safe to show a caller. The
//! web layer (`http::errors`) maps it to an OAuth JSON error or an HTML page.

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
