//! Keycloak's client representation, and what it asks of the domain.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::admin::{in_field, OutcomeRepresentation};
use crate::http::errors::ApiError;
use crate::ids::ClientId;
use crate::operations::clients::{
    normalize_origins, validate_client_id, validate_redirect_uri, Client, ClientUpdate, Flows,
    GrantType, NewClient, SecretChoice, MAX_RATE_LIMIT, MIN_SECRET_LEN,
};

const POST_LOGOUT_ATTR: &str = "post.logout.redirect.uris";
const BACKCHANNEL_ATTR: &str = "backchannel.logout.url";
const FRONTCHANNEL_ATTR: &str = "frontchannel.logout.url";

/// A client, with Keycloak's field names. Keycloak keeps the logout URLs
/// in `attributes`; they are accepted there or as the top-level fields.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientRepresentation {
    /// The internal id used in paths.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub client_id: Option<String>,
    /// What people see, e.g. on the consent page (else `clientId`).
    pub name: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
    pub public_client: Option<bool>,
    /// Only in the answers to creation and secret regeneration.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// The authorization code flow.
    pub standard_flow_enabled: Option<bool>,
    /// The client_credentials grant.
    pub service_accounts_enabled: Option<bool>,
    /// The password grant (RFC 9700 advises against it).
    pub direct_access_grants_enabled: Option<bool>,
    /// Issue refresh tokens (default true).
    pub use_refresh_tokens: Option<bool>,
    pub consent_required: Option<bool>,
    pub backchannel_logout_url: Option<String>,
    pub frontchannel_logout_url: Option<String>,
    /// Origins a browser app may call the token, userinfo, revocation and
    /// introspection endpoints from (CORS): origins, `+` (every redirect
    /// URI's origin) or `*`.
    pub web_origins: Option<Vec<String>>,
    /// An operator's quota at the token, revocation and introspection
    /// endpoints, in requests per second (0 removes it). Without one an
    /// authenticated client is not rate-limited.
    pub rate_limit_per_second: Option<i64>,
    /// Client scopes every token of this client gets (names); the realm's
    /// default scopes when a new client leaves it out.
    pub default_client_scopes: Option<Vec<String>>,
    /// Client scopes its requests may ask for (names).
    pub optional_client_scopes: Option<Vec<String>>,
    pub attributes: Option<BTreeMap<String, String>>,
}

impl From<&Client> for ClientRepresentation {
    fn from(c: &Client) -> Self {
        let mut attributes = BTreeMap::new();
        if !c.post_logout_redirect_uris.is_empty() {
            attributes.insert(
                POST_LOGOUT_ATTR.to_string(),
                c.post_logout_redirect_uris.join("##"),
            );
        }
        if let Some(u) = &c.backchannel_logout_uri {
            attributes.insert(BACKCHANNEL_ATTR.to_string(), u.clone());
        }
        if let Some(u) = &c.frontchannel_logout_uri {
            attributes.insert(FRONTCHANNEL_ATTR.to_string(), u.clone());
        }
        ClientRepresentation {
            id: Some(c.id.clone()),
            client_id: Some(c.client_id.clone()),
            name: c.name.clone(),
            description: c.description.clone(),
            enabled: Some(c.enabled),
            public_client: Some(c.is_public()),
            secret: None,
            redirect_uris: Some(c.redirect_uris.clone()),
            post_logout_redirect_uris: Some(c.post_logout_redirect_uris.clone()),
            standard_flow_enabled: Some(c.allows(GrantType::AuthorizationCode)),
            service_accounts_enabled: Some(c.allows(GrantType::ClientCredentials)),
            direct_access_grants_enabled: Some(c.allows(GrantType::Password)),
            use_refresh_tokens: Some(c.allows(GrantType::RefreshToken)),
            consent_required: Some(c.consent_required),
            backchannel_logout_url: c.backchannel_logout_uri.clone(),
            frontchannel_logout_url: c.frontchannel_logout_uri.clone(),
            rate_limit_per_second: c.rate_limit_per_s.map(i64::from),
            web_origins: Some(c.web_origins.clone()),
            default_client_scopes: Some(c.default_scopes.clone()),
            optional_client_scopes: Some(c.optional_scopes.clone()),
            attributes: Some(attributes),
        }
    }
}

impl ClientRepresentation {
    fn attribute(&self, name: &str) -> Option<String> {
        self.attributes.as_ref()?.get(name).cloned()
    }

    fn post_logout_uris(&self) -> Option<Vec<String>> {
        self.post_logout_redirect_uris.clone().or_else(|| {
            self.attribute(POST_LOGOUT_ATTR).map(|v| {
                v.split("##")
                    .filter(|s| !s.is_empty() && *s != "+")
                    .map(str::to_string)
                    .collect()
            })
        })
    }

    fn backchannel(&self) -> Option<String> {
        self.backchannel_logout_url
            .clone()
            .or_else(|| self.attribute(BACKCHANNEL_ATTR))
    }

    fn frontchannel(&self) -> Option<String> {
        self.frontchannel_logout_url
            .clone()
            .or_else(|| self.attribute(FRONTCHANNEL_ATTR))
    }

    /// The flow switches as the domain takes them.
    fn flows(&self) -> Flows {
        Flows {
            authorization_code: self.standard_flow_enabled,
            client_credentials: self.service_accounts_enabled,
            password: self.direct_access_grants_enabled,
            refresh_tokens: self.use_refresh_tokens,
        }
    }

