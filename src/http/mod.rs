//! actix-web wiring: shared state, the routes table, middleware and TLS.

pub mod cookies;
pub mod cors;
pub mod errors;
pub mod first_party;
pub mod form;
pub mod health;
pub mod limits;
pub mod metrics;
pub mod pages;
pub mod tls;

use std::sync::Arc;

use actix_web::middleware::from_fn;
use actix_web::{web, HttpResponse};

use crate::config::Settings;
use crate::directory::Directory;
use crate::revocation::FollowerHandle;
use errors::ApiError;
use metrics::Metrics;

/// What every handler can reach.
pub struct AppState {
    pub settings: Settings,
    pub public_base: String,
    pub directory: Arc<Directory>,
    pub follower: FollowerHandle,
    pub clock: Arc<crate::clock::Clock>,
    pub password_pool: crate::login::password_pool::PasswordPool,
    pub index: Arc<crate::revocation::Index>,
    pub committer: crate::revocation::committer::Committer,
    pub verified: crate::tokens::cache::VerifiedCache,
    pub fanout: Option<Arc<crate::revocation::fanout::Fanout>>,
    /// Every event this node applies, for the revocation event stream.
    pub event_feed: tokio::sync::broadcast::Sender<Arc<crate::store::events::Event>>,
    pub status_lists: Arc<crate::revocation::status_list::StatusLists>,
    pub defences: Arc<crate::limits::Defences>,
}

impl AppState {
    pub fn issuer(&self, realm: &str) -> String {
        format!("{}/realms/{realm}", self.public_base)
    }

    /// Whether Latch is served over TLS: cookies are then `Secure` with the
    /// `__Host-` prefix.
    pub fn secure_cookies(&self) -> bool {
        self.public_base.starts_with("https://")
    }

    /// The password check with this node's defences.
    pub fn checker(&self) -> crate::login::credentials::Checker<'_> {
        crate::login::credentials::Checker {
            pool: &self.password_pool,
            directory: &self.directory,
            defences: &self.defences,
            now_ms: self.clock.now_ms(),
        }
    }

    /// After a committed revocation: apply it here, publish it to the others.
    pub async fn announce(&self) -> Result<(), crate::store::StoreError> {
        crate::revocation::announce(&self.follower, self.fanout.as_ref()).await
    }
}

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
        web::post().to(authorize::authenticate),
    )
    .route(
        "/realms/{realm}/login-actions/required-action",
        web::post().to(authorize::required_action),
    )
    .route(
        "/realms/{realm}/login-actions/consent",
        web::post().to(authorize::consent),
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
    .service(pages::stylesheet)
    .service(crate::oidc::discovery::openid_configuration)
    .service(crate::oidc::jwks::certs)
    .service(health::live)
    .service(health::ready)
    .service(health::metrics)
    .route("/admin/openapi.json", web::get().to(crate::admin::openapi));
}

/// Builds the actix `App` factory used by every worker.
pub fn app(
    state: web::Data<AppState>,
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
        .wrap(from_fn(cors::cors))
        .wrap(from_fn(limits::check))
        .wrap(headers)
        .wrap(from_fn(metrics::record))
        .configure(routes)
        .default_service(web::to(not_found))
}

async fn not_found() -> HttpResponse {
    use actix_web::ResponseError;
    ApiError::not_found("no such endpoint").error_response()
}
