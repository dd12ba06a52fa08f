//! `/admin/realms`: list, create, read, update and delete realms; log a
//! whole realm out; the realm's exposure window.

use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{created, in_field, Admin, ErrorRepresentation, OutcomeRepresentation};
use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::ids::RealmName;
use crate::operations::portability;
use crate::operations::realms::{self, Exposure, Realm, RealmSettings};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(read)
        .service(update)
        .service(remove)
        .service(logout_all)
        .service(exposure)
        .service(export)
        .service(partial_export)
        .service(import);
}

/// A realm, with Keycloak's field names for the settings both have
/// (lifetimes in seconds).
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RealmRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The realm's name, which is also its path segment.
    pub realm: Option<String>,
    pub enabled: Option<bool>,
    pub access_token_lifespan: Option<i64>,
    pub id_token_lifespan: Option<i64>,
    pub refresh_token_lifespan: Option<i64>,
    /// The longest a browser session lives.
    pub sso_session_max_lifespan: Option<i64>,
    pub offline_session_max_lifespan: Option<i64>,
    /// How long a retried refresh gets the same response (milliseconds; 0 = off).
    pub refresh_token_grace_millis: Option<i64>,
    /// Scheduled signing-key rotation (seconds; 0 = never).
    pub key_rotation_interval: Option<i64>,
    /// How long a new key is published before it signs (seconds).
    pub key_stage_seconds: Option<i64>,
    /// Keycloak's syntax: `length(8) and notUsername and notCommon and
    /// passwordHistory(3)`.
    pub password_policy: Option<String>,
    /// A browser session ends after this long unused (seconds).
    pub sso_session_idle_timeout: Option<i64>,
    /// Whether the login page offers "remember me".
    pub remember_me: Option<bool>,
    /// A remembered session's lifetime, also its idle timeout (seconds).
    pub sso_session_max_lifespan_remember_me: Option<i64>,
    /// An offline session (refresh family) ends after this long unused.
    pub offline_session_idle_timeout: Option<i64>,
    /// Always `totp` (Latch has no counter-based codes).
    pub otp_policy_type: Option<String>,
    /// `HmacSHA1` (default), `HmacSHA256` or `HmacSHA512`.
    pub otp_policy_algorithm: Option<String>,
    /// 6 (default), 7 or 8.
    pub otp_policy_digits: Option<i64>,
    /// Seconds per code (default 30).
    pub otp_policy_period: Option<i64>,
    /// Codes accepted either side of the current one (default 1).
    pub otp_policy_look_ahead_window: Option<i64>,
    /// Latch's own: a second factor is `off`, `optional` (asked of users
    /// who have one; the default) or `required` of everyone.
    pub second_factor: Option<String>,
}

impl From<&Realm> for RealmRepresentation {
    fn from(r: &Realm) -> Self {
        RealmRepresentation {
            id: Some(r.id.clone()),
            realm: Some(r.name.clone()),
            enabled: Some(r.enabled),
            access_token_lifespan: Some(r.access_token_lifetime_s),
            id_token_lifespan: Some(r.id_token_lifetime_s),
            refresh_token_lifespan: Some(r.refresh_token_lifetime_s),
            sso_session_max_lifespan: Some(r.session_lifetime_s),
            offline_session_max_lifespan: Some(r.offline_token_lifetime_s),
            refresh_token_grace_millis: Some(r.refresh_grace_ms),
            key_rotation_interval: Some(r.key_rotation_interval_s),
            key_stage_seconds: Some(r.key_stage_s),
            password_policy: Some(r.password_policy.clone()),
            sso_session_idle_timeout: Some(r.sso_idle_s),
            remember_me: Some(r.remember_me),
            sso_session_max_lifespan_remember_me: Some(r.remember_me_lifetime_s),
            offline_session_idle_timeout: Some(r.offline_idle_s),
            otp_policy_type: Some("totp".into()),
            otp_policy_algorithm: Some(r.otp_policy_algorithm.clone()),
            otp_policy_digits: Some(r.otp_policy_digits),
            otp_policy_period: Some(r.otp_policy_period),
            otp_policy_look_ahead_window: Some(r.otp_policy_look_ahead),
            second_factor: Some(r.second_factor.clone()),
        }
    }
}

