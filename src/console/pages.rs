//! The console's pages: each reads through the same functions the admin
//! API's handlers call.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{api_error_page, csrf_token, operator};
use crate::account::describe_device;
use crate::admin::{self, Admin};
use crate::app::Latch;
use crate::ids::{ClientRowId, RealmName};
use crate::operations::clients::{self, Client, ClientRef};
use crate::operations::events::{self, EventQuery};
use crate::operations::users::User;
use crate::operations::{keys, realms};
use crate::time::format_utc;

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

// ---- realms ----------------------------------------------------------

struct RealmLine {
    name: String,
    issuer: String,
    access: String,
    session: String,
}

fn duration(seconds: i64) -> String {
    match seconds {
        s if s % 86_400 == 0 && s >= 86_400 => format!("{} d", s / 86_400),
        s if s % 3_600 == 0 && s >= 3_600 => format!("{} h", s / 3_600),
        s if s % 60 == 0 && s >= 60 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

#[derive(Template)]
#[template(path = "console/realms.html")]
struct RealmsPage {
    nav: Nav,
    realms: Vec<RealmLine>,
}

pub async fn realms(state: web::Data<Latch>, req: HttpRequest) -> HttpResponse {
    let (_admin, nav, cookies) = page_start!(state, req, None, "realms");
    let list = load!(realms::list(&state));
    let realms = list
        .iter()
        .map(|r| RealmLine {
            issuer: state.issuer(&r.name),
            access: duration(r.access_token_lifetime_s),
            session: duration(r.session_lifetime_s),
            name: r.name.clone(),
        })
        .collect();
    respond(&RealmsPage { nav, realms }, cookies)
}

struct Settings {
    access: i64,
    id_token: i64,
    refresh: i64,
    session: i64,
    offline: i64,
    rotation: i64,
}

#[derive(Template)]
#[template(path = "console/realm.html")]
struct RealmPage {
    nav: Nav,
    realm: String,
    issuer: String,
    window: String,
    unexpired: usize,
    exposed: usize,
    settings: Settings,
}

pub async fn realm(
    state: web::Data<Latch>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let name = path.into_inner();
    let (_admin, nav, cookies) = page_start!(state, req, Some(name.clone()), "overview");
    let realm = RealmName(name.clone());
    let exposure = load!(realms::exposure(&state, &realm));
    let r = load!(realms::find(&state, &realm));
    let page = RealmPage {
        nav,
        issuer: state.issuer(&name),
        realm: name,
        window: duration(exposure.window_s),
        unexpired: exposure.unexpired,
        exposed: exposure.revoked_unexpired,
        settings: Settings {
            access: r.access_token_lifetime_s,
            id_token: r.id_token_lifetime_s,
            refresh: r.refresh_token_lifetime_s,
            session: r.session_lifetime_s,
            offline: r.offline_token_lifetime_s,
            rotation: r.key_rotation_interval_s,
        },
    };
    respond(&page, cookies)
}

// ---- users -----------------------------------------------------------

struct UserLine {
    id: String,
    username: String,
    email: String,
    name: String,
    enabled: bool,
    created: String,
    must_update_password: bool,
    locked_until: Option<String>,
    failures: i32,
}

impl From<&User> for UserLine {
    fn from(u: &User) -> Self {
        UserLine {
            id: u.id.clone(),
            username: u.username.clone(),
            email: u.email.clone().unwrap_or_default(),
            name: [u.first_name.as_deref(), u.last_name.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" "),
            enabled: u.enabled,
            created: format_utc(u.created_at_ms),
            must_update_password: u.must_update_password(),
            locked_until: (u.locked_until_ms > crate::time::now_ms())
                .then(|| format_utc(u.locked_until_ms)),
            failures: u.failed_logins,
        }
    }
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage {
    nav: Nav,
    realm: String,
    search: String,
    users: Vec<UserLine>,
}

pub async fn users(
    state: web::Data<Latch>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let realm = path.into_inner();
    let (_admin, nav, cookies) = page_start!(state, req, Some(realm.clone()), "users");
    let search = crate::http::form::from_query(&req)
        .ok()
        .and_then(|q| q.get("search").ok().flatten().map(str::to_string))
        .unwrap_or_default();
    let filter = admin::users::UserSearch {
        username: None,
        email: None,
        search: Some(search.clone()).filter(|s| !s.is_empty()),
        exact: None,
        first: None,
        max: Some(admin::MAX_PAGE),
    };
    let list = load!(admin::users::search_users(&state, realm.clone(), &filter));
    let users = list.iter().map(UserLine::from).collect();
    respond(
        &UsersPage {
            nav,
            realm,
            search,
            users,
        },
        cookies,
    )
}

pub(crate) struct SessionLine {
    id: String,
    username: String,
    device: String,
    ip: String,
    started: String,
    last_seen: String,
    clients: String,
}

fn session_lines(list: Vec<admin::sessions::SessionRepresentation>) -> Vec<SessionLine> {
    list.into_iter()
        .map(|s| SessionLine {
            device: describe_device(s.user_agent.as_deref()),
            ip: s.ip_address.unwrap_or_default(),
            started: format_utc(s.start),
            last_seen: format_utc(s.last_access),
            clients: s.clients.into_values().collect::<Vec<_>>().join(", "),
            username: s.username,
            id: s.id,
        })
        .collect()
}

#[derive(Template)]
#[template(path = "console/user.html")]
struct UserPage {
    nav: Nav,
    realm: String,
    user: UserLine,
    sessions: Vec<SessionLine>,
    /// (action, label, button class)
    actions: Vec<(&'static str, &'static str, &'static str)>,
}

pub async fn user(
    state: web::Data<Latch>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (realm, id) = path.into_inner();
    let (_admin, nav, cookies) = page_start!(state, req, Some(realm.clone()), "users");
    let user = load!(admin::users::read_user(&state, realm.clone(), id.clone()));
    let sessions = load!(admin::sessions::sessions_of(
        &state,
        realm.clone(),
        Some(id)
    ));
    let mut actions = vec![("logout-user", "Sign out everywhere", "danger")];
    if user.enabled {
        actions.push(("disable-user", "Disable", "danger"));
    } else {
        actions.push(("enable-user", "Enable", "secondary"));
    }
    if user.locked_until_ms > 0 || user.failed_logins > 0 {
        actions.push(("clear-lockout", "Clear failed sign-ins", "secondary"));
    }
    actions.push(("delete-user", "Delete", "danger"));
    let page = UserPage {
        nav,
        realm,
        user: UserLine::from(&user),
        sessions: session_lines(sessions),
        actions,
    };
    respond(&page, cookies)
}

#[derive(Template)]
#[template(path = "console/sessions.html")]
struct SessionsPage {
    nav: Nav,
    realm: String,
    sessions: Vec<SessionLine>,
}

pub async fn sessions(
    state: web::Data<Latch>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let realm = path.into_inner();
    let (_admin, nav, cookies) = page_start!(state, req, Some(realm.clone()), "sessions");
    let list = load!(admin::sessions::sessions_of(&state, realm.clone(), None));
    respond(
        &SessionsPage {
            nav,
            realm,
            sessions: session_lines(list),
        },
        cookies,
    )
}

// ---- clients ---------------------------------------------------------

struct ClientLine {
    id: String,
    client_id: String,
    kind: &'static str,
    redirects: String,
    grants: String,
    backchannel: String,
    /// `default: … · optional: …`
    scopes: String,
    web_origins: String,
    enabled: bool,
}

fn or_none(list: &[String]) -> String {
    if list.is_empty() {
        "none".into()
    } else {
        list.join(", ")
    }
}

impl From<&Client> for ClientLine {
    fn from(c: &Client) -> Self {
        ClientLine {
            id: c.id.clone(),
            client_id: c.client_id.clone(),
            kind: if c.is_public() {
                "public"
            } else {
                "confidential"
            },
            redirects: c.redirect_uris.join(", "),
            grants: c
                .grant_types
                .iter()
                .map(|g| g.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            backchannel: c
                .backchannel_logout_uri
                .clone()
                .unwrap_or_else(|| "none".into()),
            scopes: format!(
                "default: {} · optional: {}",
                or_none(&c.default_scopes),
                or_none(&c.optional_scopes)
            ),
            web_origins: or_none(&c.web_origins),
            enabled: c.enabled,
        }
    }
}

#[derive(Template)]
#[template(path = "console/clients.html")]
struct ClientsPage {
    nav: Nav,
    realm: String,
    clients: Vec<ClientLine>,
}

pub async fn clients(
    state: web::Data<Latch>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let realm = path.into_inner();
    let (_admin, nav, cookies) = page_start!(state, req, Some(realm.clone()), "clients");
    let list = load!(clients::list(&state, &RealmName(realm.clone()), None));
    let clients = list.iter().map(ClientLine::from).collect();
    respond(
        &ClientsPage {
            nav,
            realm,
            clients,
        },
        cookies,
    )
}

struct DeliveryLine {
    session: String,
    status: String,
    attempts: i32,
    created: String,
    error: String,
}

#[derive(Template)]
#[template(path = "console/client.html")]
struct ClientPage {
    nav: Nav,
    realm: String,
    client: ClientLine,
    deliveries: Vec<DeliveryLine>,
    actions: Vec<(&'static str, &'static str, &'static str)>,
}

pub async fn client(
    state: web::Data<Latch>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (realm, id) = path.into_inner();
    let (_admin, nav, cookies) = page_start!(state, req, Some(realm.clone()), "clients");
    let which = ClientRef::Row(ClientRowId(id));
    let client = load!(clients::find(&state, &RealmName(realm.clone()), &which));
    let filter = admin::sessions::DeliveryFilter {
        session: None,
        client: Some(client.client_id.clone()),
        max: Some(50),
    };
    let deliveries = load!(admin::sessions::list_deliveries(
        &state,
        realm.clone(),
        &filter
    ))
    .into_iter()
    .map(|d| DeliveryLine {
        session: d.session_id,
        status: d.status,
        attempts: d.attempts,
        created: format_utc(d.created),
        error: d.last_error.unwrap_or_default(),
    })
    .collect();
    let mut actions = vec![("revoke-client", "Revoke all its tokens", "danger")];
    if !client.is_public() {
        actions.push(("regenerate-secret", "Regenerate secret", "secondary"));
    }
    actions.push(("compromised-client", "Compromised: contain it", "danger"));
    actions.push(("delete-client", "Delete", "danger"));
    let page = ClientPage {
        nav,
        realm,
        client: ClientLine::from(&client),
        deliveries,
        actions,
    };
    respond(&page, cookies)
}

// ---- keys and events ---------------------------------------------------

struct KeyLine {
    kid: String,
    alg: String,
    stage: String,
    created: String,
    activated: String,
    retired: String,
}

#[derive(Template)]
#[template(path = "console/keys.html")]
struct KeysPage {
    nav: Nav,
    realm: String,
    keys: Vec<KeyLine>,
}

pub async fn keys(
    state: web::Data<Latch>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let realm = path.into_inner();
    let (_admin, nav, cookies) = page_start!(state, req, Some(realm.clone()), "keys");
    let mut list = load!(keys::list(&state, &RealmName(realm.clone())));
    list.sort_by_key(|k| std::cmp::Reverse(k.created_at_ms));
    let when = |t: Option<i64>| t.map(format_utc).unwrap_or_default();
    let keys = list
        .into_iter()
        .map(|k| KeyLine {
            created: format_utc(k.created_at_ms),
            activated: match (k.activated_at_ms, k.activates_at_ms) {
                (Some(t), _) => format_utc(t),
                (None, Some(t)) => format!("from {}", format_utc(t)),
                _ => String::new(),
            },
            retired: match (k.retired_at_ms, k.retires_at_ms) {
                (Some(t), _) => format_utc(t),
                (None, t) => when(t),
            },
            kid: k.kid,
            alg: k.alg,
            stage: k.stage,
        })
        .collect();
    respond(&KeysPage { nav, realm, keys }, cookies)
}

struct EventLine {
    time: String,
    kind: String,
    actor: String,
    subject: String,
    details: String,
}

#[derive(Template)]
#[template(path = "console/events.html")]
struct EventsPage {
    nav: Nav,
    realm: String,
    filter_type: String,
    filter_user: String,
    filter_client: String,
    events: Vec<EventLine>,
    prev_page: Option<String>,
    next_page: Option<String>,
}

const EVENTS_PER_PAGE: i64 = 50;

pub async fn events(
    state: web::Data<Latch>,
    req: HttpRequest,
    path: web::Path<String>,
) -> HttpResponse {
    let realm = path.into_inner();
    let (_admin, nav, cookies) = page_start!(state, req, Some(realm.clone()), "events");
    let query = crate::http::form::from_query(&req).ok();
    let get = |name: &str| {
        query
            .as_ref()
            .and_then(|q| q.get(name).ok().flatten())
            .unwrap_or("")
            .to_string()
    };
    let first: i64 = get("first").parse().unwrap_or(0).max(0);
    let given = |name: &str| Some(get(name)).filter(|v| !v.is_empty());
    let query = EventQuery {
        kind: given("type"),
        user: given("user"),
        client: given("client"),
        first,
        max: EVENTS_PER_PAGE,
        ..Default::default()
    };
    let list = load!(events::list(&state, &RealmName(realm.clone()), query));
    let link = |first: i64| {
        let mut url = url::form_urlencoded::Serializer::new(String::new());
        url.append_pair("type", &get("type"))
            .append_pair("user", &get("user"))
            .append_pair("client", &get("client"))
            .append_pair("first", &first.to_string());
        format!("/admin/console/realms/{realm}/events?{}", url.finish())
    };
    let next_page = (list.len() as i64 == EVENTS_PER_PAGE).then(|| link(first + EVENTS_PER_PAGE));
    let prev_page = (first > 0).then(|| link((first - EVENTS_PER_PAGE).max(0)));
    let events = list
        .into_iter()
        .map(|e| EventLine {
            time: format_utc(e.at_ms),
            kind: e.kind,
            actor: e.actor,
            subject: e.subject,
            // Shown as stored when it is JSON (it always is).
            details: e
                .detail
                .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
                .map(|d| d.to_string())
                .unwrap_or_default(),
        })
        .collect();
    let page = EventsPage {
        nav,
        filter_type: get("type"),
        filter_user: get("user"),
        filter_client: get("client"),
        realm,
        events,
        prev_page,
        next_page,
    };
    respond(&page, cookies)
}
