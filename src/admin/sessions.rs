//! `/admin/realms/{realm}/sessions`: live sessions (who, from where,
//! since when, which apps) and ending one; back-channel delivery status.

use std::collections::{BTreeMap, HashMap};

use actix_web::{delete, get, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::realms::{find as find_realm, run_event};
use super::{Admin, ErrorRepresentation, OutcomeRepresentation};
use crate::app::Latch;
use crate::error::Error;
use crate::http::errors::ApiError;
use crate::revocation::cascade::SecurityEvent;
use crate::store;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list).service(end).service(deliveries);
}

/// A live session, with Keycloak's field names (times in ms since the epoch).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionRepresentation {
    /// The session id, the `sid` its tokens carry.
    pub id: String,
    pub user_id: String,
    pub username: String,
    pub ip_address: Option<String>,
    pub user_agent: Option<String>,
    pub start: i64,
    pub last_access: i64,
    pub expires: i64,
    /// The clients that received tokens in it: client row id → client id.
    pub clients: BTreeMap<String, String>,
}

/// Live sessions of the realm, or of one user, newest first.
pub async fn sessions_of(
    state: &Latch,
    realm: String,
    user_id: Option<String>,
) -> Result<Vec<SessionRepresentation>, ApiError> {
    let now = state.clock.now_ms();
    Ok(state
        .directory
        .store()
        .run(move |conn| -> Result<Vec<SessionRepresentation>, Error> {
            let realm = find_realm(conn, &realm)?;
            if let Some(id) = &user_id {
                super::users::find_user(conn, &realm, id)?;
            }
            let rows = store::sessions::list_live(conn, &realm.id, user_id.as_deref(), now)?;
            let sids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let mut clients: HashMap<String, BTreeMap<String, String>> = HashMap::new();
            for chunk in sids.chunks(500) {
                for (sid, row_id, client_id) in store::sessions::clients_of(conn, chunk)? {
                    clients.entry(sid).or_default().insert(row_id, client_id);
                }
            }
            let mut names: HashMap<String, String> = HashMap::new();
            let mut out = Vec::with_capacity(rows.len());
            for row in rows {
                let username = match names.get(&row.user_id) {
                    Some(n) => n.clone(),
                    None => {
                        let n = store::users::find(conn, &row.user_id)?
                            .map(|u| u.username)
                            .unwrap_or_default();
                        names.insert(row.user_id.clone(), n.clone());
                        n
                    }
                };
                out.push(SessionRepresentation {
                    clients: clients.remove(&row.id).unwrap_or_default(),
                    id: row.id,
                    user_id: row.user_id,
                    username,
                    ip_address: row.ip,
                    user_agent: row.user_agent,
                    start: row.created_at_ms,
                    last_access: row.last_seen_ms,
                    expires: row.expires_at_ms,
                });
            }
            Ok(out)
        })
        .await?)
}

