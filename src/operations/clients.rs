//! Clients: register, list, read, change and delete them; replace a
//! secret; revoke every token of a client; the one-step response to a
//! compromised client.

use std::sync::mpsc;

use super::{change, read, take_back, Actor, Audit};
use crate::app::Latch;
use crate::directory::clients::{self as client_dir, Extras};
use crate::error::Error;
use crate::ids::{ClientId, RealmName};
use crate::revocation::cascade::{Outcome, SecurityEvent};
use crate::revocation::{self, EventKind};
use crate::store::{self, clients::ClientChanges};

pub use crate::directory::clients::{
    normalize_origins, validate_client_id, validate_redirect_uri, Client, ClientRef,
    Credentials as SecretChoice, GrantType, MIN_SECRET_LEN,
};

/// A client to register.
#[derive(Debug)]
pub struct NewClient {
    pub client_id: ClientId,
    /// What people see (the consent page); the client id when left out.
    pub name: Option<String>,
    pub description: Option<String>,
    pub secret: SecretChoice,
    /// Matched exactly (RFC 6749 §3.1.2).
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Empty: the authorization code flow with refresh tokens.
    pub grant_types: Vec<GrantType>,
    pub backchannel_logout_uri: Option<String>,
    pub frontchannel_logout_uri: Option<String>,
    pub consent_required: bool,
    /// A resource server: may introspect any token of the realm.
    pub introspect_any: bool,
    pub enabled: bool,
    /// Origins a browser app may call from; none when left out.
    pub web_origins: Option<Vec<String>>,
    /// Client scopes; the realm's defaults when left out.
    pub default_scopes: Option<Vec<String>>,
    pub optional_scopes: Option<Vec<String>>,
}

impl NewClient {
    /// An enabled client with nothing but its id and secret chosen.
    pub fn new(client_id: ClientId, secret: SecretChoice) -> NewClient {
        NewClient {
            client_id,
            name: None,
            description: None,
            secret,
            redirect_uris: Vec::new(),
            post_logout_redirect_uris: Vec::new(),
            grant_types: Vec::new(),
            backchannel_logout_uri: None,
            frontchannel_logout_uri: None,
            consent_required: false,
            introspect_any: false,
            enabled: true,
            web_origins: None,
            default_scopes: None,
            optional_scopes: None,
        }
    }

    fn split(self) -> Result<(client_dir::NewClient, Extras), Error> {
        let web_origins = self
            .web_origins
            .as_deref()
            .map(normalize_origins)
            .transpose()?;
        let registration = client_dir::NewClient {
            client_id: self.client_id.into_string(),
            credentials: self.secret,
            redirect_uris: self.redirect_uris,
            post_logout_redirect_uris: self.post_logout_redirect_uris,
            grant_types: self.grant_types,
            backchannel_logout_uri: self.backchannel_logout_uri.filter(|u| !u.is_empty()),
            consent_required: self.consent_required,
            introspect_any: self.introspect_any,
            frontchannel_logout_uri: self.frontchannel_logout_uri.filter(|u| !u.is_empty()),
        };
        let extras = Extras {
            enabled: (!self.enabled).then_some(false),
            name: self.name,
            description: self.description,
            web_origins,
            default_scopes: self.default_scopes,
            optional_scopes: self.optional_scopes,
        };
        Ok((registration, extras))
    }
}

/// Which flows a client uses, as switches; `None` keeps what it has.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flows {
    pub authorization_code: Option<bool>,
    pub client_credentials: Option<bool>,
    pub password: Option<bool>,
    /// Refresh tokens come with the code and password flows unless off.
    pub refresh_tokens: Option<bool>,
}

