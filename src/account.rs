//! The account page (`/realms/{realm}/account`): a signed-in user sees
//! where they are signed in, signs out one device or every other one, and
//! changes their password (which signs out every other device).
//!
//! It works on the realm's browser session: without one, it signs the user
//! in through the realm's `account-console` client like any relying party.
//! An app that sent the user here (Keycloak's `referrer` and `referrer_uri`)
//! gets a link back when the URI is one of its redirect URIs.
//!
//! The same path is Keycloak's account API for a bearer token that asks
//! for JSON (`GET` with `Accept: application/json`): the user's own
//! profile, read with the token alone, never the session cookie.

mod signing_in;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpMessage, HttpRequest, HttpResponse};
use askama::Template;
use serde::Serialize;

use crate::app::Latch;
use crate::directory::bootstrap::{account_redirect_uri, ACCOUNT_CLIENT};
use crate::directory::RealmState;
use crate::error::Error;
use crate::http::csrf;
use crate::http::errors::ApiError;
use crate::http::form::Params;
use crate::http::pages::{self, PageError};
use crate::ids::{RealmName, Sid, UserId};
use crate::login::session::SessionRow;
use crate::operations::credentials::{self, PasswordChange};
use crate::operations::sessions;
use crate::operations::users::{self as user_ops, Attributes, User, UserRef};
use crate::operations::Actor;
use crate::pages::first_party::{see_other, FirstParty};

fn first_party(state: &Latch, realm: &str) -> FirstParty {
    FirstParty {
        realm: realm.to_string(),
        client_id: ACCOUNT_CLIENT,
        redirect_uri: account_redirect_uri(&state.public_base, realm),
        cookie: "LATCH_ACCOUNT_LOGIN",
        cookie_path: format!("/realms/{realm}/account"),
    }
}

fn page_path(realm: &str) -> String {
    format!("/realms/{realm}/account")
}

/// "Firefox on Linux", from a User-Agent header: enough for a person to
/// recognise their device, not a full parser.
pub fn describe_device(user_agent: Option<&str>) -> String {
    let Some(ua) = user_agent.filter(|u| !u.is_empty()) else {
        return "Unknown device".into();
    };
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("HeadlessChrome/", "Chrome (headless)"),
        ("Chrome/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
    ]
    .into_iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| name);
    let system = [
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ]
    .into_iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_string(),
        (None, Some(s)) => format!("A browser on {s}"),
        (None, None) => ua.chars().take(40).collect(),
    }
}

struct SessionLine {
    id: String,
    device: String,
    ip: String,
    started: String,
    last_seen: String,
    apps: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage<'a> {
    realm: &'a str,
    username: &'a str,
    action: String,
    csrf_token: String,
    sessions: Vec<SessionLine>,
    credentials: Vec<signing_in::CredentialLine>,
    notice: Option<&'static str>,
    error: Option<&'a str>,
    back: Option<BackLink>,
}

/// The way back to the app that sent the user here.
struct BackLink {
    app: String,
    uri: String,
}

/// Keycloak's `referrer` (a client of the realm) and `referrer_uri` (one of
/// its redirect URIs, an http(s) address): anything else shows no link.
async fn back_link(state: &Latch, realm: &RealmState, query: Option<&Params>) -> Option<BackLink> {
    let query = query?;
    let client_id = query.get("referrer").ok().flatten()?;
    let uri = query.get("referrer_uri").ok().flatten()?;
    let client = state.directory.client(realm, client_id).await.ok()??;
    let web = uri.starts_with("https://") || uri.starts_with("http://");
    let known = crate::oidc::authorize::redirect_uri_allowed(&client, uri);
    (client.enabled && web && known).then(|| BackLink {
        app: client.client_id.clone(),
        uri: uri.to_string(),
    })
}