#[utoipa::path(
    tag = "sessions",
    operation_id = "listSessions",
    params(("realm" = String, Path, description = "Realm name")),
    responses(
        (status = 200, description = "Live sessions, newest first", body = Vec<SessionRepresentation>),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[get("/{realm}/sessions")]
async fn list(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<String>,
) -> Result<web::Json<Vec<SessionRepresentation>>, ApiError> {
    Ok(web::Json(
        sessions_of(&state, path.into_inner(), None).await?,
    ))
}

pub async fn end_session(
    state: &Latch,
    admin: &Admin,
    realm: String,
    sid: String,
) -> Result<crate::revocation::cascade::Outcome, ApiError> {
    run_event(state, admin, realm, move |conn, realm| {
        let session = store::sessions::find(conn, &sid)?
            .filter(|s| s.realm_id == realm.id && s.ended_at_ms.is_none())
            .ok_or_else(|| Error::NotFound(format!("session `{sid}` in realm `{}`", realm.name)))?;
        Ok(SecurityEvent::SessionEnded {
            sid: session.id,
            reason: "ended by an administrator".into(),
        })
    })
    .await
}

#[utoipa::path(
    tag = "invalidation",
    operation_id = "endSession",
    params(("realm" = String, Path, description = "Realm name"), ("session" = String, Path, description = "Session id (sid)")),
    responses(
        (status = 200, description = "Ended; its tokens are rejected and its relying parties notified", body = OutcomeRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[delete("/{realm}/sessions/{session}")]
async fn end(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<OutcomeRepresentation>, ApiError> {
    let (realm, sid) = path.into_inner();
    Ok(web::Json(
        end_session(&state, &admin, realm, sid).await?.into(),
    ))
}

/// One back-channel logout notice and where its delivery stands.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRepresentation {
    pub id: i64,
    /// The client's id (`clientId`).
    pub client_id: String,
    pub session_id: String,
    pub user_id: String,
    /// `pending`, `delivered` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created: i64,
    pub next_attempt: Option<i64>,
    pub delivered: Option<i64>,
    pub gave_up: Option<i64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct DeliveryFilter {
    /// Only notices about this session.
    pub session: Option<String>,
    /// Only notices to this client (`clientId`).
    pub client: Option<String>,
    pub max: Option<i64>,
}

pub async fn list_deliveries(
    state: &Latch,
    realm: String,
    filter: &DeliveryFilter,
) -> Result<Vec<DeliveryRepresentation>, ApiError> {
    let max = filter.max.unwrap_or(100);
    if !(1..=super::MAX_PAGE).contains(&max) {
        return Err(ApiError::invalid_field(
            "max",
            "max must be between 1 and 500",
        ));
    }
    let (session, client) = (filter.session.clone(), filter.client.clone());
    Ok(state
        .directory
        .store()
        .run(move |conn| -> Result<Vec<DeliveryRepresentation>, Error> {
            let realm = find_realm(conn, &realm)?;
            let client_row = match &client {
                Some(c) => Some(
                    store::clients::find_by_client_id(conn, &realm.id, c)?
                        .ok_or_else(|| Error::NotFound(format!("client `{c}`")))?,
                ),
                None => None,
            };
            let rows = store::outbox::list(
                conn,
                &realm.id,
                session.as_deref(),
                client_row.as_ref().map(|c| c.id.as_str()),
                max,
            )?;
            let mut names: HashMap<String, String> = HashMap::new();
            let mut out = Vec::with_capacity(rows.len());
            for n in rows {
                let client_id = match names.get(&n.client_id) {
                    Some(c) => c.clone(),
                    None => {
                        let c = store::clients::find(conn, &n.client_id)?
                            .map(|c| c.client_id)
                            .unwrap_or_default();
                        names.insert(n.client_id.clone(), c.clone());
                        c
                    }
                };
                out.push(DeliveryRepresentation {
                    id: n.id,
                    client_id,
                    session_id: n.session_id,
                    user_id: n.user_id,
                    next_attempt: (n.status == "pending").then_some(n.next_attempt_ms),
                    status: n.status,
                    attempts: n.attempts,
                    last_error: n.last_error,
                    created: n.created_at_ms,
                    delivered: n.delivered_at_ms,
                    gave_up: n.gave_up_at_ms,
                });
            }
            Ok(out)
        })
        .await?)
}

#[utoipa::path(
    tag = "sessions",
    operation_id = "listBackchannelDeliveries",
    params(("realm" = String, Path, description = "Realm name"), DeliveryFilter),
    responses(
        (status = 200, description = "Back-channel logout notices, newest first", body = Vec<DeliveryRepresentation>),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation),
    )
)]
#[get("/{realm}/backchannel-deliveries")]
async fn deliveries(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<String>,
    filter: web::Query<DeliveryFilter>,
) -> Result<web::Json<Vec<DeliveryRepresentation>>, ApiError> {
    Ok(web::Json(
        list_deliveries(&state, path.into_inner(), &filter).await?,
    ))
}
