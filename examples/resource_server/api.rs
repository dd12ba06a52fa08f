//! The example API: a REST endpoint and a WebSocket, both accepting only
//! live Latch access tokens. Shared by `resource_server.rs` and the tests.

use std::sync::Arc;

use actix_web::{web, HttpRequest, HttpResponse};
use actix_ws::{CloseCode, CloseReason, Message};
use futures_util::StreamExt;
use latch::verify::Verifier;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/me", web::get().to(me))
        .route("/api/me/status-list", web::get().to(me_by_status_list))
        .route("/ws", web::get().to(socket));
}

/// The bearer token, or (for browsers' WebSockets) `?access_token=`.
fn token(req: &HttpRequest) -> Option<String> {
    if let Some(value) = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
    {
        return value.strip_prefix("Bearer ").map(str::to_string);
    }
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(k, _)| k == "access_token")
        .map(|(_, v)| v.into_owned())
}

fn unauthorized(why: &str) -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header((
            "WWW-Authenticate",
            format!(r#"Bearer error="invalid_token", error_description="{why}""#),
        ))
        .json(serde_json::json!({ "error": "invalid_token", "error_description": why }))
}

/// `GET /api/me`: who the token belongs to (revocations from the event stream).
async fn me(req: HttpRequest, verifier: web::Data<Arc<Verifier>>) -> HttpResponse {
    let Some(token) = token(&req) else {
        return unauthorized("a bearer token is required");
    };
    answer(verifier.verify(&token).await)
}

/// `GET /api/me/status-list`: the same, checked against the Token Status
/// List instead (a revocation shows within the list's `ttl`).
async fn me_by_status_list(req: HttpRequest, verifier: web::Data<Arc<Verifier>>) -> HttpResponse {
    let Some(token) = token(&req) else {
        return unauthorized("a bearer token is required");
    };
    answer(verifier.verify_with_status_list(&token).await)
}

fn answer(
    result: Result<(latch::verify::Claims, String), latch::verify::VerifyError>,
) -> HttpResponse {
    match result {
        Ok((claims, _)) => HttpResponse::Ok().json(serde_json::json!({
            "sub": claims.sub,
            "client_id": claims.client_id,
            "scope": claims.scope,
        })),
        Err(e) => unauthorized(&e.to_string()),
    }
}

/// `GET /ws`: an echo socket that closes (code 1008, policy violation) as
/// soon as Latch announces a revocation that takes its token back.
async fn socket(
    req: HttpRequest,
    body: web::Payload,
    verifier: web::Data<Arc<Verifier>>,
) -> Result<HttpResponse, actix_web::Error> {
    let Some(token) = token(&req) else {
        return Ok(unauthorized("a bearer token is required"));
    };
    let (claims, kid) = match verifier.verify(&token).await {
        Ok(ok) => ok,
        Err(e) => return Ok(unauthorized(&e.to_string())),
    };
    let (response, mut session, mut messages) = actix_ws::handle(&req, body)?;
    let mut revocations = verifier.revocations();
    actix_web::rt::spawn(async move {
        loop {
            tokio::select! {
                message = messages.next() => match message {
                    Some(Ok(Message::Text(text))) => {
                        if session.text(text).await.is_err() { return; }
                    }
                    Some(Ok(Message::Ping(bytes))) => {
                        if session.pong(&bytes).await.is_err() { return; }
                    }
                    Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => {}
                },
                revocation = revocations.recv() => match revocation {
                    Ok(r) if r.affects(&claims, &kid) => {
                        let reason = CloseReason { code: CloseCode::Policy, description: Some("token revoked".into()) };
                        let _ = session.close(Some(reason)).await;
                        return;
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(_) => return,
                },
            }
        }
    });
    Ok(response)
}
