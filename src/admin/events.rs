//! `/admin/realms/{realm}/events`: the audit trail, filtered and paged.

use actix_web::{get, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Admin, ErrorRepresentation, Page};
use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::ids::RealmName;
use crate::operations::events::{self, AuditEvent, EventQuery};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list);
}

/// One audit event.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventRepresentation {
    pub id: i64,
    /// Milliseconds since the epoch.
    pub time: i64,
    /// e.g. `session.ended`, `client.compromised`, `admin.user.created`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Who caused it: `admin:NAME`, `user:ID`, `client:ID`, `cli`, `system`.
    pub actor: String,
    /// What it is about (a user id, client id, session id…).
    pub subject: String,
    pub ip_address: Option<String>,
    pub details: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct EventFilter {
    /// An event type, or a prefix ending in `.` (`admin.`, `session.`).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Events about or by this user id.
    pub user: Option<String>,
    /// Events about or by this client id.
    pub client: Option<String>,
    /// From this time: ms since the epoch, or a date `YYYY-MM-DD` (UTC).
    pub date_from: Option<String>,
    /// Up to this time: ms since the epoch, or a date `YYYY-MM-DD` (whole day, UTC).
    pub date_to: Option<String>,
    pub first: Option<i64>,
    pub max: Option<i64>,
}

/// A bound in ms: digits are ms; `YYYY-MM-DD` is that day's start (or end).
fn parse_time(field: &str, text: &str, end_of_day: bool) -> Result<i64, ApiError> {
    if let Ok(ms) = text.parse::<i64>() {
        return Ok(ms);
    }
    let parts: Vec<&str> = text.split('-').collect();
    let parsed = match parts.as_slice() {
        [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
            match (y.parse::<i64>(), m.parse::<i64>(), d.parse::<i64>()) {
                (Ok(y), Ok(m @ 1..=12), Ok(d @ 1..=31)) => {
                    Some(crate::time::days_from_civil(y, m, d))
                }
                _ => None,
            }
        }
        _ => None,
    };
    let day = parsed.ok_or_else(|| {
        ApiError::invalid_field(
            field,
            format!("{field} must be ms since the epoch or YYYY-MM-DD"),
        )
    })?;
    let start = day * 86_400_000;
    Ok(if end_of_day {
        start + 86_399_999
    } else {
        start
    })
}

impl From<AuditEvent> for EventRepresentation {
    fn from(e: AuditEvent) -> Self {
        EventRepresentation {
            id: e.id,
            time: e.at_ms,
            kind: e.kind,
            actor: e.actor,
            subject: e.subject,
            ip_address: e.ip,
            details: e.detail.and_then(|d| serde_json::from_str(&d).ok()),
        }
    }
}

impl EventFilter {
    /// The query the filter asks for, each bound checked under its name.
    pub fn query(&self) -> Result<EventQuery, ApiError> {
        let (first, max) = Page {
            first: self.first,
            max: self.max,
        }
        .bounds()?;
        let bound = |field: &str, text: &Option<String>, end_of_day: bool| {
            text.as_deref()
                .filter(|d| !d.is_empty())
                .map(|d| parse_time(field, d, end_of_day))
                .transpose()
        };
        Ok(EventQuery {
            kind: self.kind.clone().filter(|k| !k.is_empty()),
            user: self.user.clone().filter(|u| !u.is_empty()),
            client: self.client.clone().filter(|c| !c.is_empty()),
            from_ms: bound("dateFrom", &self.date_from, false)?,
            to_ms: bound("dateTo", &self.date_to, true)?,
            first,
            max,
        })
    }
}

#[utoipa::path(
    tag = "events",
    operation_id = "listEvents",
    params(("realm" = String, Path, description = "Realm name"), EventFilter),
    responses(
        (status = 200, description = "Newest first", body = Vec<EventRepresentation>),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation),
    )
)]
#[get("/{realm}/events")]
async fn list(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<RealmName>,
    filter: web::Query<EventFilter>,
) -> Result<web::Json<Vec<EventRepresentation>>, ApiError> {
    let events = events::list(&state, &path, filter.query()?).await?;
    Ok(web::Json(
        events.into_iter().map(EventRepresentation::from).collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::parse_time;

    #[test]
    fn dates_and_milliseconds_both_bound_a_query() {
        assert_eq!(parse_time("f", "0", false).unwrap(), 0);
        assert_eq!(parse_time("f", "1970-01-02", false).unwrap(), 86_400_000);
        assert_eq!(
            parse_time("f", "2026-11-29", false).unwrap(),
            1_795_910_400_000
        );
        assert_eq!(parse_time("f", "1970-01-01", true).unwrap(), 86_399_999);
        assert!(parse_time("f", "29/11/2026", false).is_err());
    }
}
