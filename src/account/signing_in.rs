//! The account page's "Signing in" part: the user's credentials (type,
//! label, created, last used), setting up an authenticator app, renaming
//! and removing one. Adding or removing a second factor needs a fresh
//! sign-in (`operations::second_factor::fresh_enough`); without one the
//! user is sent to sign in again (`prompt=login`) and comes back here.

use actix_web::HttpResponse;

use super::{error_page, first_party, name_of, page_path, render};
use crate::app::Latch;
use crate::directory::RealmState;
use crate::error::Error;
use crate::http::csrf;
use crate::http::form::Params;
use crate::http::pages::{self, PageError};
use crate::ids::UserId;
use crate::login::session::SessionRow;
use crate::operations::second_factor::{self as factor, CredentialView, EnrolTotp, PendingTotp};
use crate::operations::users::{User, UserRef};
use crate::operations::Actor;
use crate::pages::first_party::see_other;
use crate::pages::second_factor::EnrolPage;

const PENDING_PURPOSE: &str = "account authenticator";

/// One credential as the page lists it.
pub(super) struct CredentialLine {
    pub id: String,
    pub kind: &'static str,
    pub label: String,
    pub created: String,
    pub last_used: String,
    /// A second factor the user may rename and remove (not the password).
    pub second_factor: bool,
}

impl From<CredentialView> for CredentialLine {
    fn from(c: CredentialView) -> Self {
        let kind = match c.kind.as_str() {
            "password" => "Password",
            "otp" => "Authenticator app",
            _ => "Recovery codes",
        };
        CredentialLine {
            second_factor: c.kind != "password",
            id: c.id,
            kind,
            label: c.user_label.unwrap_or_default(),
            created: crate::time::format_utc(c.created_ms),
            last_used: c
                .last_used_ms
                .map(crate::time::format_utc)
                .unwrap_or_else(|| "never".into()),
        }
    }
}

/// The user's credentials for the page (empty, and logged, when they
/// cannot be read: the rest of the page still works).
pub(super) async fn lines(state: &Latch, realm: &RealmState, user: &User) -> Vec<CredentialLine> {
    let who = UserRef::Id(UserId(user.id.clone()));
    match factor::list(state, &name_of(realm), &who).await {
        Ok(list) => list.into_iter().map(CredentialLine::from).collect(),
        Err(e) => {
            tracing::error!(error = %e, "account page cannot list credentials");
            Vec::new()
        }
    }
}

/// Signs the user in again (with their second factor), then back here.
fn sign_in_again(state: &Latch, realm: &RealmState) -> HttpResponse {
    let name = &realm.realm.name;
    let back = format!("{}?done=signed-in-again", page_path(name));
    first_party(state, name).begin_with(state, &back, &[("prompt", "login")])
}

/// The account page's actions about credentials.
pub(super) const STEPS: [&str; 5] = [
    "add-totp",
    "confirm-totp",
    "remove-credential",
    "rename-credential",
    "new-recovery-codes",
];

/// Recovery codes, shown once.
#[derive(askama::Template)]
#[template(path = "recovery_codes.html")]
struct RecoveryCodesPage {
    codes: Vec<String>,
    back: String,
}

/// What the account page's forms about credentials carry.
pub(super) struct Request<'a> {
    pub state: &'a Latch,
    pub realm: &'a RealmState,
    pub http: &'a actix_web::HttpRequest,
    pub current: &'a SessionRow,
    pub user: &'a User,
    pub actor: Actor,
    pub form: &'a Params,
}

