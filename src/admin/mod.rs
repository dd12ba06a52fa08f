//! The admin REST API under `/admin/realms`: Keycloak's paths and
//! representation field names, so scripts written for Keycloak's admin API
//! work, plus Latch's invalidation actions as first-class endpoints.
//!
//! Every handler is registered through `utoipa-actix-web`, so the OpenAPI
//! document at `/admin/openapi.json` is generated from the same code that
//! routes requests and cannot drift from it.

pub mod auth;
pub mod clients;
pub mod events;
pub mod keys;
pub mod realms;
pub mod roles;
pub mod scopes;
pub mod serverinfo;
pub mod sessions;
pub mod users;

use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::ToSchema;

use crate::error::Error;
use crate::http::errors::ApiError;
pub use auth::Admin;

/// Longest page a list endpoint returns.
pub const MAX_PAGE: i64 = 500;

/// The error body of every admin endpoint.
#[derive(Serialize, ToSchema)]
pub struct ErrorRepresentation {
    /// A stable code: `unauthorized`, `forbidden`, `not_found`, `conflict`,
    /// `invalid_field`, `invalid_request`, `temporarily_unavailable`.
    pub error: String,
    pub error_description: String,
    /// The field a validation error is about.
    pub field: Option<String>,
}

/// What an invalidation action took back.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutcomeRepresentation {
    pub sessions_ended: usize,
    pub refresh_families_revoked: usize,
    pub tokens_denied: usize,
    pub backchannel_notices_queued: usize,
}

impl From<crate::revocation::cascade::Outcome> for OutcomeRepresentation {
    fn from(o: crate::revocation::cascade::Outcome) -> Self {
        OutcomeRepresentation {
            sessions_ended: o.sessions_ended,
            refresh_families_revoked: o.families_revoked,
            tokens_denied: o.tokens_denied,
            backchannel_notices_queued: o.notices_queued,
        }
    }
}

/// `?summary=true` on an invalidation action that Keycloak answers with
/// 204: answer 200 with what it took back instead. The audit event records
/// it either way.
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
pub struct Summary {
    /// Answer 200 with what was taken back instead of 204 No Content.
    #[serde(default, deserialize_with = "crate::http::query::optional_boolean")]
    pub summary: Option<bool>,
}

impl Summary {
    pub fn answer(&self, outcome: crate::revocation::cascade::Outcome) -> HttpResponse {
        if self.summary == Some(true) {
            HttpResponse::Ok().json(OutcomeRepresentation::from(outcome))
        } else {
            HttpResponse::NoContent().finish()
        }
    }
}

/// The admin API's routes, as a scope whose handlers carry their OpenAPI
/// descriptions.
pub fn scope() -> utoipa_actix_web::scope::Scope<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    utoipa_actix_web::scope("/admin/realms")
        .app_data(
            web::JsonConfig::default()
                .limit(256 * 1024)
                .error_handler(|e, _| {
                    use actix_web::error::JsonPayloadError;
                    match e {
                        JsonPayloadError::Deserialize(d) => {
                            ApiError::invalid_field(&field_of(&d), format!("invalid body: {d}"))
                                .into()
                        }
                        JsonPayloadError::Overflow { .. }
                        | JsonPayloadError::OverflowKnownLength { .. } => ApiError::new(
                            actix_web::http::StatusCode::PAYLOAD_TOO_LARGE,
                            "invalid_request",
                            "the body is too large",
                        )
                        .into(),
                        JsonPayloadError::ContentType => ApiError::new(
                            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                            "invalid_request",
                            "send the body as application/json",
                        )
                        .into(),
                        other => ApiError::invalid_request(format!("invalid body: {other}")).into(),
                    }
                }),
        )
        .configure(realms::routes)
        .configure(roles::routes)
        .configure(scopes::routes)
        .configure(users::routes)
        .configure(clients::routes)
        .configure(sessions::routes)
        .configure(keys::routes)
        .configure(events::routes)
}

/// serde's message names a missing or unknown field in backticks.
pub(crate) fn field_of(e: &serde_json::Error) -> String {
    let text = e.to_string();
    text.split('`').nth(1).unwrap_or("").to_string()
}

/// The OpenAPI document, with the bearer scheme every operation requires.
pub fn document(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    api.info.title = "Latch admin API".into();
    api.info.version = env!("CARGO_PKG_VERSION").into();
    api.info.contact = None;
    api.info.license = Some(utoipa::openapi::License::new(env!("CARGO_PKG_LICENSE")));
    api.info.description = Some(
        "Realms, clients, users, sessions, keys and audit events, with every invalidation \
         action. Authorize with a bearer access token of realm `master` carrying the realm \
         role `admin`."
            .into(),
    );
    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    api.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
        "bearer",
        Vec::<String>::new(),
    )]);
    api
}

/// `GET /admin/openapi.json`
pub async fn openapi(doc: web::Data<utoipa::openapi::OpenApi>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .json(doc.get_ref())
}

/// Maps a domain error for the admin API: an invalid value is a 422 that
/// names `field`.
pub fn in_field(field: &'static str) -> impl Fn(Error) -> ApiError {
    move |e| match e {
        Error::Invalid(msg) => ApiError::invalid_field(field, msg),
        other => other.into(),
    }
}

/// 201 Created pointing at the new resource.
pub fn created(location: String, body: Option<serde_json::Value>) -> HttpResponse {
    let mut response = HttpResponse::Created();
    response.insert_header((actix_web::http::header::LOCATION, location));
    response.insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"));
    match body {
        Some(body) => response.json(body),
        None => response.finish(),
    }
}

/// Pagination as Keycloak spells it: `first` (offset) and `max`.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub struct Page {
    pub first: Option<i64>,
    pub max: Option<i64>,
}

impl Page {
    pub fn bounds(&self) -> Result<(i64, i64), ApiError> {
        let first = self.first.unwrap_or(0);
        let max = self.max.unwrap_or(100);
        if first < 0 {
            return Err(ApiError::invalid_field(
                "first",
                "first must not be negative",
            ));
        }
        if !(1..=MAX_PAGE).contains(&max) {
            return Err(ApiError::invalid_field(
                "max",
                format!("max must be between 1 and {MAX_PAGE}"),
            ));
        }
        Ok((first, max))
    }
}
