//! Who may call the admin API: the bearer of a live access token of realm
//! `master` whose `realm_access.roles` holds `admin`. The token is checked
//! like any other (signature, type, lifetime, revocation index), so ending
//! the administrator's session or disabling them takes the API away at once.

use std::future::Future;
use std::pin::Pin;

use actix_web::{web, FromRequest, HttpRequest};

use crate::app::Latch;
use crate::directory::bootstrap::{ADMIN_ROLE, MASTER_REALM};
use crate::http::errors::ApiError;
use crate::revocation::cascade::Actor;
use crate::tokens::AccessClaims;

/// An authorized administrator.
#[derive(Debug, Clone)]
pub struct Admin {
    pub user_id: String,
    pub username: String,
    /// The session the token belongs to.
    pub sid: Option<String>,
    pub actor: Actor,
}

impl Admin {
    /// Checks a bearer token; the error is the response to send.
    pub async fn from_token(
        state: &Latch,
        token: &str,
        ip: Option<String>,
    ) -> Result<Admin, ApiError> {
        let realm = state.directory.realm(MASTER_REALM).await?;
        let claims: AccessClaims = state
            .access
            .check(&realm, token)
            .map_err(|e| ApiError::unauthorized(e.to_string()))?;
        if !claims.has_realm_role(ADMIN_ROLE) {
            return Err(ApiError::forbidden(
                "the token does not carry the `admin` role of realm `master`",
            ));
        }
        let username = claims
            .username()
            .map(str::to_string)
            .unwrap_or_else(|| claims.sub.clone());
        Ok(Admin {
            actor: Actor::Admin {
                user_id: claims.sub.clone().into(),
                username: username.clone(),
                ip,
            },
            user_id: claims.sub,
            sid: claims.sid,
            username,
        })
    }
}

/// The token in `Authorization: Bearer …` (RFC 6750 §2.1).
pub fn bearer(req: &HttpRequest) -> Option<&str> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty()).then(|| token.trim())
}

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Admin, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<Latch>>()
                .ok_or_else(|| ApiError::unavailable("the server is starting"))?;
            let token = bearer(&req)
                .ok_or_else(|| ApiError::unauthorized("a bearer access token is required"))?;
            let ip = req.peer_addr().map(|a| a.ip().to_string());
            Admin::from_token(state, token, ip).await
        })
    }
}
