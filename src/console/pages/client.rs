//! The realm's clients, and a client with its back-channel deliveries.

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::{api_error_page, respond, start, Nav};
use crate::app::Latch;
use crate::ids::{ClientId, ClientRowId, RealmName};
use crate::operations::clients::{self, Client, ClientRef};
use crate::operations::sessions::{self, NoticeFilter};
use crate::time::format_utc;

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
    let filter = NoticeFilter {
        session: None,
        client: Some(ClientId(client.client_id.clone())),
        max: 50,
    };
    let deliveries = load!(sessions::notices(&state, &RealmName(realm.clone()), filter))
        .into_iter()
        .map(|d| DeliveryLine {
            session: d.session_id.into_string(),
            status: d.status,
            attempts: d.attempts,
            created: format_utc(d.created_ms),
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
