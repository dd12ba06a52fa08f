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
use crate::operations::stream::{self as log, Subject};
use crate::revocation::reason::{ChangeKind, Credential, CredentialChange};
use crate::revocation::Event;
use crate::revocation::{EventKind, Reason};
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
        EventKind::Keys if event.reason() == Some(Reason::EmergencyRotation) => Some("key"),
        _ => None,
    }
}

/// The most sessions and users one stream remembers the client's part in.
const KNOWN_CAP: usize = 4096;

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
            Some(EventKind::Session) => {
                self.participated(state, Subject::Session(&event.subject))
                    .await
            }
            Some(EventKind::User) => {
                self.participated(state, Subject::User(&event.subject))
                    .await
            }
            _ => true,
        }
    }

    /// Whether the client received tokens in the session, or for the user.
    async fn participated(&mut self, state: &Latch, subject: Subject<'_>) -> bool {
        let key = match subject {
            Subject::Session(sid) => ("session".to_string(), sid.to_string()),
            Subject::User(user_id) => ("user".to_string(), user_id.to_string()),
        };
        if let Some(known) = self.known.get(&key) {
            return *known;
        }
        // When the database cannot say, the client is told: a spurious
        // event costs it a check, a missing one a revocation it never learns of.
        let answer = log::client_took_part(state, &self.client.id, subject)
            .await
            .unwrap_or(true);
        // A stream may stay open for days: what it remembers is capped
        // (forgetting only costs a query again).
        if self.known.len() >= KNOWN_CAP {
            self.known.clear();
        }
        self.known.insert(key, answer);
        answer
    }
}

/// CAEP credential-change: which credential, and how it changed (an
/// administrator's reset and the user's own change are both updates).
fn credential_change(change: CredentialChange, at: i64) -> serde_json::Value {
    let credential_type = match change.credential {
        Credential::Password => "password",
        // CAEP's type for an authenticator app; recovery codes have none
        // of their own and are the app's stand-in.
        Credential::Otp | Credential::RecoveryCodes => "app",
    };
    let change_type = match change.kind {
        ChangeKind::Reset | ChangeKind::Changed | ChangeKind::Used => "update",
        ChangeKind::Removed => "delete",
    };
    json!({ "event_timestamp": at, "credential_type": credential_type, "change_type": change_type })
}

/// A credential removed or spent, when that is why a session ended.
fn withdrawn(event: &Event) -> Option<CredentialChange> {
    event
        .reason()
        .and_then(Reason::credential_change)
        .filter(|c| matches!(c.kind, ChangeKind::Removed | ChangeKind::Used))
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
        // A session ended because a credential its sign-in used was
        // removed or spent: a credential change of the user, in that
        // session (RFC 9493 complex subject).
        "sid" => match (withdrawn(event), &event.user_id) {
            (Some(change), Some(user)) => (
                json!({
                    "format": "complex",
                    "user": { "format": "iss_sub", "iss": issuer, "sub": user },
                    "session": opaque(&event.subject),
                }),
                json!({ CREDENTIAL_CHANGE: credential_change(change, at) }),
            ),
            _ => (
                opaque(&event.subject),
                json!({ SESSION_REVOKED: { "event_timestamp": at } }),
            ),
        },
        "user" => (
            json!({ "format": "iss_sub", "iss": issuer, "sub": event.subject }),
            match event.reason().and_then(Reason::credential_change) {
                Some(change) => json!({ CREDENTIAL_CHANGE: credential_change(change, at) }),
                None => json!({ SESSION_REVOKED: { "event_timestamp": at } }),
            },
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
    let live = state.event_feed.subscribe();
    let upto = state.follower.applied_seq();
    let from = last_event_id(&req)?.unwrap_or(upto);
    let backlog = if from < upto {
        log::backlog(&state, &realm, from, upto).await?
    } else {
        Vec::new()
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(64);
    let sender = Sender {
        issuer: state.issuer(&realm.realm.name),
        filter: Filter {
            realm_id: realm.realm.id.clone(),
            client: Arc::clone(&caller.client),
            known: HashMap::new(),
        },
        state: state.clone(),
        realm,
        tx,
    };
    tokio::spawn(sender.run(backlog, live, from.max(upto)));
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(tokio_stream_from(rx)))
}

/// Where a reconnecting client left off (HTML Living Standard, server-sent
/// events: `Last-Event-ID`), as a log sequence number.
fn last_event_id(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(id) = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
    else {
        return Ok(None);
    };
    id.trim()
        .parse::<i64>()
        .map(Some)
        .map_err(|_| ApiError::invalid_request("Last-Event-ID must be a sequence number"))
}

/// One client's stream: the backlog, then the live feed, each event the
/// client is concerned by as a frame.
struct Sender {
    state: web::Data<Latch>,
    realm: Arc<RealmState>,
    issuer: String,
    filter: Filter,
    tx: tokio::sync::mpsc::Sender<Bytes>,
}

impl Sender {
    /// Sends `event` when it concerns the client; false once the client has gone.
    async fn send(&mut self, event: &Event) -> bool {
        if !self.filter.concerns(&self.state, event).await {
            return true;
        }
        match frame(&self.realm, &self.issuer, &self.filter.client, event) {
            Some(frame) => self.tx.send(frame).await.is_ok(),
            None => true,
        }
    }

    /// The backlog, then live events after `caught_up` (events already
    /// sent from the backlog arrive live too and are skipped), with a
    /// keep-alive comment whenever the stream is quiet.
    async fn run(
        mut self,
        backlog: Vec<Event>,
        mut live: broadcast::Receiver<Arc<Event>>,
        caught_up: i64,
    ) {
        let _ = self
            .tx
            .send(Bytes::from_static(b": latch revocation stream\n\n"))
            .await;
        let mut sent = caught_up;
        for event in backlog {
            if !self.send(&event).await {
                return;
            }
        }
        loop {
            let event = match tokio::time::timeout(KEEP_ALIVE, live.recv()).await {
                Err(_) => {
                    let alive = Bytes::from_static(b": keep-alive\n\n");
                    if self.tx.send(alive).await.is_err() {
                        return;
                    }
                    continue;
                }
                Ok(Ok(event)) => event,
                // Fell behind the feed (or it closed): the client reconnects
                // with its Last-Event-ID.
                Ok(Err(_)) => return,
            };
            if event.seq <= sent {
                continue;
            }
            sent = event.seq;
            if !self.send(&event).await {
                return;
            }
        }
    }
}

/// Adapts an mpsc receiver to the `Stream` actix wants.
fn tokio_stream_from(
    mut rx: tokio::sync::mpsc::Receiver<Bytes>,
) -> impl futures_util::Stream<Item = Result<Bytes, actix_web::Error>> {
    futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx).map(|frame| frame.map(Ok)))
}
