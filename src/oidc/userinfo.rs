//! The UserInfo endpoint (OIDC Core §5.3): bearer access token in, the
//! claims its scopes allow out.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::app::Latch;
use crate::directory::scopes::Target;
use crate::http::errors::ApiError;
use crate::operations;
use crate::tokens::{claims as mappers, Scopes};

/// RFC 6750 §3.1: the error goes in the challenge.
pub fn invalid_token(description: &str) -> ApiError {
    let mut e = ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", description);
    e.challenge = Some(format!(
        r#"Bearer error="invalid_token", error_description="{description}""#
    ));
    e
}

/// RFC 6750 §2.1: the token in the `Authorization` header.
pub fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

#[derive(Serialize)]
struct UserInfo {
    sub: String,
    #[serde(flatten)]
    mapped: serde_json::Map<String, serde_json::Value>,
}

async fn userinfo(
    state: web::Data<Latch>,
    realm_name: String,
    req: &HttpRequest,
    token: Option<String>,
) -> Result<HttpResponse, ApiError> {
    let realm = super::realm(&state, &realm_name).await?;
    let Some(token) = token else {
        let mut e = ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_request",
            "a bearer access token is required",
        );
        e.challenge = Some(r#"Bearer realm="latch""#.into());
        return Err(e);
    };
    let claims = state
        .access
        .check(&realm, &token)
        .map_err(|e| invalid_token(&e.to_string()))?;
    let client = state
        .directory
        .client(&realm, &claims.client_id)
        .await?
        .ok_or_else(|| invalid_token("the token's client no longer exists"))?;
    // The token's client decides which browser origins may read the answer.
    {
        use actix_web::HttpMessage;
        req.extensions_mut()
            .insert(crate::http::cors::CorsClient(client.clone()));
    }
    if claims.sid.is_none() {
        return Err(invalid_token("the token was not issued to a user"));
    }
    let scopes = Scopes::parse(&claims.scope).unwrap_or_default();
    if !scopes.contains("openid") {
        let mut e = ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the token lacks the openid scope",
        );
        e.challenge = Some(r#"Bearer error="insufficient_scope", scope="openid""#.into());
        return Err(e);
    }
    // The scopes as the client holds them now: a scope removed since the
    // token was issued no longer releases its claims here.
    let granted =
        realm
            .scopes
            .still_granted(&client.default_scopes, &client.optional_scopes, &scopes);
    let with_attributes = granted.reads_attributes();
    let (user, facts) = operations::tokens::token_subject(&state, &claims.sub, with_attributes)
        .await?
        .ok_or_else(|| invalid_token("the token's user no longer exists"))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(UserInfo {
            sub: user.id.clone(),
            mapped: mappers::mapped(&granted.applied, Target::Userinfo, facts.subject(&user)),
        }))
}

/// `GET /realms/{realm}/protocol/openid-connect/userinfo`
pub async fn userinfo_get(
    state: web::Data<Latch>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let token = bearer(&req);
    userinfo(state, path.into_inner(), &req, token).await
}

/// `POST .../userinfo`: the token in the header or (RFC 6750 §2.2) the form.
pub async fn userinfo_post(
    state: web::Data<Latch>,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let token = match bearer(&req) {
        Some(token) => Some(token),
        None => crate::http::form::from_body(&req, body)
            .await?
            .get("access_token")?
            .map(str::to_string),
    };
    userinfo(state, path.into_inner(), &req, token).await
}
