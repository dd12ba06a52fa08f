//! The required action after a temporary password
//! (`POST /realms/{realm}/login-actions/required-action`): the user chooses
//! a new password before any session starts. The form carries a sealed
//! proof (user, expiry) that the temporary password was checked; the
//! password is set by the one password-setting use-case
//! (`operations::credentials::set_password`), as on every other path.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{error_page, field, form_page, read_action_form, ActionForm};
use crate::app::Latch;
use crate::directory::RealmState;
use crate::error::Error;
use crate::http::pages::PageError;
use crate::http::{csrf, peer};
use crate::ids::{RealmName, UserId};
use crate::oidc::authorize::AuthRequest;
use crate::operations::credentials::{self, PasswordChange, PasswordSet};
use crate::operations::users::{User, UserRef};
use crate::operations::{signin, Actor};

/// How long the step after a temporary password may take.
const PENDING_LIFETIME_MS: i64 = 10 * 60 * 1000;
const PENDING_PURPOSE: &str = "pending required action";

/// Proof, carried by the form, that the user's password was checked.
#[derive(serde::Serialize, serde::Deserialize)]
struct Pending {
    user_id: String,
    expires_at_ms: i64,
}

#[derive(Template)]
#[template(path = "update_password.html")]
struct UpdatePasswordPage<'a> {
    username: &'a str,
    action: String,
    csrf_token: String,
    auth_request: String,
    pending: String,
    error: Option<&'a str>,
}

/// The required action after a temporary password: choose a new one.
pub fn page(
    state: &Latch,
    realm: &RealmState,
    http: &HttpRequest,
    request: &AuthRequest,
    user: &User,
    error: Option<&str>,
) -> HttpResponse {
    let (csrf_token, cookie) =
        csrf::token(http, &super::cookie_path(realm), state.secure_cookies());
    let pending = Pending {
        user_id: user.id.clone(),
        expires_at_ms: state.clock.now_ms() + PENDING_LIFETIME_MS,
    };
    let page = UpdatePasswordPage {
        username: &user.username,
        action: format!("/realms/{}/login-actions/required-action", realm.realm.name),
        csrf_token,
        auth_request: request.params.encode(),
        pending: state.directory.master().seal_value(
            PENDING_PURPOSE,
            realm.realm.id.as_bytes(),
            &pending,
        ),
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

/// The user the sealed proof names, while the step is still open.
async fn pending_user(
    state: &Latch,
    realm: &RealmState,
    sealed: &str,
) -> Result<Option<User>, Error> {
    let pending: Option<Pending> =
        state
            .directory
            .master()
            .open_value(PENDING_PURPOSE, realm.realm.id.as_bytes(), sealed);
    match pending.filter(|p| p.expires_at_ms > state.clock.now_ms()) {
        Some(pending) => signin::awaiting_new_password(state, &pending.user_id).await,
        None => Ok(None),
    }
}

/// `POST /realms/{realm}/login-actions/required-action`: the new password
/// replacing a temporary one.
pub async fn update_password(
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
    let user = match pending_user(&state, &realm, field(&form, "pending")).await {
        Ok(Some(user)) => user,
        Ok(None) => return expired(),
        Err(e) => return error_page(e.into()),
    };
    let (new, confirm) = (
        field(&form, "password-new"),
        field(&form, "password-confirm"),
    );
    let problem = if new.is_empty() {
        Some("Enter a new password.")
    } else if new != confirm {
        Some("The two passwords do not match.")
    } else {
        None
    };
    if let Some(problem) = problem {
        return page(&state, &realm, &http, &request, &user, Some(problem));
    }
    let actor = Actor::User {
        user_id: UserId(user.id.clone()),
        sid: None,
        ip: peer::ip(&http),
    };
    let set = credentials::set_password(
        &state,
        &actor,
        &RealmName::from(realm.realm.name.as_str()),
        &UserRef::Id(UserId(user.id.clone())),
        new.to_string(),
        PasswordChange::RequiredAction,
    )
    .await;
    match set {
        Ok(PasswordSet { user, .. }) => {
            super::second_factor::after_password(&state, &realm, &http, request, user, false).await
        }
        // A refusal of the password itself (policy, history, the same as
        // the temporary one): the form again, with its words.
        Err(Error::Invalid(words)) => page(&state, &realm, &http, &request, &user, Some(&words)),
        Err(Error::NotFound(_)) => expired(),
        Err(e) => error_page(e.into()),
    }
}
