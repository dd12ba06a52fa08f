//! Token revocation (RFC 7009) at `/protocol/openid-connect/revoke`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::revocation::cascade::{self, Actor, SecurityEvent};
use crate::store;
use crate::tokens::AccessClaims;

/// What a presented token turned out to be.
enum Presented {
    Access(AccessClaims),
    Refresh(store::refresh::FamilyRow),
    /// Unknown, malformed, expired or already dead: RFC 7009 §2.2 says 200.
    Nothing,
}

async fn identify(
    state: &Latch,
    realm: &crate::directory::RealmState,
    token: &str,
    hint: Option<&str>,
) -> Result<Presented, ApiError> {
    // Live and not yet revoked (signature checked once, through the
    // verified-token cache); anything else is already dead: nothing to do.
    let as_access = || super::validate_access(state, realm, token).ok();
    // RFC 7009 §2.1: the hint orders the search; it is not trusted.
    let looks_like_jwt = token.matches('.').count() == 2;
    if hint != Some("refresh_token") || looks_like_jwt {
        if let Some(claims) = as_access() {
            return Ok(Presented::Access(claims));
        }
    }
    if looks_like_jwt || token.len() > 128 {
        return Ok(Presented::Nothing);
    }
    let hash = state.directory.hash_token(token);
    let found = state
        .directory
        .store()
        .run(move |conn| store::refresh::find_token(conn, &hash))
        .await?;
    Ok(match found {
        Some((_, family))
            if family.realm_id == realm.realm.id && family.revoked_at_ms.is_none() =>
        {
            Presented::Refresh(family)
        }
        _ => Presented::Nothing,
    })
}

fn other_client() -> ApiError {
    ApiError::oauth(
        "unauthorized_client",
        "the token was issued to another client",
    )
}

/// `POST /realms/{realm}/protocol/openid-connect/revoke`
pub async fn revoke(
    state: web::Data<Latch>,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (realm, params, caller) = super::protocol_form(&state, &path, &req, body).await?;
    let token = params
        .get("token")?
        .ok_or_else(|| ApiError::invalid_request("token is required"))?;
    let event = match identify(&state, &realm, token, params.get("token_type_hint")?).await? {
        Presented::Access(claims) if claims.client_id != caller.client.client_id => {
            return Err(other_client())
        }
        Presented::Access(claims) => Some(SecurityEvent::AccessTokenRevoked {
            jti: claims.jti,
            exp_ms: claims.exp * 1000,
            client_row_id: caller.client.id.clone(),
        }),
        Presented::Refresh(family) if family.client_id != caller.client.id => {
            return Err(other_client())
        }
        Presented::Refresh(family) => Some(SecurityEvent::RefreshFamilyRevoked {
            family_id: family.id,
        }),
        Presented::Nothing => None,
    };
    if let Some(event) = event {
        let realm_row = realm.realm.clone();
        let actor = Actor::Client {
            client_id: caller.client.client_id.clone().into(),
            ip: req.peer_addr().map(|a| a.ip().to_string()),
        };
        let now = state.clock.now_ms();
        state
            .committer
            .submit(move |conn| cascade::apply(conn, &realm_row, &event, &actor, now).map(|_| ()))
            .await?;
        // The committer applied it to this node and published it before
        // answering, so the token is rejected here from now on.
    }
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// Anything but POST is refused with a JSON error.
pub async fn method_not_allowed() -> HttpResponse {
    use actix_web::ResponseError;
    let mut response = ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "invalid_request",
        "use POST",
    )
    .error_response();
    response
        .headers_mut()
        .insert(header::ALLOW, header::HeaderValue::from_static("POST"));
    response
}
