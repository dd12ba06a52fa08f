//! RP-Initiated Logout 1.0 at `/protocol/openid-connect/logout`.
//!
//! With a valid `id_token_hint` the session it names ends at once; without
//! one the user confirms on a page (CSRF-protected), since anyone can link
//! a browser to this URL. `post_logout_redirect_uri` must match one
//! registered for the client exactly, or no redirect happens.
//!
//! A POST from a client rather than a browser (one carrying a refresh
//! token or client credentials) is Keycloak's logout by refresh token: it
//! ends the sign-in the token belongs to and answers 204.

use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::app::Latch;
use crate::directory::{Client, RealmState};
use crate::http::errors::ApiError;
use crate::http::form::Params;
use crate::http::pages::{self, PageError};
use crate::http::{cookies, csrf, peer};
use crate::operations::signout::FrontChannel;
use crate::operations::{self, Actor};
use crate::tokens::{jwt, IdClaims};

#[derive(Template)]
#[template(path = "logout_confirm.html")]
struct ConfirmPage<'a> {
    realm: &'a str,
    action: String,
    csrf_token: String,
    client_id: &'a str,
    redirect_uri: &'a str,
    state: &'a str,
}

#[derive(Template)]
#[template(path = "logged_out.html")]
struct LoggedOutPage {
    redirect: Option<String>,
    /// Front-Channel Logout 1.0: each client's logout URI with iss and sid.
    frames: Vec<String>,
}

/// A validated logout request.
struct LogoutRequest {
    hint: Option<IdClaims>,
    client: Option<Arc<Client>>,
    redirect_uri: Option<String>,
    state: Option<String>,
}

fn bad(message: &str) -> PageError {
    PageError::bad_request("invalid_request", message)
}

async fn validate(
    state: &Latch,
    realm: &RealmState,
    params: &Params,
) -> Result<LogoutRequest, PageError> {
    let parsed = latch_protocol::logout::parse(params).map_err(|m| bad(&m))?;
    let hint = match parsed.id_token_hint.as_deref() {
        None => None,
        Some(token) => {
            // Signature and issuer are checked; expiry is tolerated (§2).
            let claims = jwt::verify::<IdClaims>(&realm.keys, token, "JWT")
                .map(|v| v.claims)
                .ok()
                .filter(|c| c.iss == state.issuer(&realm.realm.name))
                .ok_or_else(|| bad("The id_token_hint is not a valid ID token of this realm."))?;
            Some(claims)
        }
    };
    let client_id = match (parsed.client_id.as_deref(), &hint) {
        (Some(id), Some(h)) if id != h.aud => {
            return Err(bad("client_id does not match the id_token_hint."))
        }
        (Some(id), _) => Some(id.to_string()),
        (None, Some(h)) => Some(h.aud.clone()),
        (None, None) => None,
    };
    let client = match &client_id {
        Some(id) => Some(
            state
                .directory
                .client(realm, id)
                .await?
                .ok_or_else(|| bad("The application is not registered with this realm."))?,
        ),
        None => None,
    };
    let redirect_uri = match (parsed.post_logout_redirect_uri.as_deref(), &client) {
        (None, _) => None,
        (Some(_), None) => {
            return Err(bad(
                "post_logout_redirect_uri needs client_id or id_token_hint.",
            ))
        }
        (Some(uri), Some(c)) if c.post_logout_redirect_uris.iter().any(|r| r == uri) => {
            Some(uri.to_string())
        }
        (Some(_), Some(_)) => {
            return Err(bad(
                "The post_logout_redirect_uri is not registered for this application.",
            ))
        }
    };
    Ok(LogoutRequest {
        hint,
        client,
        redirect_uri,
        state: parsed.state,
    })
}

/// Ends the sessions: the one the hint names, and this browser's. Returns
/// the front-channel logout URIs (with `iss` and `sid`, Front-Channel
/// Logout 1.0 §2) of their clients.
async fn end_sessions(
    state: &Latch,
    realm: &RealmState,
    req: &HttpRequest,
    hint_sid: Option<String>,
) -> Result<Vec<String>, PageError> {
    let cookie = cookies::session(&realm.realm.name, state.secure_cookies()).read(req);
    let actor = Actor::Anonymous { ip: peer::ip(req) };
    let ended = operations::signout::sign_out(state, &actor, realm, hint_sid, cookie).await?;
    let issuer = state.issuer(&realm.realm.name);
    Ok(ended
        .into_iter()
        .filter_map(|FrontChannel { sid, uri }| {
            let mut url = url::Url::parse(&uri).ok()?;
            url.query_pairs_mut()
                .append_pair("iss", &issuer)
                .append_pair("sid", &sid);
            Some(url.to_string())
        })
        .collect())
}

