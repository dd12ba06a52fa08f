//! The admin console (`/admin/console`): server-rendered pages over the
//! same operations as the admin REST API. The operator signs in through
//! Latch's own OIDC login in realm `master` (code + PKCE, client
//! `security-admin-console`); the console keeps the tokens in a sealed,
//! HttpOnly cookie and checks the access token on every request exactly as
//! the API does, so ending the operator's session signs them out here too.

mod actions;
mod pages;

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::admin::Admin;
use crate::app::Latch;
use crate::directory::bootstrap::{console_redirect_uri, CONSOLE_CLIENT, MASTER_REALM};
use crate::http::csrf;
use crate::http::errors::ApiError;
use crate::http::pages::PageError;
use crate::pages::first_party::{see_other, FirstParty};
use crate::tokens::grants::{self, Context};

pub const PATH: &str = "/admin/console";
const COOKIE: &str = "LATCH_CONSOLE";
const SEAL: &str = "console session";

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route(PATH, web::get().to(pages::realms))
        .route("/admin/console/callback", web::get().to(callback))
        .route("/admin/console/logout", web::post().to(logout))
        .route("/admin/console/actions", web::post().to(actions::act))
        .route("/admin/console/realms/{realm}", web::get().to(pages::realm))
        .route(
            "/admin/console/realms/{realm}/users",
            web::get().to(pages::users),
        )
        .route(
            "/admin/console/realms/{realm}/users/{id}",
            web::get().to(pages::user),
        )
        .route(
            "/admin/console/realms/{realm}/clients",
            web::get().to(pages::clients),
        )
        .route(
            "/admin/console/realms/{realm}/clients/{id}",
            web::get().to(pages::client),
        )
        .route(
            "/admin/console/realms/{realm}/sessions",
            web::get().to(pages::sessions),
        )
        .route(
            "/admin/console/realms/{realm}/keys",
            web::get().to(pages::keys),
        )
        .route(
            "/admin/console/realms/{realm}/events",
            web::get().to(pages::events),
        );
}

fn first_party(state: &Latch) -> FirstParty {
    FirstParty {
        realm: MASTER_REALM.into(),
        client_id: CONSOLE_CLIENT,
        redirect_uri: console_redirect_uri(&state.public_base),
        cookie: "LATCH_CONSOLE_LOGIN",
        cookie_path: PATH.into(),
    }
}

/// What the console cookie holds (sealed).
#[derive(Serialize, Deserialize)]
struct Tokens {
    access: String,
    refresh: Option<String>,
}

fn cookie(state: &Latch) -> crate::http::cookies::Spec {
    crate::http::cookies::Spec::new(COOKIE, None, PATH, state.secure_cookies())
}

fn session_cookie(state: &Latch, tokens: &Tokens) -> Cookie<'static> {
    cookie(state).build(state.directory.master().seal_value(
        SEAL,
        CONSOLE_CLIENT.as_bytes(),
        tokens,
    ))
}

pub(crate) fn error_page(e: PageError) -> HttpResponse {
    use actix_web::ResponseError;
    e.error_response()
}

/// An admin API error shown as a page.
pub(crate) fn api_error_page(e: ApiError) -> HttpResponse {
    let message = match &e.field {
        Some(field) if !field.is_empty() => format!("{} (field `{field}`)", e.error_description),
        _ => e.error_description.clone(),
    };
    error_page(PageError::new(e.status, e.error, message))
}

