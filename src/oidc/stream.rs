//! The revocation event stream (`/protocol/openid-connect/revocations`):
//! server-sent events for confidential clients, one per committed
//! revocation that concerns the client, each a Security Event Token
//! (RFC 8417) using the OpenID CAEP event types where one fits. Resumable
//! with `Last-Event-ID` (the log's sequence number); keep-alive comments
//! every 15 seconds. It gives an API what a message bus would, without the
//! API running one.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use tokio::sync::broadcast;

use super::client_auth;
use crate::app::Latch;
use crate::directory::{Client, RealmState};
use crate::http::errors::ApiError;
use crate::http::form::Params;
use crate::keys::Alg;
use crate::revocation::EventKind;
use crate::store::{self, events::Event};
use crate::tokens::jwt;

const KEEP_ALIVE: Duration = Duration::from_secs(15);
pub const SECEVENT_TYP: &str = "secevent+jwt";
const SESSION_REVOKED: &str = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
const CREDENTIAL_CHANGE: &str =
    "https://schemas.openid.net/secevent/caep/event-type/credential-change";
const TOKEN_REVOKED: &str = "urn:latch:event-type:token-revoked";
const CLIENT_TOKENS_REVOKED: &str = "urn:latch:event-type:client-tokens-revoked";
const REALM_TOKENS_REVOKED: &str = "urn:latch:event-type:realm-tokens-revoked";
const KEY_RETIRED: &str = "urn:latch:event-type:signing-key-retired";

/// The stream's name for an event kind, or `None` when it is not streamed.
fn stream_kind(event: &Event) -> Option<&'static str> {
    match EventKind::parse(&event.kind)? {
        EventKind::Jti => Some("jti"),
        EventKind::Session => Some("sid"),
        EventKind::User => Some("user"),
        EventKind::ClientCutoff => Some("client"),
        EventKind::RealmCutoff => Some("realm"),
        EventKind::Keys if event.reason.as_deref() == Some("emergency") => Some("key"),
        _ => None,
    }
}

/// Decides, with a cache per connection, whether an event concerns the client.
struct Filter {
    realm_id: String,
    client: Arc<Client>,
    known: HashMap<(String, String), bool>,
}

impl Filter {
    async fn concerns(&mut self, state: &Latch, event: &Event) -> bool {
        if event.realm_id != self.realm_id || stream_kind(event).is_none() {
            return false;
        }
        // A resource server accepts tokens issued to every client.
        if self.client.introspect_any {
            return true;
        }
        match EventKind::parse(&event.kind) {
            Some(EventKind::Jti) | Some(EventKind::ClientCutoff) => {
                event.client_id.as_deref() == Some(self.client.id.as_str())
            }
            Some(EventKind::Session) => self.participated(state, "session", &event.subject).await,
            Some(EventKind::User) => self.participated(state, "user", &event.subject).await,
            _ => true,
        }
    }

    /// Whether the client received tokens in the session, or for the user.
    async fn participated(&mut self, state: &Latch, what: &str, id: &str) -> bool {
        let key = (what.to_string(), id.to_string());
        if let Some(known) = self.known.get(&key) {
            return *known;
        }
        let (client, id_owned, by_user) = (self.client.id.clone(), id.to_string(), what == "user");
        let answer = state
            .directory
            .store()
            .run(move |conn| store::sessions::client_took_part(conn, &client, &id_owned, by_user))
            .await
            .unwrap_or(true);
        self.known.insert(key, answer);
        answer
    }
}

