//! The second step of a sign-in: the one-time code after the password
//! (`POST /realms/{realm}/login-actions/otp`), or setting up an
//! authenticator app first (`POST /realms/{realm}/login-actions/configure-totp`,
//! Keycloak's required action `CONFIGURE_TOTP`). Each form carries a sealed
//! proof that the password was checked, bound to the user, the realm and
//! this browser's CSRF token, and valid for minutes; the checks are
//! `operations::second_factor`'s.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{error_page, field, form_page, read_action_form, ActionForm};
use crate::app::Latch;
use crate::directory::RealmState;
use crate::error::Error;
use crate::http::pages::PageError;
use crate::http::{csrf, peer};
use crate::ids::{RealmName, UserId};
use crate::login::second_factor::requested_level;
use crate::login::session::SessionRow;
use crate::oidc::authorize::{AuthRequest, Rejection};
use crate::operations::second_factor::{
    self as factor, AfterPassword, EnrolTotp, Enrolment, PendingTotp, SignInCode,
};
use crate::operations::signin::{self, Authentication};
use crate::operations::users::User;
use crate::operations::Actor;

const CODE_PURPOSE: &str = "pending second factor";
const ENROL_PURPOSE: &str = "pending authenticator";
/// How long the code step may take after the password.
const CODE_LIFETIME_MS: i64 = 5 * 60 * 1000;

/// Proof, carried by the code form, that the password was checked.
#[derive(serde::Serialize, serde::Deserialize)]
struct PendingCode {
    user_id: String,
    remember_me: bool,
    expires_at_ms: i64,
    /// A step-up of this live session rather than a new sign-in.
    #[serde(default)]
    step_up_sid: Option<String>,
}

impl PendingCode {
    fn sign_in(user_id: &str, remember_me: bool) -> PendingCode {
        PendingCode {
            user_id: user_id.to_string(),
            remember_me,
            expires_at_ms: 0,
            step_up_sid: None,
        }
    }
}

/// The secret offered on the enrolment form, with the sign-in it belongs to.
#[derive(serde::Serialize, serde::Deserialize)]
struct PendingEnrolment {
    totp: PendingTotp,
    remember_me: bool,
}

#[derive(Template)]
#[template(path = "login_otp.html")]
struct CodePage<'a> {
    realm: &'a str,
    action: String,
    csrf_token: String,
    auth_request: String,
    pending: String,
    digits: i64,
    error: Option<&'a str>,
}

#[derive(Template)]
#[template(path = "configure_totp.html")]
pub(crate) struct EnrolPage<'a> {
    pub username: &'a str,
    pub action: String,
    pub csrf_token: String,
    pub auth_request: Option<String>,
    /// The account page's action name for the form.
    pub step: Option<&'a str>,
    pub pending: String,
    pub qr_svg: &'a str,
    pub uri: &'a str,
    pub secret_text: &'a str,
    pub digits: u32,
    pub error: Option<&'a str>,
}

/// What sealed proofs are bound to: the realm and this browser's CSRF token.
fn binding(realm: &RealmState, csrf_token: &str) -> Vec<u8> {
    format!("{}|{}", realm.realm.id, csrf_token).into_bytes()
}

/// After a correct password: the code, an app to set up, or the session.
pub(super) async fn after_password(
    state: &Latch,
    realm: &std::sync::Arc<RealmState>,
    http: &HttpRequest,
    request: AuthRequest,
    user: User,
    remember_me: bool,
) -> HttpResponse {
    match factor::after_password(state, realm, &user).await {
        Ok(AfterPassword::Done) => {
            let authentication = Authentication::password(&user.id);
            super::login::signed_in_response(
                state,
                realm,
                http,
                request,
                user,
                remember_me,
                authentication,
            )
            .await
        }
        Ok(AfterPassword::AskCode) => {
            let pending = PendingCode::sign_in(&user.id, remember_me);
            code_page(state, realm, http, &request, pending, None)
        }
        Ok(AfterPassword::Enrol) => {
            let enrolment = factor::new_enrolment(state, realm, &user);
            enrol_page(
                state,
                realm,
                http,
                &request,
                &user,
                enrolment,
                remember_me,
                None,
            )
        }
        Err(e) => error_page(e.into()),
    }
}

