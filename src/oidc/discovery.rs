//! OpenID Connect Discovery 1.0 (and the RFC 8414 fields) at
//! `/realms/{realm}/.well-known/openid-configuration`. It advertises only
//! what works.

use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use openidconnect::core::{
    CoreAuthDisplay, CoreClaimName, CoreClaimType, CoreClientAuthMethod, CoreGrantType,
    CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AuthUrl, AuthenticationContextClass, IssuerUrl, JsonWebKeySetUrl,
    ProviderMetadata, ResponseTypes, Scope, TokenUrl, UserInfoUrl,
};
use serde::{Deserialize, Serialize};

use super::{
    AUTH_PATH, CERTS_PATH, CHECK_SESSION_PATH, INTROSPECT_PATH, LOGOUT_PATH, REVOKE_PATH,
    TOKEN_PATH, USERINFO_PATH,
};
use crate::app::Latch;
use crate::http::errors::ApiError;

/// Fields beyond what `openidconnect` models.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct LatchMetadata {
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub code_challenge_methods_supported: Vec<String>,
    /// RFC 9207: authorization responses carry `iss`.
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub revocation_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub revocation_endpoint_auth_methods_supported: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub introspection_endpoint: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub introspection_endpoint_auth_methods_supported: Vec<String>,
    /// RP-Initiated Logout 1.0.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub end_session_endpoint: Option<String>,
    /// Session Management 1.0 §3.3: the login-status iframe.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub check_session_iframe: Option<String>,
    /// Back-Channel Logout 1.0 §2.1 and Front-Channel Logout 1.0 §3.
    #[serde(default)]
    pub backchannel_logout_supported: bool,
    #[serde(default)]
    pub backchannel_logout_session_supported: bool,
    #[serde(default)]
    pub frontchannel_logout_supported: bool,
    #[serde(default)]
    pub frontchannel_logout_session_supported: bool,
}

impl AdditionalProviderMetadata for LatchMetadata {}

pub type Metadata = ProviderMetadata<
    LatchMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

fn auth_methods() -> Vec<String> {
    vec!["client_secret_basic".into(), "client_secret_post".into()]
}

/// Latch's own claims, then the top-level claims the realm's mappers write.
fn claims_supported(scopes: &crate::directory::scopes::ScopeSet) -> Vec<CoreClaimName> {
    let mut names: Vec<String> = [
        "iss",
        "sub",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "acr",
        "amr",
        "nonce",
        "at_hash",
        "sid",
        "azp",
        "preferred_username",
        "name",
        "given_name",
        "family_name",
        "email",
        "email_verified",
    ]
    .iter()
    .map(|c| c.to_string())
    .collect();
    for mapper in scopes.iter().flat_map(|s| s.mappers.iter()) {
        if let Some(root) = mapper.claim.first() {
            if !names.contains(root) {
                names.push(root.clone());
            }
        }
    }
    names.into_iter().map(CoreClaimName::new).collect()
}

/// The realm's discovery document; scopes and claims come from its client
/// scopes.
pub fn metadata(
    issuer: &str,
    scopes: &crate::directory::scopes::ScopeSet,
) -> Result<Metadata, url::ParseError> {
    let metadata = Metadata::new(
        IssuerUrl::new(issuer.to_string())?,
        AuthUrl::new(format!("{issuer}{AUTH_PATH}"))?,
        JsonWebKeySetUrl::new(format!("{issuer}{CERTS_PATH}"))?,
        vec![ResponseTypes::new(vec![CoreResponseType::Code])],
        vec![CoreSubjectIdentifierType::Public],
        vec![
            CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
            CoreJwsSigningAlgorithm::EcdsaP256Sha256,
            CoreJwsSigningAlgorithm::EdDsa,
        ],
        LatchMetadata {
            code_challenge_methods_supported: vec!["S256".into()],
            authorization_response_iss_parameter_supported: true,
            revocation_endpoint: Some(format!("{issuer}{REVOKE_PATH}")),
            revocation_endpoint_auth_methods_supported: auth_methods(),
            introspection_endpoint: Some(format!("{issuer}{INTROSPECT_PATH}")),
            introspection_endpoint_auth_methods_supported: auth_methods(),
            end_session_endpoint: Some(format!("{issuer}{LOGOUT_PATH}")),
            check_session_iframe: Some(format!("{issuer}{CHECK_SESSION_PATH}")),
            backchannel_logout_supported: true,
            backchannel_logout_session_supported: true,
            frontchannel_logout_supported: true,
            frontchannel_logout_session_supported: true,
        },
    )
    .set_token_endpoint(Some(TokenUrl::new(format!("{issuer}{TOKEN_PATH}"))?))
    .set_userinfo_endpoint(Some(UserInfoUrl::new(format!("{issuer}{USERINFO_PATH}"))?))
    .set_scopes_supported(Some(
        std::iter::once("openid".to_string())
            .chain(scopes.iter().map(|s| s.name.clone()))
            .map(Scope::new)
            .collect(),
    ))
    .set_claims_supported(Some(claims_supported(scopes)))
    // "0" a reused session, "1" a password, "2" a second factor too.
    .set_acr_values_supported(Some(
        ["0", "1", "2"]
            .into_iter()
            .map(|level| AuthenticationContextClass::new(level.to_string()))
            .collect(),
    ))
    .set_grant_types_supported(Some(vec![
        CoreGrantType::AuthorizationCode,
        CoreGrantType::RefreshToken,
        CoreGrantType::ClientCredentials,
    ]))
    .set_userinfo_signing_alg_values_supported(None)
    .set_request_parameter_supported(Some(false))
    .set_request_uri_parameter_supported(Some(false))
    .set_claims_parameter_supported(Some(false))
    .set_token_endpoint_auth_methods_supported(Some(vec![
        CoreClientAuthMethod::ClientSecretBasic,
        CoreClientAuthMethod::ClientSecretPost,
    ]))
    .set_response_modes_supported(Some(vec![
        CoreResponseMode::Query,
        CoreResponseMode::Fragment,
        CoreResponseMode::FormPost,
    ]));
    Ok(metadata)
}

#[get("/realms/{realm}/.well-known/openid-configuration")]
pub async fn openid_configuration(
    state: web::Data<Latch>,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let realm = super::realm(&state, &path).await?;
    let issuer = state.issuer(&realm.realm.name);
    let document = metadata(&issuer, &realm.scopes).map_err(|e| {
        tracing::error!(error = %e, "issuer is not a URL");
        ApiError::new(
            actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "the server's public base URL is misconfigured",
        )
    })?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(document))
}