/// The Security Event Token for one event (RFC 8417; subjects per RFC 9493).
fn security_event(
    realm: &RealmState,
    issuer: &str,
    client: &Client,
    event: &Event,
    kind: &str,
) -> Option<String> {
    let at = event.created_at_ms / 1000;
    let opaque = |id: &str| json!({ "format": "opaque", "id": id });
    let (sub_id, events) = match kind {
        "jti" => (
            opaque(&event.subject),
            json!({ TOKEN_REVOKED: { "event_timestamp": at } }),
        ),
        "sid" => (
            opaque(&event.subject),
            json!({ SESSION_REVOKED: { "event_timestamp": at } }),
        ),
        "user" if event.reason.as_deref() == Some("password reset") => (
            json!({ "format": "iss_sub", "iss": issuer, "sub": event.subject }),
            json!({ CREDENTIAL_CHANGE: { "event_timestamp": at, "credential_type": "password", "change_type": "update" } }),
        ),
        "user" => (
            json!({ "format": "iss_sub", "iss": issuer, "sub": event.subject }),
            json!({ SESSION_REVOKED: { "event_timestamp": at } }),
        ),
        "client" => (
            opaque(&event.subject),
            json!({ CLIENT_TOKENS_REVOKED: { "event_timestamp": at } }),
        ),
        "realm" => (
            opaque(&realm.realm.name),
            json!({ REALM_TOKENS_REVOKED: { "event_timestamp": at } }),
        ),
        "key" => (
            opaque(&event.subject),
            json!({ KEY_RETIRED: { "event_timestamp": at } }),
        ),
        _ => return None,
    };
    let claims = json!({
        "iss": issuer,
        "aud": client.client_id,
        "iat": crate::time::now_s(),
        "jti": crate::tokens::new_jti(),
        "txn": event.seq.to_string(),
        "sub_id": sub_id,
        "events": events,
        "latch": { "kind": kind, "subject": event.subject, "not_before": event.not_before_ms, "seq": event.seq },
    });
    let key = realm.keys.signing_key(Alg::ES256)?;
    jwt::sign(key, SECEVENT_TYP, &claims).ok()
}

fn frame(realm: &RealmState, issuer: &str, client: &Client, event: &Event) -> Option<Bytes> {
    let kind = stream_kind(event)?;
    let set = security_event(realm, issuer, client, event, kind)?;
    Some(Bytes::from(format!(
        "id: {}\nevent: {kind}\ndata: {set}\n\n",
        event.seq
    )))
}

/// `GET` (Basic) or `POST` (Basic or form) `/realms/{realm}/protocol/openid-connect/revocations`
pub async fn revocations(
    state: web::Data<Latch>,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let realm = super::realm(&state, &path).await?;
    let params = if req.method() == actix_web::http::Method::POST {
        crate::http::form::from_body(&req, body).await?
    } else {
        Params::default()
    };
    let caller = client_auth::authenticate(&state, &realm, &req, &params).await?;
    if !caller.authenticated {
        return Err(ApiError::invalid_client(
            "the event stream is for authenticated clients",
        ));
    }
    // Subscribe first, then read the backlog: nothing falls between the two.
    let mut live = state.event_feed.subscribe();
    let from = match req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
    {
        Some(id) => id
            .trim()
            .parse::<i64>()
            .map_err(|_| ApiError::invalid_request("Last-Event-ID must be a sequence number"))?,
        None => state.follower.applied_seq(),
    };
    let upto = state.follower.applied_seq();
    let backlog = if from < upto {
        let realm_id = realm.realm.id.clone();
        state
            .directory
            .store()
            .run(move |conn| store::events::of_realm_between(conn, &realm_id, from, upto))
            .await?
    } else {
        Vec::new()
    };
    let issuer = state.issuer(&realm.realm.name);
    let mut filter = Filter {
        realm_id: realm.realm.id.clone(),
        client: Arc::clone(&caller.client),
        known: HashMap::new(),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    let state = state.clone();
    tokio::spawn(async move {
        let mut sent = from;
        let _ = tx
            .send(Bytes::from_static(b": latch revocation stream\n\n"))
            .await;
        for event in backlog {
            if filter.concerns(&state, &event).await {
                if let Some(frame) = frame(&realm, &issuer, &filter.client, &event) {
                    if tx.send(frame).await.is_err() {
                        return;
                    }
                }
            }
            sent = sent.max(event.seq);
        }
        sent = sent.max(upto);
        loop {
            let next = tokio::time::timeout(KEEP_ALIVE, live.recv()).await;
            let event = match next {
                Err(_) => {
                    if tx
                        .send(Bytes::from_static(b": keep-alive\n\n"))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    continue;
                }
                Ok(Ok(event)) => event,
                // Fell behind the feed: the client reconnects with its Last-Event-ID.
                Ok(Err(broadcast::error::RecvError::Lagged(_)))
                | Ok(Err(broadcast::error::RecvError::Closed)) => return,
            };
            if event.seq <= sent {
                continue;
            }
            sent = event.seq;
            if filter.concerns(&state, &event).await {
                if let Some(frame) = frame(&realm, &issuer, &filter.client, &event) {
                    if tx.send(frame).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(tokio_stream_from(rx)))
}

/// Adapts an mpsc receiver to the `Stream` actix wants.
fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Bytes>,
) -> impl futures_util::Stream<Item = Result<Bytes, actix_web::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|frame| frame.map(Ok)))
}
