//! `/admin/realms/{realm}/clients`: list, create, read, update, delete;
//! regenerate a secret; revoke every token of a client; the one-step
//! response to a compromised client.

use std::collections::BTreeMap;

use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::realms::{find as find_realm, run_event};
use super::{audit, created, in_field, Admin, ErrorRepresentation, OutcomeRepresentation};
use crate::app::Latch;
use crate::directory::clients::{self as client_dir, Client, Credentials, GrantType, NewClient};
use crate::error::Error;
use crate::http::errors::ApiError;
use crate::revocation::cascade::SecurityEvent;
use crate::store::clients::{ClientChanges, ClientRow};
use crate::store::realms::Realm;
use crate::store::{self, DbConnection};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(read)
        .service(update)
        .service(remove)
        .service(regenerate_secret)
        .service(revoke_tokens)
        .service(compromised);
}

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

    /// The grant types the flags ask for, starting from `current`.
    fn grant_types(&self, current: &[GrantType]) -> Vec<GrantType> {
        let has = |g| current.contains(&g);
        let code = self
            .standard_flow_enabled
            .unwrap_or(has(GrantType::AuthorizationCode));
        let service = self
            .service_accounts_enabled
            .unwrap_or(has(GrantType::ClientCredentials));
        let password = self
            .direct_access_grants_enabled
            .unwrap_or(has(GrantType::Password));
        let refresh = self.use_refresh_tokens.unwrap_or(true) && (code || password);
        [
            (code, GrantType::AuthorizationCode),
            (refresh, GrantType::RefreshToken),
            (service, GrantType::ClientCredentials),
            (password, GrantType::Password),
        ]
        .into_iter()
        .filter_map(|(on, g)| on.then_some(g))
        .collect()
    }
}

fn check_uris(field: &'static str, uris: &[String]) -> Result<(), ApiError> {
    for uri in uris {
        client_dir::validate_redirect_uri(uri).map_err(in_field(field))?;
    }
    Ok(())
}

/// Web origins are `*`, `+`, or `scheme://host[:port]` with nothing after.
fn check_origins(origins: &[String]) -> Result<Vec<String>, ApiError> {
    origins
        .iter()
        .map(|origin| {
            if origin == "*" || origin == "+" {
                return Ok(origin.clone());
            }
            let parsed = url::Url::parse(origin).ok().filter(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.origin().ascii_serialization() == origin.trim_end_matches('/')
            });
            match parsed {
                Some(u) => Ok(u.origin().ascii_serialization()),
                None => Err(ApiError::invalid_field(
                    "webOrigins",
                    format!("`{origin}` is not an origin (scheme://host[:port]), `+` or `*`"),
                )),
            }
        })
        .collect()
}

fn check_optional_uri(field: &'static str, uri: &Option<String>) -> Result<(), ApiError> {
    match uri.as_deref() {
        Some(u) if !u.is_empty() => check_uris(field, &[u.to_string()]),
        _ => Ok(()),
    }
}

