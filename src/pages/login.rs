//! The login form (`POST /realms/{realm}/login-actions/authenticate`):
//! username and password through the shared credential check
//! (`login::credentials`), then a session, then on with the authorization
//! request.

use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{error_page, field, form_page, read_action_form, ActionForm, Next};
use crate::app::Latch;
use crate::directory::RealmState;
use crate::http::pages::PageError;
use crate::http::{cookies, csrf, peer};
use crate::login::credentials::{CheckError, Verdict};
use crate::oidc::authorize::{self, AuthRequest};
use crate::operations::signin::{self, Authentication, SignIn, Started};
use crate::operations::users::User;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    realm: &'a str,
    client_id: &'a str,
    action: String,
    csrf_token: String,
    auth_request: String,
    username: &'a str,
    error: Option<&'a str>,
    remember_me: bool,
}

/// The login form, prefilled with `username`, with an error when one is given.
pub fn page(
    state: &Latch,
    realm: &RealmState,
    http: &HttpRequest,
    request: &AuthRequest,
    username: &str,
    error: Option<&str>,
) -> HttpResponse {
    let (csrf_token, cookie) =
        csrf::token(http, &super::cookie_path(realm), state.secure_cookies());
    let page = LoginPage {
        realm: &realm.realm.name,
        client_id: &request.client.client_id,
        action: format!("/realms/{}/login-actions/authenticate", realm.realm.name),
        csrf_token,
        auth_request: request.params.encode(),
        username,
        error,
        remember_me: realm.realm.remember_me,
    };
    form_page(&page, cookie)
}

/// `POST /realms/{realm}/login-actions/authenticate`: the login form.
pub async fn authenticate(
    state: web::Data<Latch>,
    path: web::Path<String>,
    http: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let ActionForm {
        realm,
        form,
        request,
    } = match read_action_form(&state, &path, &http, body).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    let username = field(&form, "username").to_string();
    let password = field(&form, "password").to_string();
    let ip = peer::ip(&http).unwrap_or_default();
    if let Err(wait) = state
        .defences
        .unauthenticated
        .take(&("form", ip), state.clock.now_ms())
    {
        return throttled_page(&state, &realm, &http, &request, &username, wait);
    }
    let user = match check_password(&state, &realm, &http, &request, &username, password).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            let wrong = Some("Wrong username or password.");
            return page(&state, &realm, &http, &request, &username, wrong);
        }
        Err(response) => return response,
    };
    if user.must_update_password() {
        return super::required_action::page(&state, &realm, &http, &request, &user, None);
    }
    let remember_me = field(&form, "remember_me") == "on";
    super::second_factor::after_password(&state, &realm, &http, request, user, remember_me).await
}

/// Starts the session for a user who has just proved who they are, and
/// goes on with the authorization request (consent, then the code).
pub(super) async fn signed_in_response(
    state: &Latch,
    realm: &Arc<RealmState>,
    http: &HttpRequest,
    request: AuthRequest,
    user: User,
    remember_me: bool,
    authentication: Authentication,
) -> HttpResponse {
    let session_cookie = cookies::session(&realm.realm.name, state.secure_cookies());
    let sign_in = SignIn {
        replaces: session_cookie.read(http),
        origin: peer::origin(http),
        remember_me,
        authentication,
    };
    let Started { cookie, session } =
        match signin::start_session(state, realm, &user, sign_in).await {
            Ok(started) => started,
            Err(e) => return error_page(e.into()),
        };
    // Remembered: the cookies outlive the browser, as long as the session.
    let max_age_s = session
        .remember_me
        .then_some(realm.realm.remember_me_lifetime_s);
    let secure = state.secure_cookies();
    let set = cookies::session_started(&realm.realm.name, secure, cookie, &session.id, max_age_s);
    let next = Next {
        signed_in: Some((session, user)),
        just_authenticated: true,
        status: StatusCode::SEE_OTHER,
    };
    let mut response = match super::proceed(state, realm, http, request, next).await {
        Ok(response) => response,
        Err(rejection) => authorize::reject(state, realm, rejection, StatusCode::SEE_OTHER),
    };
    for cookie in &set {
        let _ = response.add_cookie(cookie);
    }
    response
}

/// Verifies the password through the shared credential check. `Ok(None)`
/// is a wrong username or password (or a locked account), which the page
/// does not tell apart; a throttled IP gets a 429 page.
async fn check_password(
    state: &Latch,
    realm: &RealmState,
    http: &HttpRequest,
    request: &AuthRequest,
    username: &str,
    password: String,
) -> Result<Option<User>, HttpResponse> {
    let ip = peer::ip(http);
    match state
        .checker()
        .check(realm, username, password, ip.as_deref())
        .await
    {
        Ok(Verdict::Accepted(user)) => Ok(Some(*user)),
        Ok(Verdict::Refused) => Ok(None),
        Ok(Verdict::Throttled(wait)) => {
            Err(throttled_page(state, realm, http, request, username, wait))
        }
        Err(CheckError::Busy(busy)) => {
            let mut response = error_page(PageError::unavailable(busy.to_string()));
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            Err(response)
        }
        Err(CheckError::Internal(e)) => Err(error_page(e.into())),
    }
}

/// The login page again, with 429 and Retry-After.
fn throttled_page(
    state: &Latch,
    realm: &RealmState,
    http: &HttpRequest,
    request: &AuthRequest,
    username: &str,
    wait: crate::limits::RetryAfter,
) -> HttpResponse {
    let message = format!(
        "Too many attempts from your network. Try again in {} seconds.",
        wait.0
    );
    let mut response = page(state, realm, http, request, username, Some(&message));
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(value) = header::HeaderValue::from_str(&wait.0.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}
