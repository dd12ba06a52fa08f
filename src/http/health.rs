//! `/health/live`, `/health/ready` and `/metrics`.

use actix_web::{get, web, HttpResponse};
use serde_json::json;

use crate::app::Latch;
use crate::telemetry::Metrics;

#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "UP" }))
}

/// Ready when the database answers; reports the last applied log event.
#[get("/health/ready")]
pub async fn ready(state: web::Data<Latch>) -> HttpResponse {
    let database = crate::operations::health::log_seq(&state).await;
    let applied = state.follower.applied_seq();
    let fanout = match &state.fanout {
        None => "disabled",
        Some(f) if f.is_connected() => "connected",
        Some(_) => "disconnected (polling)",
    };
    match database {
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
                "checks": { "database": "DOWN", "fanout": fanout, "event_log": { "applied_seq": applied } }
            }))
        }
    }
}

#[get("/metrics")]
pub async fn metrics(metrics: web::Data<Metrics>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(metrics.render())
}
