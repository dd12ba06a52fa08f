//! The consent page and its form (`POST /realms/{realm}/login-actions/consent`):
//! what the client asks for, one line per client scope; the user allows
//! (recorded, then the code) or denies (`access_denied` to the client).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{error_page, field, form_page, read_action_form, ActionForm};
use crate::app::Latch;
use crate::directory::RealmState;
use crate::http::csrf;
use crate::oidc::authorize::{self, AuthRequest};
use crate::operations::signin;
use crate::operations::users::User;

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    /// The client's name, else its id.
    client_name: &'a str,
    scopes: Vec<String>,
    action: String,
    csrf_token: String,
    auth_request: String,
    username: &'a str,
}

/// Asks `user` to let the client have what the request asks for.
pub fn page(
    state: &Latch,
    realm: &RealmState,
    http: &HttpRequest,
    request: &AuthRequest,
    user: &User,
) -> HttpResponse {
    let (csrf_token, cookie) =
        csrf::token(http, &super::cookie_path(realm), state.secure_cookies());
    let page = ConsentPage {
        client_name: request.client.display_name(),
        scopes: std::iter::once("Sign you in with your account".to_string())
            .chain(request.consent_lines.iter().cloned())
            .collect(),
        action: format!("/realms/{}/login-actions/consent", realm.realm.name),
        csrf_token,
        auth_request: request.params.encode(),
        username: &user.username,
    };
    form_page(&page, cookie)
}

/// `POST /realms/{realm}/login-actions/consent`: the user's answer.
pub async fn answer(
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
    let (session, user) = match super::current_session(&state, &realm, &http).await {
        Ok(Some(s)) => s,
        Ok(None) => return super::login::page(&state, &realm, &http, &request, "", None),
        Err(e) => return error_page(e),
    };
    if field(&form, "decision") != "allow" {
        let denied = request.refuse("access_denied", "the user denied the request");
        return authorize::reject(&state, &realm, denied, StatusCode::SEE_OTHER);
    }
    let granted = signin::grant_consent(&state, &user.id, &request.client, &request.scopes).await;
    if let Err(e) = granted {
        return error_page(e.into());
    }
    // Consent follows a sign-in in the same flow, or a reused session:
    // a sign-in in the last minutes counts as this request's.
    let fresh = state.clock.now_ms() / 1000 - session.auth_time_s < 300;
    let status = StatusCode::SEE_OTHER;
    match authorize::issue_code(&state, &realm, &request, &session, status, fresh).await {
        Ok(response) => response,
        Err(e) => error_page(e),
    }
}
