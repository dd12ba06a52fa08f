//! A realm's signing keys and its audit trail.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{api_error_page, respond, start, Nav};
use crate::app::Latch;
use crate::ids::RealmName;
use crate::operations::events::{self, EventQuery};
use crate::operations::keys;
use crate::time::format_utc;

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
