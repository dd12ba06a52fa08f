//! Protocol endpoints under `/realms/{realm}` (Keycloak's paths).

pub mod authorize;
pub mod client_auth;
pub mod discovery;
pub mod introspect;
pub mod jwks;
pub mod logout;
pub mod realm_info;
pub mod revoke;
pub mod session_status;
pub mod status;
pub mod stream;
pub mod token;
pub mod userinfo;

use std::sync::Arc;

use crate::app::Latch;
use crate::directory::RealmState;
use crate::http::errors::ApiError;

/// Paths under the issuer, as Keycloak names them.
pub const AUTH_PATH: &str = "/protocol/openid-connect/auth";
pub const TOKEN_PATH: &str = "/protocol/openid-connect/token";
pub const CERTS_PATH: &str = "/protocol/openid-connect/certs";
pub const USERINFO_PATH: &str = "/protocol/openid-connect/userinfo";
pub const REVOKE_PATH: &str = "/protocol/openid-connect/revoke";
pub const INTROSPECT_PATH: &str = "/protocol/openid-connect/token/introspect";
pub const LOGOUT_PATH: &str = "/protocol/openid-connect/logout";
pub const CHECK_SESSION_PATH: &str = "/protocol/openid-connect/login-status-iframe.html";

/// The common start of the token, revocation and introspection endpoints:
/// the realm, the form (no parameter repeated, RFC 6749 §3.2) and the
/// authenticated caller.
pub async fn protocol_form(
    state: &Latch,
    realm_name: &str,
    req: &actix_web::HttpRequest,
    body: actix_web::web::Payload,
) -> Result<
    (
        Arc<RealmState>,
        crate::http::form::Params,
        client_auth::Caller,
    ),
    ApiError,
> {
    let realm = realm(state, realm_name).await?;
    let params = crate::http::form::from_body(req, body).await?;
    if let Some(name) = params.first_repeated() {
        return Err(ApiError::invalid_request(format!(
            "parameter `{name}` is repeated"
        )));
    }
    let caller = client_auth::authenticate(state, &realm, req, &params).await?;
    Ok((realm, params, caller))
}

/// Looks the realm up; an unknown one is a 404 with a JSON error.
pub async fn realm(state: &Latch, name: &str) -> Result<Arc<RealmState>, ApiError> {
    Ok(state.directory.realm(name).await?)
}
