//! The web error: turns a domain error into the right response. Protocol
//! endpoints answer OAuth JSON (RFC 6749 §5.2); the internal cause is logged
//! and never sent to the client.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::error::Error;

#[derive(Debug, Serialize)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    /// A `WWW-Authenticate` challenge to send with the error.
    #[serde(skip)]
    pub challenge: Option<String>,
    pub error: &'static str,
    pub error_description: String,
    /// Seconds to wait, for a 429 or a 503.
    #[serde(skip)]
    pub retry_after: Option<u64>,
    /// The request field a validation error is about (admin API).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        ApiError {
            status,
            challenge: None,
            error,
            error_description: description.into(),
            field: None,
            retry_after: None,
        }
    }

    /// 429 with Retry-After: a rate limit or a throttle.
    pub fn too_many(wait: crate::limits::RetryAfter, description: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "temporarily_unavailable",
            description,
        );
        e.retry_after = Some(wait.0);
        e
    }

    /// 401 with a Bearer challenge (RFC 6750 §3).
    pub fn unauthorized(description: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "unauthorized", description);
        e.challenge = Some(r#"Bearer realm="master""#.into());
        e
    }

    pub fn forbidden(description: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", description)
    }

    /// 422: a well-formed request whose `field` has an unacceptable value.
    pub fn invalid_field(field: &str, description: impl Into<String>) -> Self {
        let mut e = Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            description,
        );
        e.field = Some(field.to_string());
        e
    }

    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", description)
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// RFC 6749 §5.2: a failed client authentication is 401 with a challenge.
    pub fn invalid_client(description: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description);
        e.challenge = Some(r#"Basic realm="latch""#.into());
        e
    }

    pub fn oauth(error: &'static str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, description)
    }

    pub fn unavailable(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            description,
        )
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.error_description)
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(challenge) = &self.challenge {
            response.insert_header((header::WWW_AUTHENTICATE, challenge.as_str()));
        }
        match self.retry_after {
            Some(seconds) => {
                response.insert_header((header::RETRY_AFTER, seconds.to_string()));
            }
            None if self.status == StatusCode::SERVICE_UNAVAILABLE => {
                response.insert_header((header::RETRY_AFTER, "1"));
            }
            None => {}
        }
        response.json(self)
    }
}

impl From<crate::http::form::ParamError> for ApiError {
    fn from(e: crate::http::form::ParamError) -> Self {
        use crate::http::form::ParamError;
        match e {
            ParamError::TooLarge => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                e.to_string(),
            ),
            ParamError::QueryTooLong => {
                Self::new(StatusCode::URI_TOO_LONG, "invalid_request", e.to_string())
            }
            _ => Self::invalid_request(e.to_string()),
        }
    }
}

impl From<latch_protocol::OAuthError> for ApiError {
    fn from(e: latch_protocol::OAuthError) -> Self {
        if e.error == "invalid_client" {
            return ApiError::invalid_client(e.description);
        }
        Self::oauth(e.error, e.description)
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        Error::Store(e).into()
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let c = e.classify();
        let status = StatusCode::from_u16(c.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut error = ApiError::new(status, c.code, c.message);
        if c.code == "invalid_client" {
            error.challenge = Some(r#"Basic realm="latch""#.into());
        }
        error
    }
}
