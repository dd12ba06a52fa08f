//! Client authentication at the token, revocation and introspection
//! endpoints (RFC 6749 §2.3.1): `client_secret_basic` or
//! `client_secret_post`, never both; public clients send only their id.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::app::Latch;
use crate::directory::{Client, RealmState};
use crate::http::errors::ApiError;
use crate::http::form::Params;

/// Who is calling, and whether they proved it with a secret.
pub struct Caller {
    pub client: Arc<Client>,
    pub authenticated: bool,
}

pub async fn authenticate(
    state: &Latch,
    realm: &RealmState,
    req: &HttpRequest,
    params: &Params,
) -> Result<Caller, ApiError> {
    let header = match req.headers().get(header::AUTHORIZATION) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| ApiError::invalid_client("the Authorization header is malformed"))?,
        ),
    };
    let basic = latch_protocol::token::basic_credentials(header)?;
    let (client_id, secret) = latch_protocol::token::client_credentials(basic, params)?;
    // Failures are budgeted per (realm, client, IP): an attacker guessing
    // a secret is slowed down without locking the real client out.
    let now = state.clock.now_ms();
    let ip = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let key = (realm.realm.id.as_str(), client_id.as_str(), ip.as_str());
    let limiter = &state.defences.client_auth_failures;
    if let Some(wait) = limiter.exhausted(&key, now) {
        return Err(ApiError::too_many(
            wait,
            "too many failed client authentications from this address",
        ));
    }
    let client = state
        .directory
        .client(realm, &client_id)
        .await?
        .filter(|c| c.enabled);
    let caller = match (client, secret) {
        (Some(client), Some(secret)) if state.directory.client_secret_matches(&client, &secret) => {
            Caller {
                client,
                authenticated: true,
            }
        }
        (Some(client), None) if client.is_public() => Caller {
            client,
            authenticated: false,
        },
        _ => {
            limiter.spend(&key, now);
            return Err(ApiError::invalid_client("client authentication failed"));
        }
    };
    limit(state, &caller, &ip, now)?;
    {
        use actix_web::HttpMessage;
        req.extensions_mut()
            .insert(crate::http::cors::CorsClient(Arc::clone(&caller.client)));
    }
    Ok(caller)
}

/// Rate limits after authentication: a public client's requests count
/// against its IP's budget for unauthenticated requests; a confidential
/// one is limited only by a quota an operator set for it.
fn limit(state: &Latch, caller: &Caller, ip: &str, now: i64) -> Result<(), ApiError> {
    let result = if !caller.authenticated {
        state.defences.unauthenticated.take(&("protocol", ip), now)
    } else if let Some(quota) = caller.client.rate_limit_per_s {
        let rate = crate::limits::Rate::per_second(quota, quota);
        state
            .defences
            .client_quotas
            .take_at(&caller.client.id, rate, now)
    } else {
        Ok(())
    };
    result.map_err(|wait| ApiError::too_many(wait, "rate limit exceeded; slow down"))
}
