//! CORS for browser apps (single-page applications): only where they need
//! it, and nothing else opened.
//!
//! - Public documents — discovery, JWKS, the status list — answer any
//!   origin (`*`): they are public and carry no credentials.
//! - The token, userinfo, revocation and introspection endpoints, and the
//!   account API (`GET /account` with a bearer token), answer an origin
//!   only when the client the request turned out to be for (the
//!   authenticated or public client; for a bearer token, the token's
//!   client) lists it in its web origins (`+` meaning every redirect URI's
//!   origin, as in Keycloak). A preflight passes when some client of the
//!   realm lists the origin; it is refused without CORS headers otherwise.
//! - Credentialed requests (`Access-Control-Allow-Credentials: true`, which
//!   Keycloak's adapter needs at the token endpoint) are allowed at the
//!   token endpoint and for answers to a bearer token (userinfo, the account
//!   API) only. A response produced from the session cookie — the account
//!   page, the logout page — carries no CORS header at all: the handler
//!   names no client for it.

use std::sync::Arc;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, HttpMessage, HttpResponse};

use crate::app::Latch;
use crate::directory::Client;

/// The client a protocol request was for, left by the handler for the
/// response's CORS decision.
#[derive(Clone)]
pub struct CorsClient(pub Arc<Client>);

enum Kind {
    Public,
    /// The realm, and whether credentialed requests are allowed.
    ClientEndpoint(String, bool),
}

fn classify(path: &str) -> Option<Kind> {
    let rest = path.strip_prefix("/realms/")?;
    let (realm, tail) = rest.split_once('/')?;
    if tail == ".well-known/openid-configuration"
        || tail == "protocol/openid-connect/certs"
        || tail.starts_with("protocol/openid-connect/status-list/")
    {
        return Some(Kind::Public);
    }
    let credentials = match tail {
        "protocol/openid-connect/token" | "protocol/openid-connect/userinfo" | "account" => true,
        "protocol/openid-connect/revoke" | "protocol/openid-connect/token/introspect" => false,
        _ => return None,
    };
    Some(Kind::ClientEndpoint(realm.to_string(), credentials))
}

const ALLOW_HEADERS: &str = "Authorization, Content-Type";
const MAX_AGE: &str = "600";

fn preflight(origin: &str, methods: &str, credentials: bool) -> HttpResponse {
    let mut response = HttpResponse::NoContent();
    response
        .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin))
        .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, methods))
        .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, ALLOW_HEADERS))
        .insert_header((header::ACCESS_CONTROL_MAX_AGE, MAX_AGE))
        .insert_header((header::VARY, "Origin"));
    if credentials {
        response.insert_header((header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true"));
    }
    response.finish()
}

pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let (Some(origin), Some(kind)) = (origin, classify(req.path())) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let is_preflight = req.method() == Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    match kind {
        Kind::Public if is_preflight => Ok(req.into_response(preflight("*", "GET", false))),
        Kind::Public => {
            let mut response = next.call(req).await?.map_into_boxed_body();
            response.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                header::HeaderValue::from_static("*"),
            );
            Ok(response)
        }
        Kind::ClientEndpoint(realm, credentials) if is_preflight => {
            let allowed = match req.app_data::<web::Data<Latch>>() {
                Some(state) => state
                    .directory
                    .origin_allowed(&realm, &origin)
                    .await
                    .unwrap_or(false),
                None => false,
            };
            let response = if allowed {
                preflight(&origin, "GET, POST", credentials)
            } else {
                HttpResponse::Forbidden().finish()
            };
            Ok(req.into_response(response))
        }
        Kind::ClientEndpoint(_, credentials) => {
            let mut response = next.call(req).await?.map_into_boxed_body();
            let allowed = response
                .request()
                .extensions()
                .get::<CorsClient>()
                .is_some_and(|c| c.0.allows_origin(&origin));
            if allowed {
                allow(response.headers_mut(), &origin, credentials);
            }
            Ok(response)
        }
    }
}

/// Lets `origin` read the answer (and, `credentials`, a credentialed one).
fn allow(headers: &mut header::HeaderMap, origin: &str, credentials: bool) {
    let Ok(value) = header::HeaderValue::from_str(origin) else {
        return;
    };
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        header::HeaderValue::from_static("WWW-Authenticate"),
    );
    headers.insert(header::VARY, header::HeaderValue::from_static("Origin"));
    if credentials {
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            header::HeaderValue::from_static("true"),
        );
    }
}
