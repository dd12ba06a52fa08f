//! `/health/live`, `/health/ready` and `/metrics`.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
use actix_web::{get, web, HttpResponse};
use serde_json::json;

use crate::app::Latch;
use crate::telemetry::Metrics;

#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "UP" }))
}

/// Ready when the node is not stopping and the database answers; reports
/// the last applied log event, and, when not ready, why.
#[get("/health/ready")]
pub async fn ready(state: web::Data<Latch>) -> HttpResponse {
    let applied = state.follower.applied_seq();
    let fanout = match &state.fanout {
        None => "disabled",
        Some(f) if f.is_connected() => "connected",
        Some(_) => "disconnected (polling)",
    };
    if state.is_draining() {
        return HttpResponse::ServiceUnavailable().json(json!({
            "status": "DOWN",
            "reason": "the node is stopping (draining): send new requests to another node",
            "checks": { "fanout": fanout, "event_log": { "applied_seq": applied } }
        }));
    }
    match crate::operations::health::log_seq(&state).await {
        Ok(log_seq) => HttpResponse::Ok().json(json!({
            "status": "UP",
            "checks": {
                "database": "UP",
                "fanout": fanout,
                "event_log": { "applied_seq": applied, "log_seq": log_seq, "lag_events": (log_seq - applied).max(0) }
            }
        })),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable().json(json!({
                "status": "DOWN",
                "reason": format!("the database does not answer: {e}"),
                "checks": { "database": "DOWN", "fanout": fanout, "event_log": { "applied_seq": applied } }
            }))
        }
    }
}

/// Middleware: while the node drains, every response closes its
/// connection, so a client's idle keep-alive connection ends cleanly after
/// its next answer instead of being cut when the node stops.
pub async fn close_while_draining(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let draining = req
        .app_data::<web::Data<Latch>>()
        .is_some_and(|state| state.is_draining());
    let mut response = next.call(req).await?;
    if draining {
        response
            .response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(response)
}

#[get("/metrics")]
pub async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}
