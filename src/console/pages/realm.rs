//! The realms list and a realm's overview: settings and exposure.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{api_error_page, respond, start, Nav};
use crate::app::Latch;
use crate::ids::RealmName;
use crate::operations::realms;

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