impl RealmRepresentation {
    /// Lifetimes must be positive; the grace window, the rotation interval
    /// and the staging time may be 0.
    fn check_numbers(&self) -> Result<(), ApiError> {
        let fields = [
            ("accessTokenLifespan", self.access_token_lifespan, true),
            ("idTokenLifespan", self.id_token_lifespan, true),
            ("refreshTokenLifespan", self.refresh_token_lifespan, true),
            ("ssoSessionMaxLifespan", self.sso_session_max_lifespan, true),
            (
                "offlineSessionMaxLifespan",
                self.offline_session_max_lifespan,
                true,
            ),
            ("ssoSessionIdleTimeout", self.sso_session_idle_timeout, true),
            (
                "ssoSessionMaxLifespanRememberMe",
                self.sso_session_max_lifespan_remember_me,
                true,
            ),
            (
                "offlineSessionIdleTimeout",
                self.offline_session_idle_timeout,
                true,
            ),
            (
                "refreshTokenGraceMillis",
                self.refresh_token_grace_millis,
                false,
            ),
            ("keyRotationInterval", self.key_rotation_interval, false),
            ("keyStageSeconds", self.key_stage_seconds, false),
        ];
        for (field, value, positive) in fields {
            match value {
                Some(v) if positive && v <= 0 => {
                    return Err(ApiError::invalid_field(
                        field,
                        format!("{field} must be positive"),
                    ))
                }
                Some(v) if v < 0 => {
                    return Err(ApiError::invalid_field(
                        field,
                        format!("{field} must not be negative"),
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The OTP policy and the second-factor setting, each value given
    /// checked beside the defaults of the others.
    fn check_second_factor(&self) -> Result<(), ApiError> {
        if self.otp_policy_type.as_deref().is_some_and(|t| t != "totp") {
            return Err(ApiError::invalid_field(
                "otpPolicyType",
                "only totp is supported (no counter-based codes)",
            ));
        }
        let otp = [
            ("otpPolicyAlgorithm", self.otp_policy_algorithm.is_some()),
            ("otpPolicyDigits", self.otp_policy_digits.is_some()),
            ("otpPolicyPeriod", self.otp_policy_period.is_some()),
            (
                "otpPolicyLookAheadWindow",
                self.otp_policy_look_ahead_window.is_some(),
            ),
        ];
        for (field, given) in otp {
            // Each value given is checked beside the defaults of the others.
            let checked = crate::login::totp::check_policy(
                self.otp_policy_algorithm
                    .as_deref()
                    .filter(|_| field == "otpPolicyAlgorithm")
                    .unwrap_or("HmacSHA1"),
                self.otp_policy_digits
                    .filter(|_| field == "otpPolicyDigits")
                    .unwrap_or(6),
                self.otp_policy_period
                    .filter(|_| field == "otpPolicyPeriod")
                    .unwrap_or(30),
                self.otp_policy_look_ahead_window
                    .filter(|_| field == "otpPolicyLookAheadWindow")
                    .unwrap_or(1),
            );
            if let (true, Err(e)) = (given, checked) {
                return Err(ApiError::invalid_field(field, e));
            }
        }
        if let Some(setting) = &self.second_factor {
            if crate::login::second_factor::Requirement::parse(setting).is_none() {
                return Err(ApiError::invalid_field(
                    "secondFactor",
                    "secondFactor must be off, optional or required",
                ));
            }
        }
        Ok(())
    }

    /// The settings asked for, each checked under its Keycloak name.
    fn settings(&self) -> Result<RealmSettings, ApiError> {
        self.check_numbers()?;
        if self.enabled == Some(false) {
            return Err(ApiError::invalid_field(
                "enabled",
                "realms cannot be disabled; log the realm out or delete it",
            ));
        }
        if let Some(text) = &self.password_policy {
            crate::login::policy::PasswordPolicy::parse(text)
                .map_err(|e| ApiError::invalid_field("passwordPolicy", e))?;
        }
        self.check_second_factor()?;
        Ok(RealmSettings {
            password_policy: self.password_policy.clone(),
            sso_idle_s: self.sso_session_idle_timeout,
            remember_me: self.remember_me,
            remember_me_lifetime_s: self.sso_session_max_lifespan_remember_me,
            offline_idle_s: self.offline_session_idle_timeout,
            access_token_lifetime_s: self.access_token_lifespan,
            id_token_lifetime_s: self.id_token_lifespan,
            refresh_token_lifetime_s: self.refresh_token_lifespan,
            offline_token_lifetime_s: self.offline_session_max_lifespan,
            session_lifetime_s: self.sso_session_max_lifespan,
            refresh_grace_ms: self.refresh_token_grace_millis,
            key_rotation_interval_s: self.key_rotation_interval,
            key_stage_s: self.key_stage_seconds,
            otp_policy_algorithm: self.otp_policy_algorithm.clone(),
            otp_policy_digits: self.otp_policy_digits,
            otp_policy_period: self.otp_policy_period,
            otp_policy_look_ahead: self.otp_policy_look_ahead_window,
            second_factor: self.second_factor.clone(),
        })
    }
}

#[utoipa::path(
    tag = "realms",
    operation_id = "listRealms",
    responses(
        (status = 200, description = "Every realm", body = Vec<RealmRepresentation>),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
    )
)]
#[get("")]
async fn list(
    state: web::Data<Latch>,
    _admin: Admin,
) -> Result<web::Json<Vec<RealmRepresentation>>, ApiError> {
    let realms = realms::list(&state).await?;
    Ok(web::Json(
        realms.iter().map(RealmRepresentation::from).collect(),
    ))
}

#[utoipa::path(
    tag = "realms",
    operation_id = "createRealm",
    request_body = RealmRepresentation,
    responses(
        (status = 201, description = "Created; Location names the realm"),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 409, description = "A realm of that name exists", body = ErrorRepresentation),
        (status = 422, body = ErrorRepresentation),
    )
)]
#[post("")]
async fn create(
    state: web::Data<Latch>,
    admin: Admin,
    body: web::Json<RealmRepresentation>,
) -> Result<HttpResponse, ApiError> {
    let name = body
        .realm
        .clone()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::invalid_field("realm", "realm (the name) is required"))?;
    if !realms::is_valid_name(&name) {
        return Err(ApiError::invalid_field(
            "realm",
            "a realm name is 1-64 letters, digits, '-' or '_'",
        ));
    }
    let settings = body.settings()?;
    let realm = realms::create(&state, &admin.actor, RealmName(name), settings)
        .await
        .map_err(in_field("realm"))?;
    Ok(created(
        format!("{}/admin/realms/{}", state.public_base, realm.name),
        None,
    ))
}

