//! The Token Status List endpoint (`/protocol/openid-connect/status-list/{n}`).

use actix_web::http::header;
use actix_web::{web, HttpResponse};

use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::publish::status_list::TTL_S;

/// Always `application/statuslist+jwt`, whatever the Accept header says;
/// readable from any origin; cacheable for the list's `ttl`.
pub async fn status_list(
    state: web::Data<Latch>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (realm_name, list) = path.into_inner();
    let realm = super::realm(&state, &realm_name).await?;
    let list_no: i64 = list
        .parse()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| ApiError::not_found(format!("status list `{list}` not found")))?;
    let uri = format!(
        "{}/protocol/openid-connect/status-list/{list_no}",
        state.issuer(&realm.realm.name)
    );
    let jwt = state.status_lists.serve(&realm, &uri, list_no).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/statuslist+jwt")
        .insert_header((header::CACHE_CONTROL, format!("public, max-age={TTL_S}")))
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"))
        .body(jwt))
}
