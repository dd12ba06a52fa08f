//! Token revocation (RFC 7009) at `/protocol/openid-connect/revoke`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::http::peer;
use crate::operations::{self, Actor};

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
    // `token_type_hint` is not needed: the kinds differ by shape (RFC 7009
    // §2.1 lets the server search by itself).
    let actor = Actor::Client {
        client_id: caller.client.client_id.clone().into(),
        ip: peer::ip(&req),
    };
    operations::tokens::revoke(&state, &actor, &realm, &caller.client, token).await?;
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