    /// The client to register, each field checked under its Keycloak name.
    pub fn new_client(&self) -> Result<NewClient, ApiError> {
        let client_id = self
            .client_id
            .clone()
            .ok_or_else(|| ApiError::invalid_field("clientId", "clientId is required"))?;
        validate_client_id(&client_id).map_err(in_field("clientId"))?;
        let redirect_uris = self.redirect_uris.clone().unwrap_or_default();
        check_uris("redirectUris", &redirect_uris)?;
        let post_logout = self.post_logout_uris().unwrap_or_default();
        check_uris("postLogoutRedirectUris", &post_logout)?;
        let (backchannel, frontchannel) = (self.backchannel(), self.frontchannel());
        check_optional_uri("backchannelLogoutUrl", &backchannel)?;
        check_optional_uri("frontchannelLogoutUrl", &frontchannel)?;
        let public = self.public_client.unwrap_or(false);
        let secret = self.secret_choice(public)?;
        let grant_types = self.flows().grant_types(&[GrantType::AuthorizationCode]);
        if public && grant_types.contains(&GrantType::ClientCredentials) {
            return Err(ApiError::invalid_field(
                "serviceAccountsEnabled",
                "a public client cannot use the client_credentials grant",
            ));
        }
        let web_origins = self.origins()?;
        Ok(NewClient {
            redirect_uris,
            post_logout_redirect_uris: post_logout,
            grant_types,
            backchannel_logout_uri: backchannel,
            frontchannel_logout_uri: frontchannel,
            consent_required: self.consent_required.unwrap_or(false),
            enabled: self.enabled.unwrap_or(true),
            web_origins,
            default_scopes: self.default_client_scopes.clone(),
            optional_scopes: self.optional_client_scopes.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
            ..NewClient::new(ClientId(client_id), secret)
        })
    }

    fn secret_choice(&self, public: bool) -> Result<SecretChoice, ApiError> {
        match (&self.secret, public) {
            (Some(_), true) => Err(ApiError::invalid_field(
                "secret",
                "a public client has no secret",
            )),
            (Some(s), false) if s.len() < MIN_SECRET_LEN => Err(ApiError::invalid_field(
                "secret",
                format!(
                    "a client secret has at least {MIN_SECRET_LEN} characters (omit it to have one generated)"
                ),
            )),
            (Some(s), false) => Ok(SecretChoice::Secret(s.clone())),
            (None, false) => Ok(SecretChoice::GenerateSecret),
            (None, true) => Ok(SecretChoice::Public),
        }
    }

    fn origins(&self) -> Result<Option<Vec<String>>, ApiError> {
        self.web_origins
            .as_deref()
            .map(normalize_origins)
            .transpose()
            .map_err(in_field("webOrigins"))
    }

    /// The changes asked for, each field checked under its Keycloak name.
    pub fn update(&self) -> Result<ClientUpdate, ApiError> {
        if let Some(uris) = &self.redirect_uris {
            check_uris("redirectUris", uris)?;
        }
        let post_logout = self.post_logout_uris();
        if let Some(uris) = &post_logout {
            check_uris("postLogoutRedirectUris", uris)?;
        }
        let (backchannel, frontchannel) = (self.backchannel(), self.frontchannel());
        check_optional_uri("backchannelLogoutUrl", &backchannel)?;
        check_optional_uri("frontchannelLogoutUrl", &frontchannel)?;
        if self
            .rate_limit_per_second
            .is_some_and(|n| !(0..=MAX_RATE_LIMIT).contains(&n))
        {
            return Err(ApiError::invalid_field(
                "rateLimitPerSecond",
                format!("rateLimitPerSecond must be between 0 and {MAX_RATE_LIMIT}"),
            ));
        }
        Ok(ClientUpdate {
            client_id: self.client_id.clone(),
            public: self.public_client,
            flows: self.flows(),
            redirect_uris: self.redirect_uris.clone(),
            post_logout_redirect_uris: post_logout,
            backchannel_logout_uri: backchannel,
            frontchannel_logout_uri: frontchannel,
            consent_required: self.consent_required,
            enabled: self.enabled,
            web_origins: self.origins()?,
            rate_limit_per_s: self.rate_limit_per_second,
            default_scopes: self.default_client_scopes.clone(),
            optional_scopes: self.optional_client_scopes.clone(),
            name: self.name.clone(),
            description: self.description.clone(),
        })
    }
}

fn check_uris(field: &'static str, uris: &[String]) -> Result<(), ApiError> {
    for uri in uris {
        validate_redirect_uri(uri).map_err(in_field(field))?;
    }
    Ok(())
}

fn check_optional_uri(field: &'static str, uri: &Option<String>) -> Result<(), ApiError> {
    match uri.as_deref() {
        Some(u) if !u.is_empty() => check_uris(field, &[u.to_string()]),
        _ => Ok(()),
    }
}

/// A new secret, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialRepresentation {
    /// Always `secret`.
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

/// What Latch can say of a stored secret: that the client has one. Its
/// value was shown once, when it was made, and is kept only as a keyed hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretKindRepresentation {
    /// Always `secret`.
    #[serde(rename = "type")]
    pub kind: String,
}

/// What the compromised-client response did.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CompromiseRepresentation {
    #[serde(flatten)]
    pub outcome: OutcomeRepresentation,
    /// The replacement secret (confidential clients), shown only here; the
    /// old one stopped working in the same transaction.
    pub secret: Option<String>,
}