#[utoipa::path(
    tag = "realms",
    operation_id = "getRealm",
    params(("realm" = String, Path, description = "Realm name")),
    responses(
        (status = 200, body = RealmRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[get("/{realm}")]
async fn read(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<RealmName>,
) -> Result<web::Json<RealmRepresentation>, ApiError> {
    let realm = realms::find(&state, &path).await?;
    Ok(web::Json(RealmRepresentation::from(&realm)))
}

#[utoipa::path(
    tag = "realms",
    operation_id = "updateRealm",
    params(("realm" = String, Path, description = "Realm name")),
    request_body = RealmRepresentation,
    responses(
        (status = 204, description = "Updated"),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation),
    )
)]
#[put("/{realm}")]
async fn update(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<RealmName>,
    body: web::Json<RealmRepresentation>,
) -> Result<HttpResponse, ApiError> {
    if body.realm.as_deref().is_some_and(|n| n != path.as_str()) {
        return Err(ApiError::invalid_field("realm", "realms cannot be renamed"));
    }
    realms::update(&state, &admin.actor, &path, body.settings()?).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "realms",
    operation_id = "deleteRealm",
    params(("realm" = String, Path, description = "Realm name")),
    responses(
        (status = 204, description = "Deleted; every token it issued is rejected"),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
        (status = 409, description = "Realm `master` cannot be deleted", body = ErrorRepresentation),
    )
)]
#[delete("/{realm}")]
async fn remove(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<RealmName>,
) -> Result<HttpResponse, ApiError> {
    realms::delete(&state, &admin.actor, &path).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "invalidation",
    operation_id = "logoutRealm",
    params(("realm" = String, Path, description = "Realm name")),
    responses(
        (status = 200, description = "Every session ended and every token of the realm rejected", body = OutcomeRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[post("/{realm}/logout-all")]
async fn logout_all(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<RealmName>,
) -> Result<web::Json<OutcomeRepresentation>, ApiError> {
    let outcome = realms::logout_all(&state, &admin.actor, &path).await?;
    Ok(web::Json(outcome.into()))
}

/// How long a revoked token could still pass an API that checks only
/// signatures, and how many such tokens exist now.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExposureRepresentation {
    pub realm: String,
    /// The current access-token lifetime: the longest a revoked,
    /// unexpired access token stays valid by signature alone.
    pub window_seconds: i64,
    /// Unexpired access tokens with a status-list entry.
    pub unexpired_access_tokens: usize,
    /// Of those, the ones revoked — accepted by a signature-only check.
    pub revoked_unexpired_access_tokens: usize,
    /// When the last revoked one expires (ms since the epoch), if any.
    pub exposure_ends_at: Option<i64>,
}

impl From<Exposure> for ExposureRepresentation {
    fn from(e: Exposure) -> Self {
        ExposureRepresentation {
            realm: e.realm,
            window_seconds: e.window_s,
            unexpired_access_tokens: e.unexpired,
            revoked_unexpired_access_tokens: e.revoked_unexpired,
            exposure_ends_at: e.ends_at_ms,
        }
    }
}

#[utoipa::path(
    tag = "invalidation",
    operation_id = "getExposure",
    params(("realm" = String, Path, description = "Realm name")),
    responses(
        (status = 200, body = ExposureRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[get("/{realm}/exposure")]
async fn exposure(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<RealmName>,
) -> Result<web::Json<ExposureRepresentation>, ApiError> {
    Ok(web::Json(realms::exposure(&state, &path).await?.into()))
}

#[utoipa::path(
    tag = "realms",
    operation_id = "exportRealm",
    params(("realm" = String, Path, description = "Realm name")),
    responses(
        (status = 200, description = "Keycloak realm JSON, users and password hashes included", body = Object),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[get("/{realm}/export")]
async fn export(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<RealmName>,
) -> Result<HttpResponse, ApiError> {
    let doc = portability::export(&state, &admin.actor, &path).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(doc))
}

/// What Keycloak's partial export includes besides the realm's settings
/// and client scopes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct PartialExportQuery {
    /// The clients (secrets masked as `**********`).
    #[serde(default, deserialize_with = "crate::http::query::optional_boolean")]
    pub export_clients: Option<bool>,
    /// Realm and client roles, and groups.
    #[serde(default, deserialize_with = "crate::http::query::optional_boolean")]
    pub export_groups_and_roles: Option<bool>,
}

#[utoipa::path(
    tag = "realms",
    operation_id = "partialExportRealm",
    params(("realm" = String, Path, description = "Realm name"), PartialExportQuery),
    responses(
        (status = 200, description = "Keycloak realm JSON without users; clients and roles and groups when asked for", body = Object),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[post("/{realm}/partial-export")]
async fn partial_export(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<RealmName>,
    query: web::Query<PartialExportQuery>,
) -> Result<HttpResponse, ApiError> {
    let what = portability::PartialExport {
        clients: query.export_clients.unwrap_or(false),
        groups_and_roles: query.export_groups_and_roles.unwrap_or(false),
    };
    let doc = portability::partial_export(&state, &admin.actor, &path, what).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(doc))
}

#[utoipa::path(
    tag = "realms",
    operation_id = "importRealm",
    request_body(content = Object, description = "Keycloak realm JSON"),
    responses(
        (status = 201, description = "Created; the body reports what was imported and which fields were not"),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 409, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation),
    )
)]
#[post("/import")]
async fn import(
    state: web::Data<Latch>,
    admin: Admin,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let report = portability::import(&state, &admin.actor, body.into_inner())
        .await
        .map_err(in_field("realm"))?;
    Ok(created(
        format!("{}/admin/realms/{}", state.public_base, report.realm),
        serde_json::to_value(&report).ok(),
    ))
}