impl Request<'_> {
    fn field(&self, name: &str) -> String {
        self.form.get(name).ok().flatten().unwrap_or("").to_string()
    }

    fn done(&self, what: &str) -> HttpResponse {
        see_other(&format!(
            "{}?done={what}",
            page_path(&self.realm.realm.name)
        ))
    }

    /// Runs one of the page's [`STEPS`].
    pub async fn act(&self, step: &str) -> HttpResponse {
        match step {
            "add-totp" => self.add_totp().await,
            "confirm-totp" => self.confirm_totp().await,
            "remove-credential" => self.remove().await,
            "new-recovery-codes" => self.new_recovery_codes().await,
            _ => self.rename().await,
        }
    }

    /// "Set up an authenticator app": the enrolment page, once the
    /// session is fresh enough.
    pub async fn add_totp(&self) -> HttpResponse {
        match factor::fresh_enough(self.state, self.realm, self.current).await {
            Ok(true) => {
                let enrolment = factor::new_enrolment(self.state, self.realm, self.user);
                self.enrol_page(enrolment, None)
            }
            Ok(false) => sign_in_again(self.state, self.realm),
            Err(e) => error_page(e.into()),
        }
    }

    fn enrol_page(&self, enrolment: factor::Enrolment, error: Option<&str>) -> HttpResponse {
        let (state, realm) = (self.state, self.realm);
        let (csrf_token, cookie) = csrf::token(
            self.http,
            &crate::pages::cookie_path(realm),
            state.secure_cookies(),
        );
        let page = EnrolPage {
            username: &self.user.username,
            action: format!("{}/actions", page_path(&realm.realm.name)),
            csrf_token,
            auth_request: None,
            step: Some("confirm-totp"),
            pending: state.directory.master().seal_value(
                PENDING_PURPOSE,
                self.current.id.as_bytes(),
                &enrolment.pending,
            ),
            qr_svg: &enrolment.qr_svg,
            uri: &enrolment.uri,
            secret_text: &enrolment.secret_text,
            digits: enrolment.pending.params.digits,
            error,
        };
        let mut response = pages::render(actix_web::http::StatusCode::OK, &page);
        if let Some(cookie) = cookie {
            let _ = response.add_cookie(&cookie);
        }
        response
    }

    /// The code from the new app: saved when right and still fresh.
    pub async fn confirm_totp(&self) -> HttpResponse {
        let pending: Option<PendingTotp> = self.state.directory.master().open_value(
            PENDING_PURPOSE,
            self.current.id.as_bytes(),
            &self.field("pending"),
        );
        let Some(pending) = pending else {
            return error_page(PageError::bad_request(
                "expired",
                "This page has expired. Start again.",
            ));
        };
        let input = EnrolTotp {
            realm: name_of(self.realm),
            pending: pending.clone(),
            code: self.field("totp"),
            label: Some(self.field("userLabel")),
        };
        match factor::enrol_own(self.state, &self.actor, self.realm, self.current, input).await {
            Ok(Some(_)) => self.done("totp-added"),
            Ok(None) => sign_in_again(self.state, self.realm),
            Err(Error::Invalid(words)) => {
                let enrolment = factor::enrolment_of(self.realm, self.user, pending);
                self.enrol_page(enrolment, Some(&words))
            }
            Err(e) => error_page(e.into()),
        }
    }

    /// New recovery codes, shown once (never cached by the browser).
    pub async fn new_recovery_codes(&self) -> HttpResponse {
        let (state, realm) = (self.state, self.realm);
        match factor::new_recovery_codes(state, &self.actor, realm, self.current).await {
            Ok(Some(codes)) => {
                let page = RecoveryCodesPage {
                    codes,
                    back: page_path(&realm.realm.name),
                };
                let mut response = pages::render(actix_web::http::StatusCode::OK, &page);
                response.headers_mut().insert(
                    actix_web::http::header::CACHE_CONTROL,
                    actix_web::http::header::HeaderValue::from_static("no-store"),
                );
                response
            }
            Ok(None) => sign_in_again(state, realm),
            Err(e) => error_page(e.into()),
        }
    }

    /// Removes one of the user's second factors.
    pub async fn remove(&self) -> HttpResponse {
        let id = self.field("credential");
        match factor::remove_own(self.state, &self.actor, self.realm, self.current, &id).await {
            Ok(Some(_)) => self.done("credential-removed"),
            Ok(None) => sign_in_again(self.state, self.realm),
            Err(Error::Invalid(words)) => {
                let (state, realm, http) = (self.state, self.realm, self.http);
                render(state, realm, http, self.current, self.user, Some(&words)).await
            }
            Err(e) => error_page(e.into()),
        }
    }

    /// Renames one of the user's second factors.
    pub async fn rename(&self) -> HttpResponse {
        let who = UserRef::Id(UserId(self.user.id.clone()));
        let (id, label) = (self.field("credential"), self.field("userLabel"));
        let name = name_of(self.realm);
        match factor::rename(self.state, &self.actor, &name, &who, &id, &label).await {
            Ok(()) => self.done("credential-renamed"),
            Err(e) => error_page(e.into()),
        }
    }
}
