//! The realm's JSON Web Key Set (`/protocol/openid-connect/certs`).

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};

use crate::app::Latch;
use crate::http::errors::ApiError;

/// Short enough that relying parties pick up a new key soon after a
/// rotation; `must-revalidate` so no stale copy outlives it.
const CACHE_CONTROL: &str = "public, max-age=60, must-revalidate";

#[get("/realms/{realm}/protocol/openid-connect/certs")]
pub async fn certs(
    state: web::Data<Latch>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let realm = super::realm(&state, &path).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .content_type("application/jwk-set+json")
        .json(realm.keys.jwks()))
}
