//! The pages Keycloak's JavaScript adapter frames: the third-party cookie
//! check (`3p-cookies/step1.html`, `step2.html`) and the login-status
//! iframe (OIDC Session Management 1.0 §3.2, the `check_session_iframe`,
//! with Keycloak's message: `client_id sid`), with its origin check
//! (`login-status-iframe.html/init`).
//!
//! They are the only pages other sites may frame: `frame-ancestors` lists
//! the realm's web origins (`http::pages::render_framed`). The iframe
//! compares what an app sends with the session's script-readable companion
//! cookie (`http::cookies::session_state`); a frame reads that cookie only
//! where the browser lets a third-party frame have cookies (see README,
//! "Keycloak compatibility").

use actix_web::cookie::time::Duration;
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::app::Latch;
use crate::directory::RealmState;
use crate::http::cookies;
use crate::http::pages::{self, PageError};

/// How long the third-party check's test cookie lives.
const CHECK_COOKIE_S: i64 = 60;

#[derive(Template)]
#[template(path = "framed.html")]
struct FramedPage<'a> {
    title: &'a str,
    /// Under `/resources/js/`.
    script: &'a str,
    /// The page's `data-*` attributes, which its script reads.
    data: Vec<(&'a str, String)>,
}

async fn framed(state: &Latch, realm: &RealmState, page: FramedPage<'_>) -> HttpResponse {
    match state.directory.web_origins(realm).await {
        Ok(origins) => pages::render_framed(StatusCode::OK, &page, &origins),
        Err(e) => crate::pages::error_page(e.into()),
    }
}

/// `GET /realms/{realm}/protocol/openid-connect/3p-cookies/step1.html`:
/// sets the test cookie and moves on to step 2.
pub async fn third_party_step1(
    state: web::Data<Latch>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let realm = state.directory.realm(&path).await?;
    let page = FramedPage {
        title: "Third-party cookie check",
        script: "3p-cookies-step1.js",
        data: Vec::new(),
    };
    let mut response = framed(&state, &realm, page).await;
    let mut cookie = cookies::third_party_check(&realm.realm.name, state.secure_cookies())
        .build("supported".into());
    cookie.set_max_age(Duration::seconds(CHECK_COOKIE_S));
    let _ = response.add_cookie(&cookie);
    Ok(response)
}

/// `GET …/3p-cookies/step2.html`: tells the framing app (`supported` or
/// `unsupported`, by `postMessage`) whether the test cookie came back.
pub async fn third_party_step2(
    state: web::Data<Latch>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let realm = state.directory.realm(&path).await?;
    let check = cookies::third_party_check(&realm.realm.name, state.secure_cookies());
    let sent = check.read(&req).is_some();
    let page = FramedPage {
        title: "Third-party cookie check",
        script: "3p-cookies-step2.js",
        data: vec![("cookie-sent", sent.to_string())],
    };
    let mut response = framed(&state, &realm, page).await;
    let _ = response.add_cookie(&check.removal());
    Ok(response)
}

/// `GET …/login-status-iframe.html`: the iframe (its script does the work).
pub async fn login_status_iframe(
    state: web::Data<Latch>,
    path: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let realm = state.directory.realm(&path).await?;
    let name = &realm.realm.name;
    let cookie = cookies::session_state(name, state.secure_cookies());
    let page = FramedPage {
        title: "Login status",
        script: "login-status-iframe.js",
        data: vec![
            ("cookie", cookie.spec.name),
            (
                "init",
                format!("/realms/{name}/protocol/openid-connect/login-status-iframe.html/init"),
            ),
        ],
    };
    Ok(framed(&state, &realm, page).await)
}

/// `GET …/login-status-iframe.html/init?client_id=&origin=`: 204 when
/// `origin` is one of the enabled client's web origins, 403 otherwise. The
/// iframe asks before it answers an app: `origin` is the one the browser
/// gave the app's message.
pub async fn login_status_init(
    state: web::Data<Latch>,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let realm = state.directory.realm(&path).await?;
    let params = crate::http::form::from_query(&req)?;
    let client_id = params.get("client_id")?.unwrap_or_default();
    let origin = params.get("origin")?.unwrap_or_default();
    let client = match client_id {
        "" => None,
        id => state.directory.client(&realm, id).await?,
    };
    let allowed =
        client.is_some_and(|c| c.enabled && !origin.is_empty() && c.allows_origin(origin));
    let status = if allowed {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::FORBIDDEN
    };
    Ok(HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}
