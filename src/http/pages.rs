//! HTML pages: every page is an askama template rendered with the same
//! protective headers, and browser errors are pages, never JSON.

use actix_web::http::{header, StatusCode};
use actix_web::{get, HttpResponse, HttpResponseBuilder, ResponseError};
use askama::Template;

/// No inline script or style anywhere; pages load only our stylesheet.
pub const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; \
                       frame-ancestors 'none'; base-uri 'none'";

/// A builder with the headers every page carries.
pub fn page(status: StatusCode) -> HttpResponseBuilder {
    let mut builder = HttpResponse::build(status);
    builder
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    builder
}

pub fn render(status: StatusCode, template: &impl Template) -> HttpResponse {
    render_with_csp(status, template, CSP)
}

/// A page with its own Content-Security-Policy (the logout page frames the
/// relying parties' front-channel logout URIs).
pub fn render_with_csp(status: StatusCode, template: &impl Template, csp: &str) -> HttpResponse {
    match template.render() {
        Ok(body) => {
            let mut builder = page(status);
            builder.insert_header((header::CONTENT_SECURITY_POLICY, csp));
            builder.body(body)
        }
        Err(e) => {
            tracing::error!(error = %e, "template failed to render");
            page(StatusCode::INTERNAL_SERVER_ERROR).body("The page could not be rendered.")
        }
    }
}

/// A page other sites may frame — the login-status iframe and the
/// third-party cookie check, nothing else: `frame-ancestors` lists
/// `ancestors` (the realm's web origins) instead of `'none'`, there is no
/// `X-Frame-Options`, and the page's script comes from `/resources/`.
pub fn render_framed(
    status: StatusCode,
    template: &impl Template,
    ancestors: &[String],
) -> HttpResponse {
    // Web origins are stored normalised; anything that could end the
    // directive is left out all the same.
    let listed: Vec<&str> = ancestors
        .iter()
        .map(String::as_str)
        .filter(|o| {
            !o.is_empty() && !o.contains(|c: char| c.is_whitespace() || c == ';' || c == ',')
        })
        .collect();
    let ancestors = if listed.is_empty() {
        "'none'".to_string()
    } else {
        listed.join(" ")
    };
    let csp = format!(
        "default-src 'none'; script-src 'self'; connect-src 'self'; \
         frame-ancestors {ancestors}; base-uri 'none'; form-action 'none'"
    );
    let mut response = render_with_csp(status, template, &csp);
    response.headers_mut().remove(header::X_FRAME_OPTIONS);
    response
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    code: &'a str,
}

/// An error shown to a person in a browser. It never redirects: it is used
/// exactly when redirecting could be unsafe (unknown client, bad redirect URI).
#[derive(Debug)]
pub struct PageError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl PageError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        PageError {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 503: the server cannot do it right now.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            message,
        )
    }
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let title = if self.status.is_server_error() {
            "Something went wrong"
        } else {
            "We can't continue"
        };
        render(
            self.status,
            &ErrorPage {
                title,
                message: &self.message,
                code: self.code,
            },
        )
    }
}

impl From<crate::error::Error> for PageError {
    fn from(e: crate::error::Error) -> Self {
        let c = e.classify();
        let status = StatusCode::from_u16(c.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let message = match c.code {
            "not_found" => format!("{}.", c.message),
            "temporarily_unavailable"
                if c.status == 503 && matches!(e, crate::error::Error::Store(_)) =>
            {
                "The service is temporarily unavailable. Please try again shortly.".to_string()
            }
            _ if status.is_server_error() && c.code == "server_error" => {
                "The server could not complete the request. Please try again shortly.".to_string()
            }
            _ => c.message,
        };
        PageError::new(status, c.code, message)
    }
}

impl From<crate::store::StoreError> for PageError {
    fn from(e: crate::store::StoreError) -> Self {
        crate::error::Error::Store(e).into()
    }
}

impl From<crate::http::form::ParamError> for PageError {
    fn from(e: crate::http::form::ParamError) -> Self {
        use crate::http::form::ParamError;
        let status = match e {
            ParamError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ParamError::QueryTooLong => StatusCode::URI_TOO_LONG,
            _ => StatusCode::BAD_REQUEST,
        };
        PageError::new(
            status,
            "invalid_request",
            format!("The request is invalid: {e}."),
        )
    }
}

const STYLESHEET: &str = include_str!("../../static/latch.css");

/// The scripts of the framed pages (`render_framed`), by name; no other
/// page runs a script.
const SCRIPTS: [(&str, &str); 3] = [
    (
        "3p-cookies-step1.js",
        include_str!("../../static/js/3p-cookies-step1.js"),
    ),
    (
        "3p-cookies-step2.js",
        include_str!("../../static/js/3p-cookies-step2.js"),
    ),
    (
        "login-status-iframe.js",
        include_str!("../../static/js/login-status-iframe.js"),
    ),
];

/// No icon: an empty answer, so a browser's automatic request for one is
/// not an error in its console.
#[get("/favicon.ico")]
pub async fn favicon() -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .finish()
}

#[get("/resources/js/{name}")]
pub async fn script(name: actix_web::web::Path<String>) -> HttpResponse {
    match SCRIPTS.iter().find(|(n, _)| *n == name.as_str()) {
        Some((_, body)) => HttpResponse::Ok()
            .content_type("text/javascript; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .body(*body),
        None => HttpResponse::NotFound().finish(),
    }
}

#[get("/resources/latch.css")]
pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(STYLESHEET)
}