/// The client with internal id `id` in the realm (404 otherwise).
pub fn find_client(conn: &mut DbConnection, realm: &Realm, id: &str) -> Result<ClientRow, Error> {
    store::clients::find(conn, id)?
        .filter(|c| c.realm_id == realm.id)
        .ok_or_else(|| Error::NotFound(format!("client `{id}` in realm `{}`", realm.name)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct ClientFilter {
    /// Only the client with this `clientId`.
    pub client_id: Option<String>,
}

pub async fn list_clients(
    state: &Latch,
    realm: String,
    client_id: Option<String>,
) -> Result<Vec<Client>, ApiError> {
    Ok(state
        .directory
        .store()
        .run(move |conn| -> Result<Vec<Client>, Error> {
            let realm = find_realm(conn, &realm)?;
            store::clients::list(conn, &realm.id)?
                .into_iter()
                .filter(|c| client_id.as_ref().is_none_or(|id| *id == c.client_id))
                .map(Client::from_row)
                .collect()
        })
        .await?)
}

#[utoipa::path(
    tag = "clients",
    operation_id = "listClients",
    params(("realm" = String, Path, description = "Realm name"), ClientFilter),
    responses(
        (status = 200, body = Vec<ClientRepresentation>),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[get("/{realm}/clients")]
async fn list(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<String>,
    filter: web::Query<ClientFilter>,
) -> Result<web::Json<Vec<ClientRepresentation>>, ApiError> {
    let clients = list_clients(&state, path.into_inner(), filter.into_inner().client_id).await?;
    Ok(web::Json(
        clients.iter().map(ClientRepresentation::from).collect(),
    ))
}

/// Registers a client; returns it with its secret (shown this once).
pub async fn create_client(
    state: &Latch,
    admin: &Admin,
    realm: String,
    rep: ClientRepresentation,
) -> Result<(Client, Option<String>), ApiError> {
    let client_id = rep
        .client_id
        .clone()
        .ok_or_else(|| ApiError::invalid_field("clientId", "clientId is required"))?;
    client_dir::validate_client_id(&client_id).map_err(in_field("clientId"))?;
    let redirect_uris = rep.redirect_uris.clone().unwrap_or_default();
    check_uris("redirectUris", &redirect_uris)?;
    let post_logout = rep.post_logout_uris().unwrap_or_default();
    check_uris("postLogoutRedirectUris", &post_logout)?;
    let (backchannel, frontchannel) = (rep.backchannel(), rep.frontchannel());
    check_optional_uri("backchannelLogoutUrl", &backchannel)?;
    check_optional_uri("frontchannelLogoutUrl", &frontchannel)?;
    let public = rep.public_client.unwrap_or(false);
    let credentials = match (&rep.secret, public) {
        (Some(_), true) => {
            return Err(ApiError::invalid_field(
                "secret",
                "a public client has no secret",
            ))
        }
        (Some(s), false) if s.len() < client_dir::MIN_SECRET_LEN => {
            return Err(ApiError::invalid_field(
                "secret",
                format!(
                    "a client secret has at least {} characters (omit it to have one generated)",
                    client_dir::MIN_SECRET_LEN
                ),
            ))
        }
        (Some(s), false) => Credentials::Secret(s.clone()),
        (None, false) => Credentials::GenerateSecret,
        (None, true) => Credentials::Public,
    };
    let defaults = [GrantType::AuthorizationCode];
    let grant_types = rep.grant_types(&defaults);
    if public && grant_types.contains(&GrantType::ClientCredentials) {
        return Err(ApiError::invalid_field(
            "serviceAccountsEnabled",
            "a public client cannot use the client_credentials grant",
        ));
    }
    if grant_types.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        return Err(ApiError::invalid_field(
            "redirectUris",
            "the authorization code flow needs at least one redirect URI",
        ));
    }
    let origins = match &rep.web_origins {
        Some(given) => Some(check_origins(given)?),
        None => None,
    };
    let (master, admin) = (state.directory.master().clone(), admin.clone());
    let enabled = rep.enabled.unwrap_or(true);
    let links = (
        rep.default_client_scopes.clone(),
        rep.optional_client_scopes.clone(),
    );
    let new = NewClient {
        client_id,
        credentials,
        redirect_uris,
        post_logout_redirect_uris: post_logout,
        grant_types,
        backchannel_logout_uri: backchannel.filter(|u| !u.is_empty()),
        consent_required: rep.consent_required.unwrap_or(false),
        introspect_any: false,
        frontchannel_logout_uri: frontchannel.filter(|u| !u.is_empty()),
    };
    state
        .directory
        .store()
        .run(move |conn| -> Result<(Client, Option<String>), Error> {
            store::write(conn, |conn| {
                let realm = find_realm(conn, &realm)?;
                let (mut client, secret) = client_dir::create(conn, &master, &realm, new)?;
                if !enabled || origins.is_some() {
                    let changes = ClientChanges {
                        enabled: (!enabled).then_some(false),
                        web_origins: origins
                            .as_ref()
                            .map(|o| serde_json::to_string(o).unwrap_or_else(|_| "[]".into())),
                        ..Default::default()
                    };
                    store::clients::update(conn, &client.id, &changes)?;
                    client.enabled = enabled;
                    client.web_origins = origins.unwrap_or_default();
                }
                if links.0.is_some() || links.1.is_some() {
                    let defaults = links.0.unwrap_or(client.default_scopes.clone());
                    let optionals = links.1.unwrap_or(client.optional_scopes.clone());
                    let (row_id, client_id) = (client.id.clone(), client.client_id.clone());
                    crate::directory::scopes::set_client_links(
                        conn, &realm.id, &row_id, &client_id, &defaults, &optionals,
                    )?;
                    client.default_scopes = defaults;
                    client.optional_scopes = optionals;
                }
                audit(
                    conn,
                    &realm.id,
                    &admin,
                    "admin.client.created",
                    &client.client_id,
                    None,
                )?;
                Ok((client, secret))
            })
        })
        .await
        .map_err(in_field("clientId"))
}

#[utoipa::path(
    tag = "clients",
    operation_id = "createClient",
    params(("realm" = String, Path, description = "Realm name")),
    request_body = ClientRepresentation,
    responses(
        (status = 201, description = "Created; Location names the client; the body carries a generated secret, shown only here", body = ClientRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
        (status = 409, description = "The clientId is taken", body = ErrorRepresentation),
        (status = 422, body = ErrorRepresentation),
    )
)]
#[post("/{realm}/clients")]
async fn create(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<String>,
    body: web::Json<ClientRepresentation>,
) -> Result<HttpResponse, ApiError> {
    let realm = path.into_inner();
    let (client, secret) = create_client(&state, &admin, realm.clone(), body.into_inner()).await?;
    let mut rep = ClientRepresentation::from(&client);
    rep.secret = secret;
    Ok(created(
        format!(
            "{}/admin/realms/{realm}/clients/{}",
            state.public_base, client.id
        ),
        serde_json::to_value(rep).ok(),
    ))
}

pub async fn read_client(state: &Latch, realm: String, id: String) -> Result<Client, ApiError> {
    Ok(state
        .directory
        .store()
        .run(move |conn| -> Result<Client, Error> {
            let realm = find_realm(conn, &realm)?;
            Client::from_row(find_client(conn, &realm, &id)?)
        })
        .await?)
}

#[utoipa::path(
    tag = "clients",
    operation_id = "getClient",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)")),
    responses(
        (status = 200, body = ClientRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[get("/{realm}/clients/{id}")]
async fn read(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<ClientRepresentation>, ApiError> {
    let (realm, id) = path.into_inner();
    Ok(web::Json(ClientRepresentation::from(
        &read_client(&state, realm, id).await?,
    )))
}

/// Changes a client; `enabled: false` also revokes every token it holds.
pub async fn update_client(
    state: &Latch,
    admin: &Admin,
    realm: String,
    id: String,
    rep: ClientRepresentation,
) -> Result<(), ApiError> {
    if let Some(uris) = &rep.redirect_uris {
        check_uris("redirectUris", uris)?;
    }
    let post_logout = rep.post_logout_uris();
    if let Some(uris) = &post_logout {
        check_uris("postLogoutRedirectUris", uris)?;
    }
    let (backchannel, frontchannel) = (rep.backchannel(), rep.frontchannel());
    check_optional_uri("backchannelLogoutUrl", &backchannel)?;
    check_optional_uri("frontchannelLogoutUrl", &frontchannel)?;
    let origins = match &rep.web_origins {
        Some(given) => Some(check_origins(given)?),
        None => None,
    };
    let quota = match rep.rate_limit_per_second {
        None => None,
        Some(0) => Some(None),
        Some(n @ 1..=1_000_000) => Some(Some(n as i32)),
        Some(_) => {
            return Err(ApiError::invalid_field(
                "rateLimitPerSecond",
                "rateLimitPerSecond must be between 0 and 1000000",
            ))
        }
    };
    let admin_c = admin.clone();
    let (realm_c, id_c) = (realm.clone(), id.clone());
    let disabled = state
        .directory
        .store()
        .run(move |conn| -> Result<bool, Error> {
            store::write(conn, |conn| {
                let realm = find_realm(conn, &realm_c)?;
                let row = find_client(conn, &realm, &id_c)?;
                let client = Client::from_row(row.clone())?;
                if rep
                    .client_id
                    .as_ref()
                    .is_some_and(|c| *c != client.client_id)
                {
                    return Err(Error::Invalid("clientId cannot be changed".into()));
                }
                if rep.public_client.is_some_and(|p| p != client.is_public()) {
                    return Err(Error::Invalid(
                        "publicClient cannot be changed; register a new client".into(),
                    ));
                }
                let grants = rep.grant_types(&client.grant_types);
                if client.is_public() && grants.contains(&GrantType::ClientCredentials) {
                    return Err(Error::Invalid(
                        "a public client cannot use the client_credentials grant".into(),
                    ));
                }
                let redirects = rep
                    .redirect_uris
                    .clone()
                    .unwrap_or(client.redirect_uris.clone());
                if grants.contains(&GrantType::AuthorizationCode) && redirects.is_empty() {
                    return Err(Error::Invalid(
                        "the authorization code flow needs at least one redirect URI".into(),
                    ));
                }
                let json = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
                let optional = |v: Option<String>| v.map(|u| Some(u).filter(|u| !u.is_empty()));
                let changes = ClientChanges {
                    redirect_uris: rep.redirect_uris.as_deref().map(json),
                    post_logout_redirect_uris: post_logout.as_deref().map(json),
                    grant_types: Some(json(
                        &grants.iter().map(|g| g.to_string()).collect::<Vec<_>>(),
                    )),
                    backchannel_logout_uri: optional(backchannel),
                    frontchannel_logout_uri: optional(frontchannel),
                    consent_required: rep.consent_required,
                    enabled: rep.enabled,
                    default_audience: None,
                    rate_limit_per_s: quota,
                    web_origins: origins.as_deref().map(json),
                    ..Default::default()
                };
                store::clients::update(conn, &row.id, &changes)?;
                if rep.default_client_scopes.is_some() || rep.optional_client_scopes.is_some() {
                    let defaults = rep
                        .default_client_scopes
                        .clone()
                        .unwrap_or(client.default_scopes.clone());
                    let optionals = rep
                        .optional_client_scopes
                        .clone()
                        .unwrap_or(client.optional_scopes.clone());
                    crate::directory::scopes::set_client_links(
                        conn,
                        &realm.id,
                        &row.id,
                        &row.client_id,
                        &defaults,
                        &optionals,
                    )?;
                }
                crate::revocation::record(
                    conn,
                    &realm.id,
                    crate::revocation::EventKind::Client,
                    &row.client_id,
                    None,
                )?;
                audit(
                    conn,
                    &realm.id,
                    &admin_c,
                    "admin.client.updated",
                    &row.client_id,
                    None,
                )?;
                Ok(client.enabled && rep.enabled == Some(false))
            })
        })
        .await
        .map_err(in_field("client"))?;
    state.announce().await?;
    if disabled {
        revoke_client_tokens(state, admin, realm, id).await?;
    }
    Ok(())
}

#[utoipa::path(
    tag = "clients",
    operation_id = "updateClient",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)")),
    request_body = ClientRepresentation,
    responses(
        (status = 204, description = "Updated"),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation),
    )
)]
#[put("/{realm}/clients/{id}")]
async fn update(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<ClientRepresentation>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    update_client(&state, &admin, realm, id, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Deletes a client after revoking every token it holds.
pub async fn delete_client(
    state: &Latch,
    admin: &Admin,
    realm: String,
    id: String,
) -> Result<(), ApiError> {
    revoke_client_tokens(state, admin, realm.clone(), id.clone()).await?;
    let admin = admin.clone();
    state
        .directory
        .store()
        .run(move |conn| -> Result<(), Error> {
            store::write(conn, |conn| {
                let realm = find_realm(conn, &realm)?;
                let row = find_client(conn, &realm, &id)?;
                store::clients::delete(conn, &row.id)?;
                crate::revocation::record(
                    conn,
                    &realm.id,
                    crate::revocation::EventKind::Client,
                    &row.client_id,
                    None,
                )?;
                audit(
                    conn,
                    &realm.id,
                    &admin,
                    "admin.client.deleted",
                    &row.client_id,
                    None,
                )?;
                Ok(())
            })
        })
        .await?;
    state.announce().await?;
    Ok(())
}

#[utoipa::path(
    tag = "clients",
    operation_id = "deleteClient",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)")),
    responses(
        (status = 204, description = "Deleted; every token it held is rejected"),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[delete("/{realm}/clients/{id}")]
async fn remove(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    delete_client(&state, &admin, realm, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A new secret, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialRepresentation {
    /// Always `secret`.
    #[serde(rename = "type")]
    pub kind: String,
    pub value: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    /// Routine rotation: how long the old secret keeps working (seconds,
    /// at most a day; default 0 = it stops at once).
    pub overlap_seconds: Option<i64>,
}

/// Replaces the secret; for a compromise use [`compromised_client`].
pub async fn new_secret(
    state: &Latch,
    admin: &Admin,
    realm: String,
    id: String,
    overlap_s: i64,
) -> Result<String, ApiError> {
    if !(0..=86_400).contains(&overlap_s) {
        return Err(ApiError::invalid_field(
            "overlapSeconds",
            "overlapSeconds must be between 0 and 86400",
        ));
    }
    let (master, admin) = (state.directory.master().clone(), admin.clone());
    let secret = state
        .directory
        .store()
        .run(move |conn| -> Result<String, Error> {
            store::write(conn, |conn| {
                let realm = find_realm(conn, &realm)?;
                let row = find_client(conn, &realm, &id)?;
                let now = store::meta::database_now_ms(conn)?;
                let secret =
                    client_dir::replace_secret(conn, &master, &row, overlap_s * 1000, now)?;
                let detail = serde_json::json!({ "overlap_seconds": overlap_s });
                audit(
                    conn,
                    &realm.id,
                    &admin,
                    "admin.client.secret_regenerated",
                    &row.client_id,
                    Some(detail),
                )?;
                Ok(secret)
            })
        })
        .await
        .map_err(in_field("publicClient"))?;
    state.announce().await?;
    Ok(secret)
}

#[utoipa::path(
    tag = "clients",
    operation_id = "regenerateClientSecret",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)"), Rotation),
    responses(
        (status = 200, description = "The new secret, shown only here", body = CredentialRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
        (status = 422, description = "A public client has no secret", body = ErrorRepresentation),
    )
)]
#[post("/{realm}/clients/{id}/client-secret")]
async fn regenerate_secret(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    rotation: web::Query<Rotation>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    let value = new_secret(
        &state,
        &admin,
        realm,
        id,
        rotation.overlap_seconds.unwrap_or(0),
    )
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(CredentialRepresentation {
            kind: "secret".into(),
            value,
        }))
}

pub async fn revoke_client_tokens(
    state: &Latch,
    admin: &Admin,
    realm: String,
    id: String,
) -> Result<crate::revocation::cascade::Outcome, ApiError> {
    run_event(state, admin, realm, move |conn, realm| {
        let row = find_client(conn, realm, &id)?;
        Ok(SecurityEvent::ClientTokensRevoked {
            client_row_id: row.id,
            client_id: row.client_id,
        })
    })
    .await
}

#[utoipa::path(
    tag = "invalidation",
    operation_id = "revokeClientTokens",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)")),
    responses(
        (status = 200, description = "Every token issued to the client is rejected", body = OutcomeRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[post("/{realm}/clients/{id}/revoke-tokens")]
async fn revoke_tokens(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<OutcomeRepresentation>, ApiError> {
    let (realm, id) = path.into_inner();
    Ok(web::Json(
        revoke_client_tokens(&state, &admin, realm, id)
            .await?
            .into(),
    ))
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

/// One step: every token of the client dies, its secret is replaced at
/// once (no overlap), and its back-channel is told to end every session
/// it took part in.
pub async fn compromised_client(
    state: &Latch,
    admin: &Admin,
    realm: String,
    id: String,
) -> Result<(crate::revocation::cascade::Outcome, Option<String>), ApiError> {
    let master = state.directory.master().clone();
    let secret = std::sync::Arc::new(std::sync::Mutex::new(None));
    let slot = std::sync::Arc::clone(&secret);
    let outcome = run_event(state, admin, realm, move |conn, realm| {
        let row = find_client(conn, realm, &id)?;
        if row.secret_hash.is_some() {
            let now = store::meta::database_now_ms(conn)?;
            let fresh = client_dir::replace_secret(conn, &master, &row, 0, now)?;
            if let Ok(mut s) = slot.lock() {
                *s = Some(fresh);
            }
        }
        Ok(SecurityEvent::ClientCompromised {
            client_row_id: row.id,
            client_id: row.client_id,
        })
    })
    .await?;
    let secret = secret.lock().ok().and_then(|mut s| s.take());
    Ok((outcome, secret))
}

#[utoipa::path(
    tag = "invalidation",
    operation_id = "containCompromisedClient",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)")),
    responses(
        (status = 200, description = "Tokens revoked, secret replaced, back-channel notified", body = CompromiseRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[post("/{realm}/clients/{id}/compromised")]
async fn compromised(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    let (outcome, secret) = compromised_client(&state, &admin, realm, id).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(CompromiseRepresentation {
            outcome: outcome.into(),
            secret,
        }))
}
