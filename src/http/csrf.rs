//! CSRF protection for every form: the double-submit pattern. A random
//! value lives in an HttpOnly, SameSite cookie and in a hidden field named
//! `csrf_token`; a form is accepted only when both match. Another site can
//! make a browser send the cookie but cannot read it to fill the field.
//! Under TLS the cookie is `__Host-LATCH_CSRF`, so no sibling host can
//! plant a value of its choosing.

use actix_web::cookie::Cookie;
use actix_web::HttpRequest;

use super::cookies::Spec;
use super::form::Params;
use super::pages::PageError;
use crate::crypto;

pub const COOKIE: &str = "LATCH_CSRF";
pub const FIELD: &str = "csrf_token";

fn spec(path: &str, secure: bool) -> Spec {
    Spec::new(COOKIE, None, path, secure)
}

/// The request's CSRF value, or a new one with the cookie that carries it.
pub fn token(req: &HttpRequest, path: &str, secure: bool) -> (String, Option<Cookie<'static>>) {
    let spec = spec(path, secure);
    if let Some(existing) = spec.read(req) {
        if existing.len() == 43 {
            return (existing, None);
        }
    }
    let value = crypto::random_token::<32>();
    (value.clone(), Some(spec.build(value)))
}

/// True when the submitted field matches the cookie (constant time).
pub fn verify(req: &HttpRequest, submitted: Option<&str>, secure: bool) -> bool {
    match (spec("/", secure).read(req), submitted) {
        (Some(cookie), Some(field)) if !field.is_empty() => {
            crypto::constant_time_eq(cookie.as_bytes(), field.as_bytes())
        }
        _ => false,
    }
}

/// [`verify`] for a submitted form; the refusal is the page to show.
pub fn check(req: &HttpRequest, form: &Params, secure: bool) -> Result<(), PageError> {
    if verify(req, form.get(FIELD).ok().flatten(), secure) {
        return Ok(());
    }
    Err(PageError::new(
        actix_web::http::StatusCode::FORBIDDEN,
        "invalid_csrf_token",
        "This form has expired or was not sent from this site. Go back and try again.",
    ))
}