fn code_page(
    state: &Latch,
    realm: &RealmState,
    http: &HttpRequest,
    request: &AuthRequest,
    mut pending: PendingCode,
    error: Option<&str>,
) -> HttpResponse {
    let (csrf_token, cookie) =
        csrf::token(http, &super::cookie_path(realm), state.secure_cookies());
    pending.expires_at_ms = state.clock.now_ms() + CODE_LIFETIME_MS;
    let page = CodePage {
        realm: &realm.realm.name,
        action: format!("/realms/{}/login-actions/otp", realm.realm.name),
        pending: state.directory.master().seal_value(
            CODE_PURPOSE,
            &binding(realm, &csrf_token),
            &pending,
        ),
        csrf_token,
        auth_request: request.params.encode(),
        digits: realm.realm.otp_policy_digits,
        error,
    };
    form_page(&page, cookie)
}

#[allow(clippy::too_many_arguments)]
fn enrol_page(
    state: &Latch,
    realm: &RealmState,
    http: &HttpRequest,
    request: &AuthRequest,
    user: &User,
    enrolment: Enrolment,
    remember_me: bool,
    error: Option<&str>,
) -> HttpResponse {
    let (csrf_token, cookie) =
        csrf::token(http, &super::cookie_path(realm), state.secure_cookies());
    let digits = enrolment.pending.params.digits;
    let pending = PendingEnrolment {
        totp: enrolment.pending,
        remember_me,
    };
    let page = EnrolPage {
        username: &user.username,
        action: format!("/realms/{}/login-actions/configure-totp", realm.realm.name),
        pending: state.directory.master().seal_value(
            ENROL_PURPOSE,
            &binding(realm, &csrf_token),
            &pending,
        ),
        csrf_token,
        auth_request: Some(request.params.encode()),
        step: None,
        qr_svg: &enrolment.qr_svg,
        uri: &enrolment.uri,
        secret_text: &enrolment.secret_text,
        digits,
        error,
    };
    form_page(&page, cookie)
}

fn expired() -> HttpResponse {
    error_page(PageError::bad_request(
        "expired",
        "This step has expired. Start signing in again.",
    ))
}

/// `POST /realms/{realm}/login-actions/otp`: the code after the password.
pub async fn submit_code(
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
    let bound = binding(&realm, field(&form, csrf::FIELD));
    let pending: Option<PendingCode> =
        state
            .directory
            .master()
            .open_value(CODE_PURPOSE, &bound, field(&form, "pending"));
    let Some(pending) = pending.filter(|p| p.expires_at_ms > state.clock.now_ms()) else {
        return expired();
    };
    let user = match signin::user_for_second_step(&state, &pending.user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => return expired(),
        Err(e) => return error_page(e.into()),
    };
    let ip = peer::ip(&http);
    let code = field(&form, "otp").to_string();
    let verdict = factor::verify_sign_in_code(&state, &realm, &user, code, ip.as_deref()).await;
    let (message, status) = match verdict {
        Ok(SignInCode::Accepted { credential_id }) => {
            return accepted(&state, &realm, &http, request, user, pending, credential_id).await;
        }
        Ok(SignInCode::Malformed) => (
            format!(
                "Enter the {}-digit code from your app.",
                realm.realm.otp_policy_digits
            ),
            StatusCode::OK,
        ),
        Ok(SignInCode::Refused) => ("Wrong or already used code.".to_string(), StatusCode::OK),
        Ok(SignInCode::Throttled(wait)) => (
            format!("Too many attempts from your network. Try again in {wait} seconds."),
            StatusCode::TOO_MANY_REQUESTS,
        ),
        Err(e) => return error_page(e.into()),
    };
    let mut response = code_page(&state, &realm, &http, &request, pending, Some(&message));
    *response.status_mut() = status;
    response
}

