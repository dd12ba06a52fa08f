//! `/admin/realms/{realm}/sessions`: live sessions (who, from where,
//! since when, which apps) and ending one; back-channel delivery status.

use std::collections::BTreeMap;

use actix_web::{delete, get, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Admin, ErrorRepresentation, OutcomeRepresentation, Summary};
use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::ids::{ClientId, RealmName, Sid, UserId};
use crate::operations::sessions::{self, Notice, NoticeFilter, Session};
use crate::operations::users::UserRef;
use crate::revocation::cascade::Outcome;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list)
        .service(end)
        .service(client_stats)
        .service(deliveries);
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

impl From<Session> for SessionRepresentation {
    fn from(s: Session) -> Self {
        SessionRepresentation {
            id: s.id.into_string(),
            user_id: s.user_id.into_string(),
            username: s.username,
            ip_address: s.ip,
            user_agent: s.user_agent,
            start: s.started_ms,
            last_access: s.last_seen_ms,
            expires: s.expires_ms,
            clients: s.clients,
        }
    }
}

/// Live sessions of the realm, or of one user, newest first.
pub async fn sessions_of(
    state: &Latch,
    realm: String,
    user_id: Option<String>,
) -> Result<Vec<SessionRepresentation>, ApiError> {
    let user = user_id.map(|id| UserRef::Id(UserId(id)));
    let found = sessions::list(state, &RealmName(realm), user).await?;
    Ok(found.into_iter().map(SessionRepresentation::from).collect())
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
) -> Result<Outcome, ApiError> {
    Ok(sessions::end(state, &admin.actor, &RealmName(realm), &Sid(sid)).await?)
}

#[utoipa::path(
    tag = "invalidation",
    operation_id = "endSession",
    params(("realm" = String, Path, description = "Realm name"), ("session" = String, Path, description = "Session id (sid)"), Summary),
    responses(
        (status = 204, description = "Ended; its tokens are rejected and its relying parties notified"),
        (status = 200, description = "The same, with `summary=true`: what was taken back", body = OutcomeRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[delete("/{realm}/sessions/{session}")]
async fn end(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    summary: web::Query<Summary>,
) -> Result<HttpResponse, ApiError> {
    let (realm, sid) = path.into_inner();
    Ok(summary.answer(end_session(&state, &admin, realm, sid).await?))
}

/// How many sessions one client has, as Keycloak's `client-session-stats`
/// reports it (the counts as strings).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientSessionStatRepresentation {
    /// The client's internal id.
    pub id: String,
    pub client_id: String,
    /// Live sessions it took part in.
    pub active: String,
    /// Live offline sessions (offline refresh families).
    pub offline: String,
}

#[utoipa::path(
    tag = "sessions",
    operation_id = "clientSessionStats",
    params(("realm" = String, Path, description = "Realm name")),
    responses(
        (status = 200, description = "Every client with a live session or offline session, by client id", body = Vec<ClientSessionStatRepresentation>),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[get("/{realm}/client-session-stats")]
async fn client_stats(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<String>,
) -> Result<web::Json<Vec<ClientSessionStatRepresentation>>, ApiError> {
    let realm = RealmName(path.into_inner());
    let counts = sessions::client_counts(&state, &realm, None).await?;
    Ok(web::Json(
        counts
            .into_iter()
            .map(|c| ClientSessionStatRepresentation {
                id: c.client_row_id,
                client_id: c.client_id.into_string(),
                active: c.active.to_string(),
                offline: c.offline.to_string(),
            })
            .collect(),
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

impl From<Notice> for DeliveryRepresentation {
    fn from(n: Notice) -> Self {
        DeliveryRepresentation {
            id: n.id,
            client_id: n.client_id.into_string(),
            session_id: n.session_id.into_string(),
            user_id: n.user_id.into_string(),
            next_attempt: (n.status == "pending").then_some(n.next_attempt_ms),
            status: n.status,
            attempts: n.attempts,
            last_error: n.last_error,
            created: n.created_ms,
            delivered: n.delivered_ms,
            gave_up: n.gave_up_ms,
        }
    }
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
    let filter = NoticeFilter {
        session: filter.session.clone().map(Sid),
        client: filter.client.clone().map(ClientId),
        max,
    };
    let found = sessions::notices(state, &RealmName(realm), filter).await?;
    Ok(found
        .into_iter()
        .map(DeliveryRepresentation::from)
        .collect())
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
