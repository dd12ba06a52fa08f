//! Client authentication at the token, revocation and introspection
//! endpoints (RFC 6749 §2.3.1): `client_secret_basic` or
//! `client_secret_post`, never both; public clients send only their id.

use std::sync::Arc;

use actix_web::http::header;
use actix_web::HttpRequest;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::directory::{Client, RealmState};
use crate::http::errors::ApiError;
use crate::http::form::Params;
use crate::http::AppState;

/// Who is calling, and whether they proved it with a secret.
pub struct Caller {
    pub client: Arc<Client>,
    pub authenticated: bool,
}

fn basic_credentials(req: &HttpRequest) -> Result<Option<(String, String)>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let malformed = || ApiError::invalid_client("the Authorization header is malformed");
    let value = value.to_str().map_err(|_| malformed())?;
    let Some(encoded) = value
        .get(..6)
        .filter(|scheme| scheme.eq_ignore_ascii_case("basic "))
        .map(|_| value[6..].trim())
    else {
        return Err(ApiError::invalid_client(
            "use HTTP Basic client authentication",
        ));
    };
    let decoded = STANDARD.decode(encoded).map_err(|_| malformed())?;
    let text = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = text.split_once(':').ok_or_else(malformed)?;
    // RFC 6749 §2.3.1: both parts are form-urlencoded before encoding.
    let decode = |s: &str| -> Result<String, ApiError> {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .ok_or_else(malformed)
    };
    Ok(Some((decode(id)?, decode(secret)?)))
}

pub async fn authenticate(
    state: &AppState,
    realm: &RealmState,
    req: &HttpRequest,
    params: &Params,
) -> Result<Caller, ApiError> {
    let basic = basic_credentials(req)?;
    let form_id = params.get("client_id")?;
    let form_secret = params.get("client_secret")?;
    let (client_id, secret) = match (basic, form_id, form_secret) {
        (Some(_), _, Some(_)) => {
            return Err(ApiError::invalid_request(
                "use one client authentication method, not two",
            ))
        }
        (Some((id, _)), Some(form), None) if form != id => {
            return Err(ApiError::invalid_request(
                "client_id differs from the authenticated client",
            ))
        }
        (Some((id, secret)), _, None) => (id, Some(secret)),
        (None, Some(id), secret) => (id.to_string(), secret.map(str::to_string)),
        (None, None, _) => {
            return Err(ApiError::invalid_client(
                "client authentication is required",
            ))
        }
    };
    let client = state
        .directory
        .client(realm, &client_id)
        .await?
        .filter(|c| c.enabled);
    match (client, secret) {
        (Some(client), Some(secret)) if state.directory.client_secret_matches(&client, &secret) => {
            Ok(Caller {
                client,
                authenticated: true,
            })
        }
        (Some(client), None) if client.is_public() => Ok(Caller {
            client,
            authenticated: false,
        }),
        _ => Err(ApiError::invalid_client("client authentication failed")),
    }
}
