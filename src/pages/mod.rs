//! The sign-in pages: the login form, consent, and the required action
//! that replaces a temporary password — the browser's way through an
//! authorization request. A front door beside `oidc`, `admin`, `console`
//! and `account`: the endpoint (`oidc::authorize`) validates the request
//! and answers the client; these pages show forms and call the sign-in
//! use-cases (`operations::signin`), whose logic lives in `login`.
//! `first_party` is how Latch's own pages sign in through them.

pub mod consent;
pub mod first_party;
pub mod login;
pub mod required_action;
pub mod second_factor;

use std::sync::Arc;

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use askama::Template;

use crate::app::Latch;
use crate::directory::RealmState;
use crate::http::form::Params;
use crate::http::pages::{self, PageError};
use crate::http::{cookies, csrf};
use crate::login::session::SessionRow;
use crate::oidc::authorize::{self, AuthRequest, Rejection};
use crate::operations::signin;
use crate::operations::users::User;

/// A browser error, shown as its page.
pub fn error_page(e: PageError) -> HttpResponse {
    e.error_response()
}

/// The path the realm's browser cookies are scoped to (without TLS).
pub fn cookie_path(realm: &RealmState) -> String {
    format!("/realms/{}/", realm.realm.name)
}

/// A form page, with the CSRF cookie its token needs when the browser had
/// none yet.
fn form_page(template: &impl Template, csrf_cookie: Option<Cookie<'static>>) -> HttpResponse {
    let mut response = pages::render(StatusCode::OK, template);
    if let Some(cookie) = csrf_cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

/// The browser's live session in this realm, if any.
pub async fn current_session(
    state: &Latch,
    realm: &RealmState,
    req: &HttpRequest,
) -> Result<Option<(SessionRow, User)>, PageError> {
    let Some(cookie) = cookies::session(&realm.realm.name, state.secure_cookies()).read(req) else {
        return Ok(None);
    };
    Ok(signin::browser_session(state, realm, &cookie).await?)
}

/// Where an authorization request stands when the pages take it on.
pub struct Next {
    pub signed_in: Option<(SessionRow, User)>,
    /// The user has just proved who they are (`prompt=login` and `max_age`
    /// are then satisfied).
    pub just_authenticated: bool,
    /// 302 from the endpoint, 303 after a form.
    pub status: StatusCode,
}

/// After validation: sign in if needed, ask consent if needed, issue the code.
pub async fn proceed(
    state: &Latch,
    realm: &RealmState,
    http: &HttpRequest,
    request: AuthRequest,
    next: Next,
) -> Result<HttpResponse, Rejection> {
    let now_s = state.clock.now_ms() / 1000;
    let must_sign_in = match &next.signed_in {
        None => true,
        // OIDC Core §3.1.2.1: `prompt=login` and `max_age` ask for a fresh sign-in.
        Some((s, _)) if !next.just_authenticated => {
            request.prompt.login
                || request
                    .max_age
                    .is_some_and(|max| now_s - s.auth_time_s > max)
        }
        Some(_) => false,
    };
    let Some((session, user)) = next.signed_in.filter(|_| !must_sign_in) else {
        if request.prompt.none {
            return Err(request.refuse("login_required", "the user is not signed in"));
        }
        let hint = request.login_hint.clone().unwrap_or_default();
        return Ok(login::page(state, realm, http, &request, &hint, None));
    };
    if let Some(page) = second_factor::step_up(state, realm, http, &request, &session).await? {
        return Ok(page);
    }
    let (client, scopes, prompted) = (&request.client, &request.scopes, request.prompt.consent);
    if signin::needs_consent(state, &user.id, client, scopes, prompted).await? {
        if request.prompt.none {
            return Err(request.refuse(
                "consent_required",
                "the user has not granted the requested access",
            ));
        }
        return Ok(consent::page(state, realm, http, &request, &user));
    }
    let fresh = next.just_authenticated;
    Ok(authorize::issue_code(state, realm, &request, &session, next.status, fresh).await?)
}

/// The fields every login-action form carries.
struct ActionForm {
    realm: Arc<RealmState>,
    form: Params,
    request: AuthRequest,
}

/// A login-action form: the realm, the CSRF check, and the authorization
/// request it carries, validated again (the browser could have changed it).
async fn read_action_form(
    state: &Latch,
    realm_name: &str,
    http: &HttpRequest,
    body: web::Payload,
) -> Result<ActionForm, HttpResponse> {
    let realm = state
        .directory
        .realm(realm_name)
        .await
        .map_err(|e| error_page(e.into()))?;
    let form = crate::http::form::from_body(http, body)
        .await
        .map_err(|e| error_page(e.into()))?;
    csrf::check(http, &form, state.secure_cookies()).map_err(error_page)?;
    let raw = form.get("auth_request").ok().flatten().unwrap_or("");
    let original = Params::parse(raw.as_bytes()).map_err(|e| error_page(e.into()))?;
    let request = authorize::validate(state, &realm, original)
        .await
        .map_err(|r| authorize::reject(state, &realm, r, StatusCode::SEE_OTHER))?;
    Ok(ActionForm {
        realm,
        form,
        request,
    })
}

/// A form field, empty when absent.
fn field<'a>(form: &'a Params, name: &str) -> &'a str {
    form.get(name).ok().flatten().unwrap_or("")
}