/// The signed-in operator, plus a refreshed cookie to set when the access
/// token had to be renewed. Otherwise the response to send instead: the
/// sign-in, or a page saying the account is no administrator.
pub(crate) async fn operator(
    state: &Latch,
    req: &HttpRequest,
) -> Result<(Admin, Option<Cookie<'static>>), HttpResponse> {
    let ip = req.peer_addr().map(|a| a.ip().to_string());
    let sign_in = || {
        let return_to = if req.method() == actix_web::http::Method::GET {
            req.uri()
                .path_and_query()
                .map(|p| p.as_str())
                .unwrap_or(PATH)
        } else {
            PATH
        };
        first_party(state).begin(state, return_to)
    };
    let tokens: Option<Tokens> = cookie(state).read(req).and_then(|c| {
        state
            .directory
            .master()
            .open_value(SEAL, CONSOLE_CLIENT.as_bytes(), &c)
    });
    let Some(tokens) = tokens else {
        return Err(sign_in());
    };
    match Admin::from_token(state, &tokens.access, ip.clone()).await {
        Ok(admin) => return Ok((admin, None)),
        Err(e) if e.status == StatusCode::FORBIDDEN => return Err(not_an_admin()),
        Err(e) if e.status != StatusCode::UNAUTHORIZED => return Err(api_error_page(e)),
        Err(_) => {}
    }
    // The access token expired (or was revoked): one refresh, if the
    // session still lives; otherwise sign in again.
    let Some(refresh) = tokens.refresh else {
        return Err(sign_in());
    };
    let renewed = renew(state, &refresh).await.ok_or_else(sign_in)?;
    let admin = match Admin::from_token(state, &renewed.access, ip).await {
        Ok(admin) => admin,
        Err(e) if e.status == StatusCode::FORBIDDEN => return Err(not_an_admin()),
        Err(_) => return Err(sign_in()),
    };
    Ok((admin, Some(session_cookie(state, &renewed))))
}

fn not_an_admin() -> HttpResponse {
    error_page(PageError::new(
        StatusCode::FORBIDDEN,
        "forbidden",
        "Your account does not hold the `admin` role of realm `master`.",
    ))
}

async fn renew(state: &Latch, refresh: &str) -> Option<Tokens> {
    let realm = state.directory.realm(MASTER_REALM).await.ok()?;
    let client = state
        .directory
        .client(&realm, CONSOLE_CLIENT)
        .await
        .ok()??;
    let issuer = state.issuer(MASTER_REALM);
    let ctx = Context {
        directory: &state.directory,
        follower: &state.follower,
        status_lists: &state.status_lists,
        fanout: state.fanout.as_ref(),
        realm: &realm,
        issuer: &issuer,
        now_ms: state.clock.now_ms(),
    };
    let response = grants::refresh(&ctx, &client, refresh, None, None)
        .await
        .ok()?;
    Some(Tokens {
        access: response.access_token,
        refresh: response.refresh_token,
    })
}

/// The CSRF value for console forms, with its cookie when new.
pub(crate) fn csrf_token(state: &Latch, req: &HttpRequest) -> (String, Option<Cookie<'static>>) {
    csrf::token(req, PATH, state.secure_cookies())
}

/// `GET /admin/console/callback`
async fn callback(state: web::Data<Latch>, req: HttpRequest) -> HttpResponse {
    let fp = first_party(&state);
    match fp.finish(&state, &req).await {
        Ok((tokens, return_to)) => {
            let tokens = Tokens {
                access: tokens.access_token,
                refresh: tokens.refresh_token,
            };
            let target = if return_to.starts_with(PATH) {
                return_to
            } else {
                PATH.to_string()
            };
            let mut response = see_other(&target);
            fp.clear(&state, &mut response);
            let _ = response.add_cookie(&session_cookie(&state, &tokens));
            response
        }
        Err(e) => error_page(e),
    }
}

/// `POST /admin/console/logout`: ends the operator's session (their
/// tokens die everywhere) and forgets the cookie.
async fn logout(state: web::Data<Latch>, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let form = match crate::http::form::from_body(&req, body).await {
        Ok(form) => form,
        Err(e) => return error_page(e.into()),
    };
    if let Err(e) = csrf::check(&req, &form, state.secure_cookies()) {
        return error_page(e);
    }
    if let Ok((admin, _)) = operator(&state, &req).await {
        if let Some(sid) = admin.sid.clone() {
            let _ =
                crate::admin::sessions::end_session(&state, &admin, MASTER_REALM.to_string(), sid)
                    .await;
        }
    }
    let mut response = crate::http::pages::page(StatusCode::OK).body(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Signed out</title>\
             <link rel=\"stylesheet\" href=\"/resources/latch.css\"></head><body><main class=\"card\">\
             <h1>You are signed out of the console</h1><p><a href=\"/admin/console\">Sign in again</a></p>\
             </main></body></html>",
        );
    let _ = response.add_cookie(&cookie(&state).removal());
    response
}
