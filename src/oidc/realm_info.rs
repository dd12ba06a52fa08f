//! `GET /realms/{realm}`: the public realm document Keycloak serves and
//! older adapters read — the realm's name, its RS256 signing key (base64
//! DER SubjectPublicKeyInfo), where its token service and account page are,
//! and its cut-off.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;

use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::ids::RealmName;
use crate::operations::realms;

#[derive(Serialize)]
struct RealmDocument {
    realm: String,
    /// Base64 DER SubjectPublicKeyInfo of the active RS256 key.
    public_key: Option<String>,
    #[serde(rename = "token-service")]
    token_service: String,
    #[serde(rename = "account-service")]
    account_service: String,
    /// Seconds since the epoch; tokens issued before it are refused.
    #[serde(rename = "tokens-not-before")]
    tokens_not_before: i64,
}

pub async fn realm_info(
    state: web::Data<Latch>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let realm = realms::public_info(&state, &RealmName(path.into_inner())).await?;
    let issuer = state.issuer(&realm.name);
    let document = RealmDocument {
        public_key: realm.public_key_der.map(|der| STANDARD.encode(der)),
        token_service: format!("{issuer}/protocol/openid-connect"),
        account_service: format!("{issuer}/account"),
        tokens_not_before: realm.not_before_ms / 1000,
        realm: realm.name,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .json(document))
}
