//! Sessions: list the live ones (of a realm or of a user), end one, end
//! every other one; and where the back-channel logout notices of ended
//! sessions stand — for the admin API, the console, the CLI and the
//! account page.

use std::collections::{BTreeMap, HashMap};

use super::users::{self, UserRef};
use super::{read, take_back, Actor};
use crate::app::Latch;
use crate::directory::clients::{self as client_dir, ClientRef};
use crate::error::Error;
use crate::ids::{ClientId, RealmName, Sid, UserId};
use crate::revocation::cascade::{EndReason, Outcome, SecurityEvent};
use crate::store::{self, DbConnection};

/// A live session (times in ms since the epoch).
#[derive(Debug, Clone)]
pub struct Session {
    pub id: Sid,
    pub user_id: UserId,
    pub username: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub started_ms: i64,
    pub last_seen_ms: i64,
    pub expires_ms: i64,
    /// The clients that received tokens in it: client row id → client id.
    pub clients: BTreeMap<String, String>,
}

/// Live sessions of the realm, or of one user, newest first.
pub async fn list(
    latch: &Latch,
    realm: &RealmName,
    user: Option<UserRef>,
) -> Result<Vec<Session>, Error> {
    let now = latch.clock.now_ms();
    read(latch, realm, move |conn, realm| {
        let user_id = match &user {
            Some(who) => Some(users::find(conn, realm, who)?.id),
            None => None,
        };
        let rows = store::sessions::list_live(conn, &realm.id, user_id.as_deref(), now)?;
        sessions_of_rows(conn, rows)
    })
    .await
}

/// A page of the live sessions a client took part in, newest first.
pub async fn of_client(
    latch: &Latch,
    realm: &RealmName,
    client: ClientRef,
    page: (i64, i64),
) -> Result<Vec<Session>, Error> {
    let now = latch.clock.now_ms();
    read(latch, realm, move |conn, realm| {
        let client = client_dir::find_row(conn, realm, &client)?;
        let rows = store::sessions::live_of_client(conn, &realm.id, &client.id, now, page)?;
        sessions_of_rows(conn, rows)
    })
    .await
}

/// How many live sessions, and live offline sessions (offline refresh
/// families), one client of the realm has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientSessionCount {
    pub client_row_id: String,
    pub client_id: ClientId,
    pub active: i64,
    pub offline: i64,
}

/// The realm's clients that have a live session or offline session, with
/// how many, by client id; with `only`, just that client (counted even
/// when it has none).
pub async fn client_counts(
    latch: &Latch,
    realm: &RealmName,
    only: Option<ClientRef>,
) -> Result<Vec<ClientSessionCount>, Error> {
    let now = latch.clock.now_ms();
    read(latch, realm, move |conn, realm| {
        let only = match &only {
            Some(client) => Some(client_dir::find_row(conn, realm, client)?.id),
            None => None,
        };
        let active: HashMap<String, i64> = store::sessions::live_by_client(conn, &realm.id, now)?
            .into_iter()
            .collect();
        let offline: HashMap<String, i64> =
            store::refresh::live_offline_by_client(conn, &realm.id, now)?
                .into_iter()
                .collect();
        let mut out = Vec::new();
        for client in store::clients::list(conn, &realm.id)? {
            let count = ClientSessionCount {
                active: active.get(&client.id).copied().unwrap_or(0),
                offline: offline.get(&client.id).copied().unwrap_or(0),
                client_id: ClientId(client.client_id),
                client_row_id: client.id,
            };
            let wanted = match &only {
                Some(id) => *id == count.client_row_id,
                None => count.active > 0 || count.offline > 0,
            };
            if wanted {
                out.push(count);
            }
        }
        Ok(out)
    })
    .await
}

/// Sessions as the front doors show them: with their user's name and the
/// clients that took part.
fn sessions_of_rows(
    conn: &mut DbConnection,
    rows: Vec<store::sessions::SessionRow>,
) -> Result<Vec<Session>, Error> {
    let mut clients = clients_of(conn, &rows)?;
    let mut names: HashMap<String, String> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let username = username_of(conn, &mut names, &row.user_id)?;
        out.push(Session {
            clients: clients.remove(&row.id).unwrap_or_default(),
            id: Sid(row.id),
            user_id: UserId(row.user_id),
            username,
            ip: row.ip,
            user_agent: row.user_agent,
            started_ms: row.created_at_ms,
            last_seen_ms: row.last_seen_ms,
            expires_ms: row.expires_at_ms,
        });
    }
    Ok(out)
}

