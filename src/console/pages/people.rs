//! Users, a user with their sessions, and the realm's live sessions.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{api_error_page, respond, start, Nav};
use crate::account::describe_device;
use crate::admin::MAX_PAGE;
use crate::app::Latch;
use crate::ids::{RealmName, UserId};
use crate::operations::sessions::{self, Session};
use crate::operations::users::{self, User, UserQuery, UserRef};
use crate::time::format_utc;

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
    let query = UserQuery {
        search: Some(search.clone()).filter(|s| !s.is_empty()),
        ..Default::default()
    };
    let list = load!(users::search(
        &state,
        &RealmName(realm.clone()),
        query,
        0,
        MAX_PAGE
    ));
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

fn session_lines(list: Vec<Session>) -> Vec<SessionLine> {
    list.into_iter()
        .map(|s| SessionLine {
            device: describe_device(s.user_agent.as_deref()),
            ip: s.ip.unwrap_or_default(),
            started: format_utc(s.started_ms),
            last_seen: format_utc(s.last_seen_ms),
            clients: s.clients.into_values().collect::<Vec<_>>().join(", "),
            username: s.username,
            id: s.id.into_string(),
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
    let (name, who) = (RealmName(realm.clone()), UserRef::Id(UserId(id)));
    let user = load!(users::get(&state, &name, &who));
    let sessions = load!(sessions::list(&state, &name, Some(who)));
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
    let list = load!(sessions::list(&state, &RealmName(realm.clone()), None));
    respond(
        &SessionsPage {
            nav,
            realm,
            sessions: session_lines(list),
        },
        cookies,
    )
}