impl Flows {
    /// The grant types the switches ask for, starting from `current`.
    pub fn grant_types(&self, current: &[GrantType]) -> Vec<GrantType> {
        let has = |g| current.contains(&g);
        let code = self
            .authorization_code
            .unwrap_or(has(GrantType::AuthorizationCode));
        let service = self
            .client_credentials
            .unwrap_or(has(GrantType::ClientCredentials));
        let password = self.password.unwrap_or(has(GrantType::Password));
        let refresh = self.refresh_tokens.unwrap_or(true) && (code || password);
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

/// Changes to a client; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct ClientUpdate {
    /// Must be the client's own: a client id cannot change.
    pub client_id: Option<String>,
    /// Must be what the client is: public and confidential are fixed.
    pub public: Option<bool>,
    pub flows: Flows,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// An empty value removes it.
    pub backchannel_logout_uri: Option<String>,
    /// An empty value removes it.
    pub frontchannel_logout_uri: Option<String>,
    pub consent_required: Option<bool>,
    /// `false` also revokes every token the client holds.
    pub enabled: Option<bool>,
    pub web_origins: Option<Vec<String>>,
    /// Requests per second at the token, revocation and introspection
    /// endpoints; 0 removes the quota.
    pub rate_limit_per_s: Option<i64>,
    pub default_scopes: Option<Vec<String>>,
    pub optional_scopes: Option<Vec<String>>,
    /// An empty value removes it.
    pub name: Option<String>,
    /// An empty value removes it.
    pub description: Option<String>,
}

/// The most an operator's quota may allow.
pub const MAX_RATE_LIMIT: i64 = 1_000_000;

impl ClientUpdate {
    /// Checks what can be checked without the client, and puts origins in
    /// their canonical form.
    fn checked(mut self) -> Result<ClientUpdate, Error> {
        let uris = self.redirect_uris.iter().flatten();
        let uris = uris.chain(self.post_logout_redirect_uris.iter().flatten());
        let uris = uris.chain(&self.backchannel_logout_uri);
        let uris = uris.chain(&self.frontchannel_logout_uri);
        uris.filter(|u| !u.is_empty())
            .try_for_each(|u| validate_redirect_uri(u))?;
        if let Some(origins) = &self.web_origins {
            self.web_origins = Some(normalize_origins(origins)?);
        }
        if self
            .rate_limit_per_s
            .is_some_and(|n| !(0..=MAX_RATE_LIMIT).contains(&n))
        {
            return Err(Error::Invalid(format!(
                "a rate limit is between 0 and {MAX_RATE_LIMIT} requests per second"
            )));
        }
        Ok(self)
    }

