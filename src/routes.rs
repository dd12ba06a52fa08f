//! The routes table: every front door's paths in one place, and the actix
//! `App` every worker builds around the service handle.

use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};

use crate::app::Latch;
use crate::http::{self, errors::ApiError};
use crate::telemetry::Metrics;

/// The routes table.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use crate::oidc::authorize;
    cfg.route(
        "/realms/{realm}/protocol/openid-connect/auth",
        web::get().to(authorize::authorize_get),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/auth",
        web::post().to(authorize::authorize_post),
    )
    .route(
        "/realms/{realm}/login-actions/authenticate",
        web::post().to(crate::pages::login::authenticate),
    )
    .route(
        "/realms/{realm}/login-actions/required-action",
        web::post().to(crate::pages::required_action::update_password),
    )
    .route(
        "/realms/{realm}/login-actions/consent",
        web::post().to(crate::pages::consent::answer),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/token",
        web::post().to(crate::oidc::token::token),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/userinfo",
        web::get().to(crate::oidc::userinfo::userinfo_get),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/userinfo",
        web::post().to(crate::oidc::userinfo::userinfo_post),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/revoke",
        web::post().to(crate::oidc::revoke::revoke),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/revoke",
        web::route().to(crate::oidc::revoke::method_not_allowed),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/token/introspect",
        web::post().to(crate::oidc::introspect::introspect),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/token/introspect",
        web::route().to(crate::oidc::revoke::method_not_allowed),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/logout",
        web::get().to(crate::oidc::logout::logout_get),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/logout",
        web::post().to(crate::oidc::logout::logout_post),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/logout/confirm",
        web::post().to(crate::oidc::logout::confirm),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/revocations",
        web::get().to(crate::oidc::stream::revocations),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/revocations",
        web::post().to(crate::oidc::stream::revocations),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/status-list/{list}",
        web::get().to(crate::oidc::status::status_list),
    )
    .route(
        "/realms/{realm}/account",
        web::get().to(crate::account::show),
    )
    .route(
        "/realms/{realm}/account/",
        web::get().to(crate::account::show),
    )
    .route(
        "/realms/{realm}/account/callback",
        web::get().to(crate::account::callback),
    )
    .route(
        "/realms/{realm}/account/actions",
        web::post().to(crate::account::act),
    )
    .configure(crate::console::routes)
    .service(http::pages::stylesheet)
    .service(crate::oidc::discovery::openid_configuration)
    .service(crate::oidc::jwks::certs)
    .service(http::health::live)
    .service(http::health::ready)
    .service(http::health::metrics)
    .route("/admin/openapi.json", web::get().to(crate::admin::openapi));
}

/// Builds the actix `App` factory used by every worker.
pub fn app(
    state: web::Data<Latch>,
    metrics: web::Data<Metrics>,
) -> actix_web::App<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    use utoipa_actix_web::AppExt;
    let (app, api) = actix_web::App::new()
        .into_utoipa_app()
        .service(crate::admin::scope())
        .split_for_parts();
    // Every response: no MIME sniffing; under TLS, HSTS (a year).
    let mut headers = actix_web::middleware::DefaultHeaders::new()
        .add((actix_web::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if state.settings.tls_cert.is_some() {
        headers = headers.add((
            actix_web::http::header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000",
        ));
    }
    app.app_data(state)
        .app_data(metrics)
        .app_data(web::Data::new(crate::admin::document(api)))
        .app_data(
            web::PathConfig::default()
                .error_handler(|e, _| ApiError::invalid_request(format!("bad path: {e}")).into()),
        )
        .app_data(
            web::QueryConfig::default()
                .error_handler(|e, _| ApiError::invalid_request(format!("bad query: {e}")).into()),
        )
        .wrap(from_fn(http::cors::cors))
        .wrap(from_fn(http::limits::check))
        .wrap(headers)
        .wrap(from_fn(http::metrics::record))
        .configure(routes)
        .default_service(web::to(not_found))
}

async fn not_found() -> HttpResponse {
    use actix_web::ResponseError;
    ApiError::not_found("no such endpoint").error_response()
}