/// A right code: a new session at level 2, or this browser's session
/// stepped up to level 2; then on with the authorization request.
async fn accepted(
    state: &Latch,
    realm: &std::sync::Arc<RealmState>,
    http: &HttpRequest,
    request: AuthRequest,
    user: User,
    pending: PendingCode,
    credential_id: String,
) -> HttpResponse {
    let Some(sid) = pending.step_up_sid else {
        let authentication = Authentication::two_factors(&user.id, credential_id);
        let remember = pending.remember_me;
        return super::login::signed_in_response(
            state,
            realm,
            http,
            request,
            user,
            remember,
            authentication,
        )
        .await;
    };
    // The step-up belongs to the session this browser still has.
    let session = match super::current_session(state, realm, http).await {
        Ok(Some((session, _))) if session.id == sid => session,
        Ok(_) => return expired(),
        Err(e) => return error_page(e),
    };
    let session = match signin::step_up(state, &session, credential_id).await {
        Ok(session) => session,
        Err(e) => return error_page(e.into()),
    };
    let next = super::Next {
        signed_in: Some((session, user)),
        just_authenticated: true,
        status: StatusCode::SEE_OTHER,
    };
    match super::proceed(state, realm, http, request, next).await {
        Ok(response) => response,
        Err(r) => crate::oidc::authorize::reject(state, realm, r, StatusCode::SEE_OTHER),
    }
}

/// An authorization request asking for more than the session has (`acr`
/// 2, see `login::second_factor::requested_level`): the code alone for a
/// user who has an app; `interaction_required` under `prompt=none`; an
/// essential request a user cannot meet is refused, a voluntary one goes on
/// at the session's level.
pub(super) async fn step_up(
    state: &Latch,
    realm: &RealmState,
    http: &HttpRequest,
    request: &AuthRequest,
    session: &SessionRow,
) -> Result<Option<HttpResponse>, Rejection> {
    let param = |name: &str| request.params.get(name).ok().flatten();
    let Some(wanted) = requested_level(param("acr_values"), param("claims")) else {
        return Ok(None);
    };
    if session.acr_level >= 2 {
        return Ok(None);
    }
    if !factor::can_step_up(state, realm, &session.user_id).await? {
        return match wanted.essential {
            true => Err(request.refuse(
                "unmet_authentication_requirements",
                "the user has no second factor to reach acr 2",
            )),
            false => Ok(None),
        };
    }
    if request.prompt.none {
        return Err(request.refuse(
            "interaction_required",
            "a second factor is needed for the requested acr",
        ));
    }
    let mut pending = PendingCode::sign_in(&session.user_id, session.remember_me);
    pending.step_up_sid = Some(session.id.clone());
    Ok(Some(code_page(state, realm, http, request, pending, None)))
}

/// `POST /realms/{realm}/login-actions/configure-totp`: an authenticator
/// app set up during sign-in, proven by a code from it.
pub async fn submit_enrolment(
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
    let bound = binding(&realm, field(&form, csrf::FIELD));
    let pending: Option<PendingEnrolment> =
        state
            .directory
            .master()
            .open_value(ENROL_PURPOSE, &bound, field(&form, "pending"));
    let Some(pending) = pending.filter(|p| p.totp.expires_at_ms > state.clock.now_ms()) else {
        return expired();
    };
    let user = match signin::user_for_second_step(&state, &pending.totp.user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => return expired(),
        Err(e) => return error_page(e.into()),
    };
    let actor = Actor::User {
        user_id: UserId(user.id.clone()),
        sid: None,
        ip: peer::ip(&http),
    };
    let label = Some(field(&form, "userLabel").to_string());
    let input = EnrolTotp {
        realm: RealmName::from(realm.realm.name.as_str()),
        pending: pending.totp.clone(),
        code: field(&form, "totp").to_string(),
        label,
    };
    match factor::enrol_totp(&state, &actor, input).await {
        Ok(credential_id) => {
            let authentication = Authentication::two_factors(&user.id, credential_id);
            let remember = pending.remember_me;
            super::login::signed_in_response(
                &state,
                &realm,
                &http,
                request,
                user,
                remember,
                authentication,
            )
            .await
        }
        Err(Error::Invalid(words)) => {
            let enrolment = factor::enrolment_of(&realm, &user, pending.totp);
            let remember = pending.remember_me;
            enrol_page(
                &state,
                &realm,
                &http,
                &request,
                &user,
                enrolment,
                remember,
                Some(&words),
            )
        }
        Err(e) => error_page(e.into()),
    }
}