    /// The stored changes for `client`, refused when they contradict it.
    fn changes_for(&self, client: &Client) -> Result<ClientChanges, Error> {
        if self
            .client_id
            .as_ref()
            .is_some_and(|c| *c != client.client_id)
        {
            // Worded for the admin API, the one front door that can ask.
            return Err(Error::Invalid("clientId cannot be changed".into()));
        }
        if self.public.is_some_and(|p| p != client.is_public()) {
            return Err(Error::Invalid(
                "publicClient cannot be changed; register a new client".into(),
            ));
        }
        let grants = self.flows.grant_types(&client.grant_types);
        if client.is_public() && grants.contains(&GrantType::ClientCredentials) {
            return Err(Error::Invalid(
                "a public client cannot use the client_credentials grant".into(),
            ));
        }
        let json = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        let removable = |v: &Option<String>| v.clone().map(|u| Some(u).filter(|u| !u.is_empty()));
        let grants: Vec<String> = grants.iter().map(|g| g.to_string()).collect();
        Ok(ClientChanges {
            redirect_uris: self.redirect_uris.as_deref().map(json),
            post_logout_redirect_uris: self.post_logout_redirect_uris.as_deref().map(json),
            grant_types: Some(json(&grants)),
            backchannel_logout_uri: removable(&self.backchannel_logout_uri),
            frontchannel_logout_uri: removable(&self.frontchannel_logout_uri),
            consent_required: self.consent_required,
            enabled: self.enabled,
            rate_limit_per_s: self
                .rate_limit_per_s
                .map(|n| i32::try_from(n).ok().filter(|n| *n > 0)),
            web_origins: self.web_origins.as_deref().map(json),
            name: removable(&self.name),
            description: removable(&self.description),
            ..Default::default()
        })
    }
}

/// The realm's clients, or the one with public id `client_id`.
pub async fn list(
    latch: &Latch,
    realm: &RealmName,
    client_id: Option<ClientId>,
) -> Result<Vec<Client>, Error> {
    read(latch, realm, move |conn, realm| {
        store::clients::list(conn, &realm.id)?
            .into_iter()
            .filter(|c| {
                client_id
                    .as_ref()
                    .is_none_or(|id| id.as_str() == c.client_id)
            })
            .map(Client::from_row)
            .collect()
    })
    .await
}

pub async fn find(latch: &Latch, realm: &RealmName, which: &ClientRef) -> Result<Client, Error> {
    let which = which.clone();
    read(latch, realm, move |conn, realm| {
        Client::from_row(client_dir::find_row(conn, realm, &which)?)
    })
    .await
}

/// Registers a client; returns it with its secret in clear (shown this once).
pub async fn create(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    new: NewClient,
) -> Result<(Client, Option<String>), Error> {
    let (registration, extras) = new.split()?;
    let master = latch.directory.master().clone();
    change(latch, actor, realm, move |conn, realm| {
        let (mut client, secret) = client_dir::create(conn, &master, realm, registration)?;
        client_dir::configure(conn, realm, &mut client, extras)?;
        let audit = Audit::new("admin.client.created", client.client_id.clone());
        Ok(((client, secret), audit))
    })
    .await
}

/// Changes a client; disabling it also revokes every token it holds.
pub async fn update(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    which: &ClientRef,
    update: ClientUpdate,
) -> Result<(), Error> {
    let update = update.checked()?;
    let target = which.clone();
    let disabled = change(latch, actor, realm, move |conn, realm| {
        let row = client_dir::find_row(conn, realm, &target)?;
        let client = Client::from_row(row.clone())?;
        store::clients::update(conn, &row.id, &update.changes_for(&client)?)?;
        if update.default_scopes.is_some() || update.optional_scopes.is_some() {
            let defaults = update.default_scopes.as_ref();
            let optionals = update.optional_scopes.as_ref();
            crate::directory::scopes::set_client_links(
                conn,
                &realm.id,
                &row.id,
                &row.client_id,
                defaults.unwrap_or(&client.default_scopes),
                optionals.unwrap_or(&client.optional_scopes),
            )?;
        }
        revocation::record(conn, &realm.id, EventKind::Client, &row.client_id, None)?;
        let disabled = client.enabled && update.enabled == Some(false);
        Ok((disabled, Audit::new("admin.client.updated", row.client_id)))
    })
    .await?;
    if disabled {
        revoke_tokens(latch, actor, realm, which).await?;
    }
    Ok(())
}

/// Deletes a client after revoking every token it holds.
pub async fn delete(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    which: &ClientRef,
) -> Result<(), Error> {
    revoke_tokens(latch, actor, realm, which).await?;
    let which = which.clone();
    change(latch, actor, realm, move |conn, realm| {
        let row = client_dir::find_row(conn, realm, &which)?;
        store::clients::delete(conn, &row.id)?;
        revocation::record(conn, &realm.id, EventKind::Client, &row.client_id, None)?;
        Ok(((), Audit::new("admin.client.deleted", row.client_id)))
    })
    .await
}

/// Checks that the client has a secret. Secrets are stored as keyed
/// hashes, so that it has one is all that can be said of it.
pub async fn has_secret(latch: &Latch, realm: &RealmName, which: &ClientRef) -> Result<(), Error> {
    let client = find(latch, realm, which).await?;
    match client.is_public() {
        true => Err(Error::Invalid(format!(
            "client `{}` is public and has no secret",
            client.client_id
        ))),
        false => Ok(()),
    }
}

/// The longest a replaced secret may keep working (a day).
pub const MAX_SECRET_OVERLAP_S: i64 = 86_400;

/// Replaces a confidential client's secret and returns the new one (shown
/// once). With `overlap_s > 0` (routine rotation) the old one keeps working
/// that long; for a leak use [`compromised`].
pub async fn new_secret(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    which: &ClientRef,
    overlap_s: i64,
) -> Result<String, Error> {
    if !(0..=MAX_SECRET_OVERLAP_S).contains(&overlap_s) {
        return Err(Error::Invalid(format!(
            "the old secret may keep working between 0 and {MAX_SECRET_OVERLAP_S} seconds"
        )));
    }
    let (which, master) = (which.clone(), latch.directory.master().clone());
    change(latch, actor, realm, move |conn, realm| {
        let row = client_dir::find_row(conn, realm, &which)?;
        let now = store::meta::database_now_ms(conn)?;
        let secret = client_dir::replace_secret(conn, &master, &row, overlap_s * 1000, now)?;
        let audit = Audit::new("admin.client.secret_regenerated", row.client_id)
            .with(serde_json::json!({ "overlap_seconds": overlap_s }));
        Ok((secret, audit))
    })
    .await
}

/// Revokes every token issued to the client so far.
pub async fn revoke_tokens(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    which: &ClientRef,
) -> Result<Outcome, Error> {
    let which = which.clone();
    take_back(latch, actor, realm, move |conn, realm| {
        let row = client_dir::find_row(conn, realm, &which)?;
        Ok(SecurityEvent::ClientTokensRevoked {
            client_row_id: row.id,
            client_id: row.client_id,
        })
    })
    .await
}

/// What containing a compromised client did.
#[derive(Debug, Clone)]
pub struct Containment {
    pub outcome: Outcome,
    /// The replacement secret of a confidential client (shown once); the
    /// old one stopped working in the same transaction.
    pub secret: Option<String>,
}

/// One step: every token of the client dies, its secret is replaced at
/// once (no overlap), and its back-channel is told to end every session it
/// took part in.
pub async fn compromised(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    which: &ClientRef,
) -> Result<Containment, Error> {
    let (which, master) = (which.clone(), latch.directory.master().clone());
    let (sender, fresh) = mpsc::channel();
    let outcome = take_back(latch, actor, realm, move |conn, realm| {
        let row = client_dir::find_row(conn, realm, &which)?;
        if row.secret_hash.is_some() {
            let now = store::meta::database_now_ms(conn)?;
            let _ = sender.send(client_dir::replace_secret(conn, &master, &row, 0, now)?);
        }
        Ok(SecurityEvent::ClientCompromised {
            client_row_id: row.id,
            client_id: row.client_id,
        })
    })
    .await?;
    Ok(Containment {
        outcome,
        secret: fresh.try_recv().ok(),
    })
}

#[cfg(test)]
mod tests {
    use super::{normalize_origins, Flows, GrantType};