/// The clients of each session, in chunks the databases accept.
fn clients_of(
    conn: &mut DbConnection,
    rows: &[store::sessions::SessionRow],
) -> Result<HashMap<String, BTreeMap<String, String>>, Error> {
    let sids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut clients: HashMap<String, BTreeMap<String, String>> = HashMap::new();
    for chunk in sids.chunks(500) {
        for (sid, row_id, client_id) in store::sessions::clients_of(conn, chunk)? {
            clients.entry(sid).or_default().insert(row_id, client_id);
        }
    }
    Ok(clients)
}

fn username_of(
    conn: &mut DbConnection,
    names: &mut HashMap<String, String>,
    user_id: &str,
) -> Result<String, Error> {
    if let Some(name) = names.get(user_id) {
        return Ok(name.clone());
    }
    let name = store::users::find(conn, user_id)?
        .map(|u| u.username)
        .unwrap_or_default();
    names.insert(user_id.to_string(), name.clone());
    Ok(name)
}

/// Ends a live session: every token issued in it stops working and its
/// relying parties are told. An administrator or the operator may end any
/// session of the realm; a user only one of their own (any other is not
/// found, so its existence is not revealed).
pub async fn end(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    sid: &Sid,
) -> Result<Outcome, Error> {
    let owner = match actor {
        Actor::User { user_id, .. } => Some(user_id.clone()),
        _ => None,
    };
    let reason = if owner.is_some() {
        EndReason::Account
    } else {
        EndReason::Admin
    };
    let sid = sid.clone();
    take_back(latch, actor, realm, move |conn, realm| {
        let session = store::sessions::find(conn, sid.as_str())?
            .filter(|s| s.realm_id == realm.id && s.ended_at_ms.is_none())
            .filter(|s| owner.as_ref().is_none_or(|o| o.as_str() == s.user_id))
            .ok_or_else(|| Error::NotFound(format!("session `{sid}` in realm `{}`", realm.name)))?;
        Ok(SecurityEvent::SessionEnded {
            sid: session.id,
            reason,
        })
    })
    .await
}

/// The user signs out everywhere but here: every other session and every
/// refresh family not of `keep` (offline ones too) dies.
pub async fn end_others(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    user: &UserId,
    keep: &Sid,
) -> Result<Outcome, Error> {
    let event = SecurityEvent::OtherSessionsEnded {
        user_id: user.to_string(),
        keep_sid: keep.to_string(),
        credential_changed: None,
    };
    take_back(latch, actor, realm, move |_, _| Ok(event)).await
}

/// One back-channel logout notice and where its delivery stands.
#[derive(Debug, Clone)]
pub struct Notice {
    pub id: i64,
    /// The client's public id.
    pub client_id: ClientId,
    pub session_id: Sid,
    pub user_id: UserId,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_ms: i64,
    pub next_attempt_ms: i64,
    pub delivered_ms: Option<i64>,
    pub gave_up_ms: Option<i64>,
}

/// Which notices to list.
#[derive(Debug, Clone, Default)]
pub struct NoticeFilter {
    pub session: Option<Sid>,
    pub client: Option<ClientId>,
    /// At most this many, newest first.
    pub max: i64,
}

/// Back-channel logout notices of the realm, newest first.
pub async fn notices(
    latch: &Latch,
    realm: &RealmName,
    filter: NoticeFilter,
) -> Result<Vec<Notice>, Error> {
    read(latch, realm, move |conn, realm| {
        let client_row = match &filter.client {
            Some(c) => Some(
                store::clients::find_by_client_id(conn, &realm.id, c.as_str())?
                    .ok_or_else(|| Error::NotFound(format!("client `{c}`")))?,
            ),
            None => None,
        };
        let rows = store::outbox::list(
            conn,
            &realm.id,
            filter.session.as_ref().map(Sid::as_str),
            client_row.as_ref().map(|c| c.id.as_str()),
            filter.max,
        )?;
        let mut names: HashMap<String, String> = HashMap::new();
        let mut out = Vec::with_capacity(rows.len());
        for n in rows {
            let client_id = match names.get(&n.client_id) {
                Some(c) => c.clone(),
                None => {
                    let c = store::clients::find(conn, &n.client_id)?
                        .map(|c| c.client_id)
                        .unwrap_or_else(|| n.client_id.clone());
                    names.insert(n.client_id.clone(), c.clone());
                    c
                }
            };
            out.push(Notice {
                id: n.id,
                client_id: ClientId(client_id),
                session_id: Sid(n.session_id),
                user_id: UserId(n.user_id),
                status: n.status,
                attempts: n.attempts,
                last_error: n.last_error,
                created_ms: n.created_at_ms,
                next_attempt_ms: n.next_attempt_ms,
                delivered_ms: n.delivered_at_ms,
                gave_up_ms: n.gave_up_at_ms,
            });
        }
        Ok(out)
    })
    .await
}