fn finish(
    state: &Latch,
    realm: &RealmState,
    request: &LogoutRequest,
    frames: Vec<String>,
    status: StatusCode,
) -> HttpResponse {
    let redirect = request.redirect_uri.as_ref().map(|uri| {
        let mut location = url::Url::parse(uri).ok();
        if let (Some(url), Some(s)) = (location.as_mut(), &request.state) {
            url.query_pairs_mut().append_pair("state", s);
        }
        location
            .map(|u| u.to_string())
            .unwrap_or_else(|| uri.clone())
    });
    let mut response = match (redirect, frames.is_empty()) {
        (Some(location), true) => HttpResponse::build(status)
            .insert_header((header::LOCATION, location))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        // The iframes must load before leaving: a page that moves on by itself.
        (redirect, _) => {
            let origins: Vec<String> = frames
                .iter()
                .filter_map(|f| url::Url::parse(f).ok())
                .map(|u| u.origin().ascii_serialization())
                .collect();
            let csp = if origins.is_empty() {
                pages::CSP.to_string()
            } else {
                format!("{}; frame-src {}", pages::CSP, origins.join(" "))
            };
            pages::render_with_csp(StatusCode::OK, &LoggedOutPage { redirect, frames }, &csp)
        }
    };
    for gone in cookies::session_ended(&realm.realm.name, state.secure_cookies()) {
        let _ = response.add_cookie(&gone);
    }
    response
}

async fn logout(
    state: web::Data<Latch>,
    realm_name: &str,
    req: HttpRequest,
    params: Params,
) -> Result<HttpResponse, PageError> {
    let realm = state.directory.realm(realm_name).await?;
    let request = validate(&state, &realm, &params).await?;
    if let Some(hint) = &request.hint {
        let frames = end_sessions(&state, &realm, &req, hint.sid.clone()).await?;
        return Ok(finish(&state, &realm, &request, frames, StatusCode::FOUND));
    }
    let path = format!("/realms/{}/", realm.realm.name);
    let (csrf_token, cookie) = csrf::token(&req, &path, state.secure_cookies());
    let page = ConfirmPage {
        realm: &realm.realm.name,
        action: format!(
            "/realms/{}/protocol/openid-connect/logout/confirm",
            realm.realm.name
        ),
        csrf_token,
        client_id: request
            .client
            .as_ref()
            .map(|c| c.client_id.as_str())
            .unwrap_or(""),
        redirect_uri: request.redirect_uri.as_deref().unwrap_or(""),
        state: request.state.as_deref().unwrap_or(""),
    };
    let mut response = pages::render(StatusCode::OK, &page);
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    Ok(response)
}

/// `GET /realms/{realm}/protocol/openid-connect/logout`
pub async fn logout_get(
    state: web::Data<Latch>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let params = crate::http::form::from_query(&req)?;
    logout(state, &path, req, params).await
}

/// `POST .../logout` (form-encoded): RP-Initiated Logout §2 from a
/// browser, or Keycloak's logout by refresh token from a client.
pub async fn logout_post(
    state: web::Data<Latch>,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let params = crate::http::form::from_body(&req, body).await?;
    if from_client(&req, &params) {
        use actix_web::ResponseError;
        return Ok(match token_logout(&state, &path, &req, &params).await {
            Ok(response) => response,
            Err(e) => e.error_response(),
        });
    }
    logout(state, &path, req, params).await
}

/// A client, not a browser, is asking: it sends a refresh token or
/// authenticates itself. A browser's form carries neither.
fn from_client(req: &HttpRequest, params: &Params) -> bool {
    params
        .pairs()
        .iter()
        .any(|(name, _)| name == "refresh_token" || name == "client_secret")
        || req.headers().contains_key(header::AUTHORIZATION)
}

/// Keycloak's non-browser logout: the client authenticates as at the token
/// endpoint and presents a refresh token of its own; the sign-in it belongs
/// to ends (`operations::tokens::logout`). 204, or an OAuth JSON error.
async fn token_logout(
    state: &Latch,
    realm_name: &str,
    req: &HttpRequest,
    params: &Params,
) -> Result<HttpResponse, ApiError> {
    let realm = super::realm(state, realm_name).await?;
    if let Some(name) = params.first_repeated() {
        return Err(ApiError::invalid_request(format!(
            "parameter `{name}` is repeated"
        )));
    }
    let caller = super::client_auth::authenticate(state, &realm, req, params).await?;
    let refresh_token = params
        .get("refresh_token")?
        .ok_or_else(|| ApiError::invalid_request("refresh_token is required"))?;
    let actor = Actor::Client {
        client_id: caller.client.client_id.clone().into(),
        ip: peer::ip(req),
    };
    operations::tokens::logout(state, &actor, &realm, &caller.client, refresh_token).await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// `POST .../logout/confirm`: the confirmation form.
pub async fn confirm(
    state: web::Data<Latch>,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, PageError> {
    let realm = state.directory.realm(&path).await?;
    let form = crate::http::form::from_body(&req, body).await?;
    // A repeated token is a malformed form (400), not a forged one.
    form.get(csrf::FIELD)?;
    csrf::check(&req, &form, state.secure_cookies())?;
    let request = validate(
        &state,
        &realm,
        &form.without(csrf::FIELD).without("confirm"),
    )
    .await?;
    let frames = end_sessions(&state, &realm, &req, None).await?;
    Ok(finish(
        &state,
        &realm,
        &request,
        frames,
        StatusCode::SEE_OTHER,
    ))
}
