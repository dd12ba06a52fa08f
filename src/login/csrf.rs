//! CSRF protection for every form: the double-submit pattern. A random
//! value lives in an HttpOnly, SameSite cookie and in a hidden field named
//! `csrf_token`; a form is accepted only when both match. Another site can
//! make a browser send the cookie but cannot read it to fill the field.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;

use crate::crypto;

pub const COOKIE: &str = "LATCH_CSRF";
pub const FIELD: &str = "csrf_token";

/// The request's CSRF value, or a new one with the cookie that carries it.
pub fn token(req: &HttpRequest, path: &str, secure: bool) -> (String, Option<Cookie<'static>>) {
    if let Some(existing) = req.cookie(COOKIE) {
        let value = existing.value();
        if value.len() == 43 {
            return (value.to_string(), None);
        }
    }
    let value = crypto::random_token::<32>();
    let cookie = Cookie::build(COOKIE, value.clone())
        .path(path.to_string())
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Lax)
        .finish();
    (value, Some(cookie))
}

/// True when the submitted field matches the cookie (constant time).
pub fn verify(req: &HttpRequest, submitted: Option<&str>) -> bool {
    match (req.cookie(COOKIE), submitted) {
        (Some(cookie), Some(field)) if !field.is_empty() => {
            crypto::constant_time_eq(cookie.value().as_bytes(), field.as_bytes())
        }
        _ => false,
    }
}
