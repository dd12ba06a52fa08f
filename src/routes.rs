//! The routes table: every front door's paths in one place, and the actix
//! `App` every worker builds around the service handle.

use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};

use crate::app::Latch;
use crate::http::{self, errors::ApiError};
use crate::telemetry::Metrics;

/// The routes table: each front door's paths, then the documents and
/// probes every server answers.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.configure(protocol)
        .configure(sign_in_pages)
        .configure(account)
        .configure(browser_adapter)
        .configure(crate::console::routes)
        .service(http::pages::stylesheet)
        .service(http::pages::script)
        .service(http::pages::favicon)
        .service(crate::oidc::discovery::openid_configuration)
        .service(crate::oidc::jwks::certs)
        .service(http::health::live)
        .service(http::health::ready)
        .service(http::health::metrics)
        .route("/admin/openapi.json", web::get().to(crate::admin::openapi));
}

/// The protocol endpoints under a realm's issuer (DESIGN §2).
fn protocol(cfg: &mut web::ServiceConfig) {
    use crate::oidc::{
        authorize, introspect, logout, realm_info, revoke, status, stream, token, userinfo,
    };
    cfg.route(
        "/realms/{realm}/protocol/openid-connect/auth",
        web::get().to(authorize::authorize_get),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/auth",
        web::post().to(authorize::authorize_post),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/token",
        web::post().to(token::token),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/userinfo",
        web::get().to(userinfo::userinfo_get),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/userinfo",
        web::post().to(userinfo::userinfo_post),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/revoke",
        web::post().to(revoke::revoke),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/revoke",
        web::route().to(revoke::method_not_allowed),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/token/introspect",
        web::post().to(introspect::introspect),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/token/introspect",
        web::route().to(revoke::method_not_allowed),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/logout",
        web::get().to(logout::logout_get),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/logout",
        web::post().to(logout::logout_post),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/logout/confirm",
        web::post().to(logout::confirm),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/revocations",
        web::get().to(stream::revocations),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/revocations",
        web::post().to(stream::revocations),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/status-list/{list}",
        web::get().to(status::status_list),
    )
    .route("/realms/{realm}", web::get().to(realm_info::realm_info));
}

/// The sign-in pages' forms (Keycloak's `login-actions` paths).
fn sign_in_pages(cfg: &mut web::ServiceConfig) {
    use crate::pages::{consent, login, required_action, second_factor};
    cfg.route(
        "/realms/{realm}/login-actions/authenticate",
        web::post().to(login::authenticate),
    )
    .route(
        "/realms/{realm}/login-actions/required-action",
        web::post().to(required_action::update_password),
    )
    .route(
        "/realms/{realm}/login-actions/consent",
        web::post().to(consent::answer),
    )
    .route(
        "/realms/{realm}/login-actions/otp",
        web::post().to(second_factor::submit_code),
    )
    .route(
        "/realms/{realm}/login-actions/configure-totp",
        web::post().to(second_factor::submit_enrolment),
    );
}

/// What Keycloak's JavaScript adapter calls besides the protocol: the
/// pages it frames, and the registration link (self-registration is off:
/// it is the sign-in).
fn browser_adapter(cfg: &mut web::ServiceConfig) {
    use crate::oidc::{authorize, session_status as frames};
    cfg.route(
        "/realms/{realm}/protocol/openid-connect/3p-cookies/step1.html",
        web::get().to(frames::third_party_step1),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/3p-cookies/step2.html",
        web::get().to(frames::third_party_step2),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/login-status-iframe.html",
        web::get().to(frames::login_status_iframe),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/login-status-iframe.html/init",
        web::get().to(frames::login_status_init),
    )
    .route(
        "/realms/{realm}/protocol/openid-connect/registrations",
        web::get().to(authorize::authorize_get),
    );
}

/// The user's account page.
fn account(cfg: &mut web::ServiceConfig) {
    use crate::account;
    cfg.route("/realms/{realm}/account", web::get().to(account::show))
        .route(
            "/realms/{realm}/account/callback",
            web::get().to(account::callback),
        )
        .route(
            "/realms/{realm}/account/actions",
            web::post().to(account::act),
        );
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
        .service(crate::admin::serverinfo::server_info)
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
        .wrap(from_fn(http::health::close_while_draining))
        // Outermost: `/admin/realms/` is `/admin/realms`, as in Keycloak,
        // before anything decides by path. The request is rewritten in
        // place (no redirect), so a POST keeps its body.
        .wrap(actix_web::middleware::NormalizePath::trim())
        .configure(routes)
        .default_service(web::to(not_found))
}

async fn not_found() -> HttpResponse {
    use actix_web::ResponseError;
    ApiError::not_found("no such endpoint").error_response()
}