    #[test]
    fn flow_switches_start_from_what_the_client_has() {
        use GrantType::*;
        let none = Flows::default();
        assert_eq!(
            none.grant_types(&[AuthorizationCode, RefreshToken]),
            vec![AuthorizationCode, RefreshToken]
        );
        let service_only = Flows {
            authorization_code: Some(false),
            client_credentials: Some(true),
            ..Default::default()
        };
        // Refresh tokens come only with a flow that signs a user in.
        assert_eq!(
            service_only.grant_types(&[AuthorizationCode, RefreshToken]),
            vec![ClientCredentials]
        );
        let no_refresh = Flows {
            refresh_tokens: Some(false),
            ..Default::default()
        };
        assert_eq!(
            no_refresh.grant_types(&[AuthorizationCode, RefreshToken, Password]),
            vec![AuthorizationCode, Password]
        );
    }

    #[test]
    fn origins_are_origins_or_the_two_wildcards() {
        let given = ["https://app.example/".to_string(), "+".into(), "*".into()];
        assert_eq!(
            normalize_origins(&given).unwrap(),
            vec!["https://app.example", "+", "*"]
        );
        assert!(normalize_origins(&["https://app.example/path".into()]).is_err());
        assert!(normalize_origins(&["ftp://app.example".into()]).is_err());
    }
}
