//! Request parameters from a query string or a form body, kept as a list so
//! a repeated parameter is seen (RFC 6749 §3.1: parameters must not repeat).

use actix_web::{web, HttpRequest};

pub use latch_protocol::params::{ParamError, Params, MAX_FIELDS, MAX_FORM_BYTES, MAX_QUERY_BYTES};

pub fn from_query(req: &HttpRequest) -> Result<Params, ParamError> {
    if req.query_string().len() > MAX_QUERY_BYTES {
        return Err(ParamError::QueryTooLong);
    }
    Params::parse(req.query_string().as_bytes())
}

/// Reads a form body, refusing more than `MAX_FORM_BYTES`.
pub async fn from_body(req: &HttpRequest, payload: web::Payload) -> Result<Params, ParamError> {
    let content_type = req
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type
        .to_ascii_lowercase()
        .starts_with("application/x-www-form-urlencoded")
    {
        return Err(ParamError::WrongContentType);
    }
    if let Some(length) = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
    {
        if length > MAX_FORM_BYTES {
            return Err(ParamError::TooLarge);
        }
    }
    match payload.to_bytes_limited(MAX_FORM_BYTES).await {
        Ok(Ok(body)) => Params::parse(&body),
        _ => Err(ParamError::TooLarge),
    }
}
