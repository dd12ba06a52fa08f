//! Token introspection (RFC 7662) at `/protocol/openid-connect/token/introspect`.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::app::Latch;
use crate::directory::{Client, RealmState};
use crate::http::errors::ApiError;
use crate::operations;
use crate::tokens::refresh_token::{self, Shape};
use crate::tokens::AccessClaims;

#[derive(Serialize, Default)]
struct Introspection {
    active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iat: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    aud: Option<crate::tokens::Audience>,
    #[serde(skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jti: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sid: Option<String>,
    /// An access token's mapped claims (roles, groups, custom), as
    /// Keycloak's introspection shows them.
    #[serde(flatten)]
    mapped: serde_json::Map<String, serde_json::Value>,
}

/// Who may learn about an access token: the client it was issued to,
/// clients named in its audience, and resource servers flagged to.
fn may_see_access(caller: &Client, claims: &AccessClaims) -> bool {
    caller.client_id == claims.client_id
        || claims.aud.contains(&caller.client_id)
        || caller.introspect_any
}

fn access(claims: AccessClaims) -> Introspection {
    let username = claims.username().map(str::to_string);
    Introspection {
        active: true,
        scope: Some(claims.scope),
        client_id: Some(claims.client_id),
        username,
        token_type: Some("Bearer".into()),
        exp: Some(claims.exp),
        iat: Some(claims.iat),
        nbf: Some(claims.iat),
        sub: Some(claims.sub),
        aud: Some(claims.aud),
        iss: Some(claims.iss),
        jti: Some(claims.jti),
        sid: claims.sid,
        mapped: claims.mapped,
    }
}

/// A refresh token is active while its family lives, it has not been
/// rotated, and (online) its session lives. Only its own client may ask.
async fn refresh(
    state: &Latch,
    realm: &RealmState,
    caller: &Client,
    token: &str,
) -> Result<Introspection, ApiError> {
    let found = operations::tokens::active_refresh(state, realm, caller, token).await?;
    Ok(match found {
        Some(active) => Introspection {
            active: true,
            scope: Some(active.scope),
            client_id: Some(caller.client_id.clone()),
            username: Some(active.username),
            token_type: Some("refresh_token".into()),
            exp: Some(active.expires_at_ms / 1000),
            iat: Some(active.issued_at_ms / 1000),
            sub: Some(active.user_id),
            iss: Some(state.issuer(&realm.realm.name)),
            sid: Some(active.sid),
            ..Introspection::default()
        },
        None => Introspection::default(),
    })
}

/// `POST /realms/{realm}/protocol/openid-connect/token/introspect`
pub async fn introspect(
    state: web::Data<Latch>,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (realm, params, caller) = super::protocol_form(&state, &path, &req, body).await?;
    if !caller.authenticated {
        return Err(ApiError::invalid_client(
            "introspection requires an authenticated client",
        ));
    }
    let token = params
        .get("token")?
        .ok_or_else(|| ApiError::invalid_request("token is required"))?;
    // Both kinds are JWTs: a refresh token is known by its MAC.
    let answer = match refresh_token::shape(state.directory.master(), token) {
        Shape::Refresh => refresh(&state, &realm, &caller.client, token).await?,
        Shape::Jws => match state.access.check(&realm, token) {
            Ok(claims) if may_see_access(&caller.client, &claims) => access(claims),
            _ => Introspection::default(),
        },
        Shape::Unknown => Introspection::default(),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(answer))
}
