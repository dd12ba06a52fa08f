//! The console's pages: each reads through the same operations the admin
//! API's handlers call, and renders one template. What every page shares
//! lives here: the operator and the navigation, the notice an action left.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use super::{api_error_page, csrf_token, operator};
use crate::admin::Admin;
use crate::app::Latch;

/// The navigation and the things every console page carries.
pub(crate) struct Nav {
    pub realm: Option<String>,
    pub section: &'static str,
    pub operator: String,
    pub csrf_token: String,
    pub notice: Option<&'static str>,
}

/// What an action's `done` code says on the page it returns to.
fn notice(code: &str) -> Option<&'static str> {
    Some(match code {
        "realm-created" => "Realm created.",
        "realm-updated" => "Settings saved.",
        "realm-logged-out" => {
            "Every session of the realm has ended and every token it issued is rejected."
        }
        "realm-deleted" => "Realm deleted; every token it issued is rejected.",
        "user-created" => "User created.",
        "user-logged-out" => "The user is signed out everywhere.",
        "user-disabled" => "The user is disabled and signed out everywhere.",
        "user-enabled" => "The user may sign in again.",
        "lockout-cleared" => "The user's failed sign-ins are forgotten; they may sign in again.",
        "user-deleted" => "User deleted; every token of theirs is rejected.",
        "password-set" => "Password set; the user's sessions and tokens are revoked.",
        "session-ended" => {
            "Session ended: its tokens are rejected everywhere and its applications notified."
        }
        "client-created" => "Client created.",
        "client-revoked" => "Every token issued to the client is rejected.",
        "client-deleted" => "Client deleted; every token it held is rejected.",
        "keys-rotated" => "New keys are published and will sign once staged.",
        "keys-emergency" => "The old keys are retired; every token they signed is rejected.",
        _ => return None,
    })
}

/// The start of every page: the operator, the nav, the cookies to set.
pub(crate) async fn start(
    state: &Latch,
    req: &HttpRequest,
    realm: Option<String>,
    section: &'static str,
) -> Result<(Admin, Nav, Vec<Cookie<'static>>), HttpResponse> {
    let (admin, refreshed) = operator(state, req).await?;
    let (csrf, csrf_cookie) = csrf_token(state, req);
    let done = crate::http::form::from_query(req)
        .ok()
        .and_then(|q| q.get("done").ok().flatten().map(str::to_string));
    let nav = Nav {
        realm,
        section,
        operator: admin.username.clone(),
        csrf_token: csrf,
        notice: done.as_deref().and_then(notice),
    };
    let cookies = refreshed.into_iter().chain(csrf_cookie).collect();
    Ok((admin, nav, cookies))
}

pub(crate) fn respond(template: &impl Template, cookies: Vec<Cookie<'static>>) -> HttpResponse {
    let mut response = crate::http::pages::render(StatusCode::OK, template);
    for cookie in cookies {
        let _ = response.add_cookie(&cookie);
    }
    response
}

macro_rules! page_start {
    ($state:expr, $req:expr, $realm:expr, $section:expr) => {
        match start(&$state, &$req, $realm, $section).await {
            Ok(parts) => parts,
            Err(response) => return response,
        }
    };
}

macro_rules! load {
    ($e:expr) => {
        match $e.await {
            Ok(value) => value,
            Err(e) => return api_error_page(e.into()),
        }
    };
}

mod audit;
mod client;
mod people;
mod realm;

pub use audit::{events, keys};
pub use client::{client, clients};
pub use people::{sessions, user, users};
pub use realm::{realm, realms};
