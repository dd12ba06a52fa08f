//! The UserInfo endpoint (OIDC Core §5.3): bearer access token in, the
//! claims its scopes allow out.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::http::errors::ApiError;
use crate::http::AppState;
use crate::store;
use crate::tokens::{ProfileClaims, Scopes};

/// RFC 6750 §3.1: the error goes in the challenge.
fn invalid_token(description: &str) -> ApiError {
    let mut e = ApiError::new(StatusCode::UNAUTHORIZED, "invalid_token", description);
    e.challenge = Some(format!(
        r#"Bearer error="invalid_token", error_description="{description}""#
    ));
    e
}

fn bearer(req: &HttpRequest) -> Option<String> {
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
    profile: ProfileClaims,
}

async fn userinfo(
    state: web::Data<AppState>,
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
    let claims = super::validate_access(&state, &realm, &token)
        .map_err(|e| invalid_token(&e.to_string()))?;
    // The token's client decides which browser origins may read the answer.
    if let Ok(Some(client)) = state.directory.client(&realm, &claims.client_id).await {
        use actix_web::HttpMessage;
        req.extensions_mut()
            .insert(crate::http::cors::CorsClient(client));
    }
    if claims.sid.is_none() {
        return Err(invalid_token("the token was not issued to a user"));
    }
    let user_id = claims.sub.clone();
    let user = state
        .directory
        .store()
        .run(move |conn| store::users::find(conn, &user_id))
        .await?
        .filter(|u| u.enabled)
        .ok_or_else(|| invalid_token("the token's user no longer exists"))?;
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
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(UserInfo {
            sub: user.id.clone(),
            profile: ProfileClaims::for_scopes(&user, &scopes),
        }))
}

/// `GET /realms/{realm}/protocol/openid-connect/userinfo`
pub async fn userinfo_get(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let token = bearer(&req);
    userinfo(state, path.into_inner(), &req, token).await
}

/// `POST .../userinfo`: the token in the header or (RFC 6750 §2.2) the form.
pub async fn userinfo_post(
    state: web::Data<AppState>,
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
