//! Protocol endpoints under `/realms/{realm}` (Keycloak's paths).

pub mod authorize;
pub mod client_auth;
pub mod discovery;
pub mod jwks;
pub mod token;
pub mod userinfo;

use std::sync::Arc;

use crate::directory::RealmState;
use crate::http::errors::ApiError;
use crate::http::AppState;

/// Paths under the issuer, as Keycloak names them.
pub const AUTH_PATH: &str = "/protocol/openid-connect/auth";
pub const TOKEN_PATH: &str = "/protocol/openid-connect/token";
pub const CERTS_PATH: &str = "/protocol/openid-connect/certs";
pub const USERINFO_PATH: &str = "/protocol/openid-connect/userinfo";

/// Looks the realm up; an unknown one is a 404 with a JSON error.
pub async fn realm(state: &AppState, name: &str) -> Result<Arc<RealmState>, ApiError> {
    Ok(state.directory.realm(name).await?)
}