fn notice(code: Option<&str>) -> Option<&'static str> {
    match code? {
        "signed-out-device" => {
            Some("That device is signed out. Its apps were told, and its tokens no longer work.")
        }
        "signed-out-others" => Some("Every other device is signed out."),
        "password-changed" => {
            Some("Your password is changed, and every other device is signed out.")
        }
        "totp-added" => Some("Your authenticator app is set up."),
        "credential-removed" => Some("Removed. Devices that signed in with it are signed out."),
        "credential-renamed" => Some("Renamed."),
        "signed-in-again" => Some("You signed in again: you can now change how you sign in."),
        _ => None,
    }
}

async fn render(
    state: &Latch,
    realm: &RealmState,
    req: &HttpRequest,
    current: &SessionRow,
    user: &User,
    error: Option<&str>,
) -> HttpResponse {
    let mine = Some(UserRef::Id(UserId(user.id.clone())));
    let lines = match sessions::list(state, &name_of(realm), mine).await {
        Ok(list) => list,
        Err(e) => {
            tracing::error!(error = %e, "account page cannot list sessions");
            return error_page(PageError::unavailable(
                "Your sessions cannot be listed right now; try again shortly.",
            ));
        }
    };
    let sessions = lines
        .into_iter()
        .map(|s| SessionLine {
            current: s.id.as_str() == current.id,
            device: describe_device(s.user_agent.as_deref()),
            ip: s.ip.unwrap_or_else(|| "unknown".into()),
            started: crate::time::format_utc(s.started_ms),
            last_seen: crate::time::format_utc(s.last_seen_ms),
            apps: s
                .clients
                .values()
                .filter(|c| c.as_str() != ACCOUNT_CLIENT)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            id: s.id.into_string(),
        })
        .collect();
    let (csrf_token, cookie) = csrf::token(
        req,
        &crate::pages::cookie_path(realm),
        state.secure_cookies(),
    );
    let query = crate::http::form::from_query(req).ok();
    let done = query.as_ref().and_then(|q| q.get("done").ok().flatten());
    let back = back_link(state, realm, query.as_ref()).await;
    let page = AccountPage {
        realm: &realm.realm.name,
        username: &user.username,
        action: format!("{}/actions", page_path(&realm.realm.name)),
        csrf_token,
        sessions,
        credentials: signing_in::lines(state, realm, user).await,
        notice: notice(done),
        error,
        back,
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let mut response = pages::render(status, &page);
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

fn error_page(e: PageError) -> HttpResponse {
    use actix_web::ResponseError;
    e.error_response()
}

async fn signed_in(
    state: &Latch,
    realm: &RealmState,
    req: &HttpRequest,
) -> Result<Option<(SessionRow, User)>, HttpResponse> {
    crate::pages::current_session(state, realm, req)
        .await
        .map_err(error_page)
}

/// `GET /realms/{realm}/account`: the page, or for a bearer token asking
/// for JSON the account API.
pub async fn show(
    state: web::Data<Latch>,
    path: web::Path<String>,
    req: HttpRequest,
) -> HttpResponse {
    if wants_json(&req) {
        use actix_web::ResponseError;
        return match profile(&state, &path, &req).await {
            Ok(response) => response,
            Err(e) => e.error_response(),
        };
    }
    let realm = match state.directory.realm(&path).await {
        Ok(realm) => realm,
        Err(e) => return error_page(e.into()),
    };
    match signed_in(&state, &realm, &req).await {
        Ok(Some((current, user))) => render(&state, &realm, &req, &current, &user, None).await,
        Ok(None) => {
            // Back here after signing in, with the app's referrer kept.
            let here = req.uri().path_and_query().map(|p| p.as_str());
            let return_to = here.unwrap_or_default().to_string();
            first_party(&state, &realm.realm.name).begin(&state, &return_to)
        }
        Err(response) => response,
    }
}

/// A bearer token, or a caller asking for JSON rather than a page.
fn wants_json(req: &HttpRequest) -> bool {
    if crate::oidc::userinfo::bearer(req).is_some() {
        return true;
    }
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    accept.contains("application/json") && !accept.contains("text/html")
}

/// Keycloak's account representation of the user themselves; the address
/// only for a token granted the `email` scope.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AccountRepresentation {
    id: String,
    username: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
    attributes: Attributes,
}

/// The account API: a user's access token — for the `account` audience, or
/// granted `profile` — reads its own user.
async fn profile(state: &Latch, realm: &str, req: &HttpRequest) -> Result<HttpResponse, ApiError> {
    use crate::oidc::userinfo::invalid_token;
    let realm = crate::oidc::realm(state, realm).await?;
    let token = crate::oidc::userinfo::bearer(req)
        .ok_or_else(|| invalid_token("a bearer access token is required"))?;
    let claims = state
        .access
        .check(&realm, &token)
        .map_err(|e| invalid_token(&e.to_string()))?;
    let client = state
        .directory
        .client(&realm, &claims.client_id)
        .await?
        .ok_or_else(|| invalid_token("the token's client no longer exists"))?;
    // The token's client decides which browser origins may read the answer.
    req.extensions_mut()
        .insert(crate::http::cors::CorsClient(client));
    let scopes = crate::tokens::Scopes::parse(&claims.scope).unwrap_or_default();
    if !claims.aud.contains(ACCOUNT_AUDIENCE) && !scopes.contains("profile") {
        let mut e = ApiError::new(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            "the token is neither for the account audience nor granted the profile scope",
        );
        e.challenge = Some(r#"Bearer error="insufficient_scope", scope="profile""#.into());
        return Err(e);
    }
    let sid = claims
        .sid
        .clone()
        .ok_or_else(|| invalid_token("the token was not issued to a user"))?;
    let actor = Actor::User {
        user_id: UserId(claims.sub.clone()),
        sid: Some(Sid(sid)),
        ip: crate::http::peer::ip(req),
    };
    let (user, attributes) = user_ops::own_profile(state, &actor, &name_of(&realm))
        .await
        .map_err(|_| invalid_token("the token's user no longer exists"))?;
    let email = scopes.contains("email");
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(AccountRepresentation {
            id: user.id,
            username: user.username,
            first_name: user.first_name,
            last_name: user.last_name,
            email: user.email.filter(|_| email),
            email_verified: email.then_some(user.email_verified),
            attributes,
        }))
}

/// Keycloak's audience for its account API.
const ACCOUNT_AUDIENCE: &str = "account";

/// `GET /realms/{realm}/account/callback`
pub async fn callback(
    state: web::Data<Latch>,
    path: web::Path<String>,
    req: HttpRequest,
) -> HttpResponse {
    let fp = first_party(&state, &path);
    match fp.finish(&state, &req).await {
        // The tokens are not needed: the page works on the browser session
        // the sign-in just started.
        Ok((_tokens, return_to)) => {
            let mut response = see_other(&return_to);
            fp.clear(&state, &mut response);
            response
        }
        Err(e) => error_page(e),
    }
}

fn name_of(realm: &RealmState) -> RealmName {
    RealmName(realm.realm.name.clone())
}

/// `POST /realms/{realm}/account/actions`
pub async fn act(
    state: web::Data<Latch>,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let realm = match state.directory.realm(&path).await {
        Ok(realm) => realm,
        Err(e) => return error_page(e.into()),
    };
    let form = match crate::http::form::from_body(&req, body).await {
        Ok(form) => form,
        Err(e) => return error_page(e.into()),
    };
    if let Err(e) = csrf::check(&req, &form, state.secure_cookies()) {
        return error_page(e);
    }
    let (current, user) = match signed_in(&state, &realm, &req).await {
        Ok(Some(s)) => s,
        Ok(None) => return see_other(&page_path(&realm.realm.name)),
        Err(response) => return response,
    };
    let actor = Actor::User {
        user_id: UserId(user.id.clone()),
        sid: None,
        ip: req.peer_addr().map(|a| a.ip().to_string()),
    };
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or("").to_string();
    let (name, keep) = (name_of(&realm), Sid(current.id.clone()));
    let done = |result: Result<_, Error>, done: &str| match result {
        Ok(_) => see_other(&format!("{}?done={done}", page_path(&realm.realm.name))),
        Err(e) => error_page(e.into()),
    };
    match field("action").as_str() {
        "end-session" => {
            // The one in use here is signed out with "sign-out".
            let sid = Sid(field("session"));
            if sid == keep {
                return not_another_session();
            }
            match sessions::end(&state, &actor, &name, &sid).await {
                // Not theirs, or no longer live.
                Err(Error::NotFound(_)) => not_another_session(),
                result => done(result, "signed-out-device"),
            }
        }
        "end-others" => {
            let user_id = UserId(user.id.clone());
            let result = sessions::end_others(&state, &actor, &name, &user_id, &keep).await;
            done(result, "signed-out-others")
        }
        "change-password" => {
            change_password(&state, &realm, &req, &current, &user, actor, &form).await
        }
        "sign-out" => sign_out(&state, &realm, &actor, &keep).await,
        step if signing_in::STEPS.contains(&step) => {
            let request = signing_in::Request {
                state: &state,
                realm: &realm,
                http: &req,
                current: &current,
                user: &user,
                actor,
                form: &form,
            };
            request.act(step).await
        }
        _ => error_page(PageError::bad_request(
            "unknown_action",
            "The form asked for something this page does not do.",
        )),
    }
}

fn not_another_session() -> HttpResponse {
    error_page(PageError::bad_request(
        "unknown_session",
        "That is not one of your other sessions.",
    ))
}

/// Signs out here: this session ends and its cookie goes.
async fn sign_out(state: &Latch, realm: &RealmState, actor: &Actor, current: &Sid) -> HttpResponse {
    if let Err(e) = sessions::end(state, actor, &name_of(realm), current).await {
        return error_page(e.into());
    }
    let mut response = see_other(&page_path(&realm.realm.name));
    for gone in crate::http::cookies::session_ended(&realm.realm.name, state.secure_cookies()) {
        let _ = response.add_cookie(&gone);
    }
    response
}

/// The user changes their password, proving the current one: every other
/// device is signed out. Refusals come back on the page in the words every
/// other path uses.
async fn change_password(
    state: &Latch,
    realm: &RealmState,
    req: &HttpRequest,
    current: &SessionRow,
    user: &User,
    actor: Actor,
    form: &Params,
) -> HttpResponse {
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or("").to_string();
    let (old, new, confirm) = (
        field("current"),
        field("password-new"),
        field("password-confirm"),
    );
    let problem = if new.is_empty() {
        Some("Enter a new password.")
    } else if new != confirm {
        Some("The two new passwords do not match.")
    } else {
        None
    };
    if let Some(problem) = problem {
        return render(state, realm, req, current, user, Some(problem)).await;
    }
    let change = PasswordChange::Own {
        current: old,
        keep_sid: Sid(current.id.clone()),
    };
    let who = UserRef::Id(UserId(user.id.clone()));
    let name = RealmName(realm.realm.name.clone());
    match credentials::set_password(state, &actor, &name, &who, new, change).await {
        Ok(_) => see_other(&format!(
            "{}?done=password-changed",
            page_path(&realm.realm.name)
        )),
        Err(Error::Invalid(words)) => render(state, realm, req, current, user, Some(&words)).await,
        Err(e) => error_page(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::describe_device;

    #[test]
    fn devices_are_named_from_the_user_agent() {
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(describe_device(Some(firefox)), "Firefox on Linux");
        let chrome = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
        assert_eq!(describe_device(Some(chrome)), "Chrome on Windows");
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        assert_eq!(describe_device(Some(iphone)), "Safari on iPhone");
        assert_eq!(describe_device(None), "Unknown device");
    }
}
