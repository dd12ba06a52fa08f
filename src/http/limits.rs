//! Limits every request meets before any handler: the size of its headers
//! and of its query string. (Bodies are limited where they are read:
//! forms at 16 KB, admin JSON at 256 KB.)

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::ResponseError;

use super::errors::ApiError;

/// The most header bytes (names and values) a request may carry.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

pub async fn check(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let header_bytes: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    let refusal = if header_bytes > MAX_HEADER_BYTES {
        Some(ApiError::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "invalid_request",
            format!("the request headers exceed {MAX_HEADER_BYTES} bytes"),
        ))
    } else if req.query_string().len() > super::form::MAX_QUERY_BYTES {
        Some(ApiError::new(
            StatusCode::URI_TOO_LONG,
            "invalid_request",
            format!(
                "the query string is longer than {} bytes",
                super::form::MAX_QUERY_BYTES
            ),
        ))
    } else {
        None
    };
    match refusal {
        Some(e) => Ok(req.into_response(e.error_response())),
        None => Ok(next.call(req).await?.map_into_boxed_body()),
    }
}
