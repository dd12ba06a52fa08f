//! The directory: realms, users and clients — creating them, and the cache a
//! running node keeps of realms (with their key rings) and clients, kept
//! current by the event log.

pub mod bootstrap;
pub mod clients;
pub mod portability;
pub mod realms;
pub mod scopes;
pub mod users;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub use clients::{Client, GrantType};

use crate::crypto::MasterKey;
use crate::error::Error;
use crate::keys::KeyRing;
use crate::revocation::{EventKind, EventSink};
use crate::store::events::Event;
use crate::store::realms::Realm;
use crate::store::{self, Store};

/// A realm as a node holds it in memory.
pub struct RealmState {
    pub realm: Realm,
    pub keys: KeyRing,
    /// The realm's client scopes with their mappers.
    pub scopes: scopes::ScopeSet,
    clients: RwLock<HashMap<String, Arc<Client>>>,
    /// Every enabled client that lists web origins, for CORS preflights
    /// (which do not say which client they are for); loaded on first use.
    browser_clients: RwLock<Option<Arc<Vec<Client>>>>,
    /// Counts client changes, so a list read before one is not kept.
    client_changes: std::sync::atomic::AtomicU64,
}

pub struct Directory {
    store: Store,
    master: MasterKey,
    secret_pepper: [u8; 32],
    token_pepper: [u8; 32],
    realms: RwLock<HashMap<String, Arc<RealmState>>>,
}

impl Directory {
    pub fn new(store: Store, master: MasterKey) -> Directory {
        Directory {
            secret_pepper: clients::secret_pepper(&master),
            token_pepper: master.derive("token pepper"),
            store,
            master,
            realms: RwLock::new(HashMap::new()),
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn master(&self) -> &MasterKey {
        &self.master
    }

    /// The realm called `name`, from memory or else from the database.
    pub async fn realm(&self, name: &str) -> Result<Arc<RealmState>, Error> {
        if let Some(state) = self.cached_realm(name) {
            return Ok(state);
        }
        if !realms::is_valid_name(name) {
            return Err(Error::NotFound(format!("realm `{name}`")));
        }
        let owned = name.to_string();
        let master = self.master.clone();
        let state = self
            .store
            .run(move |conn| -> Result<RealmState, Error> {
                let realm = store::realms::find_by_name(conn, &owned)?
                    .ok_or_else(|| Error::NotFound(format!("realm `{owned}`")))?;
                let rows = store::keys::live_for_realm(conn, &realm.id)?;
                let keys = KeyRing::load(&rows, &master)?;
                let scopes = scopes::ScopeSet::load(conn, &realm.id)?;
                Ok(RealmState {
                    realm,
                    keys,
                    scopes,
                    clients: RwLock::new(HashMap::new()),
                    browser_clients: RwLock::new(None),
                    client_changes: std::sync::atomic::AtomicU64::new(0),
                })
            })
            .await?;
        let state = Arc::new(state);
        if let Ok(mut map) = self.realms.write() {
            map.insert(name.to_string(), Arc::clone(&state));
        }
        Ok(state)
    }

    fn cached_realm(&self, name: &str) -> Option<Arc<RealmState>> {
        self.realms.read().ok()?.get(name).cloned()
    }

    /// The client `client_id` of the realm, or `None` when there is none.
    pub async fn client(
        &self,
        realm: &RealmState,
        client_id: &str,
    ) -> Result<Option<Arc<Client>>, Error> {
        if let Some(client) = realm
            .clients
            .read()
            .ok()
            .and_then(|m| m.get(client_id).cloned())
        {
            return Ok(Some(client));
        }
        if client_id.is_empty() || client_id.len() > 255 {
            return Ok(None);
        }
        let realm_id = realm.realm.id.clone();
        let owned = client_id.to_string();
        let row = self
            .store
            .run(move |conn| store::clients::find_by_client_id(conn, &realm_id, &owned))
            .await?;
        let Some(row) = row else { return Ok(None) };
        let client = Arc::new(Client::from_row(row)?);
        if let Ok(mut map) = realm.clients.write() {
            map.insert(client_id.to_string(), Arc::clone(&client));
        }
        Ok(Some(client))
    }

    /// Whether any enabled client of the realm lets `origin` call it (a
    /// CORS preflight does not say which client it is for).
    pub async fn origin_allowed(&self, realm: &str, origin: &str) -> Result<bool, Error> {
        let realm = self.realm(realm).await?;
        let clients = self.browser_clients(&realm).await?;
        Ok(clients.iter().any(|c| c.allows_origin(origin)))
    }

    /// Every origin some enabled client of the realm lets call it: the
    /// pages other sites may frame (the login-status iframe) allow these,
    /// from the same list CORS preflights use. `*` when a client allows
    /// any origin.
    pub async fn web_origins(&self, realm: &RealmState) -> Result<Vec<String>, Error> {
        let clients = self.browser_clients(realm).await?;
        let mut origins: Vec<String> = clients.iter().flat_map(Client::origins).collect();
        if origins.iter().any(|o| o == "*") {
            return Ok(vec!["*".into()]);
        }
        origins.sort();
        origins.dedup();
        Ok(origins)
    }

    /// The realm's enabled clients that list web origins, from memory, or
    /// else loaded and kept until a client changes.
    async fn browser_clients(&self, realm: &RealmState) -> Result<Arc<Vec<Client>>, Error> {
        let cached = realm.browser_clients.read().ok().and_then(|c| c.clone());
        let clients = match cached {
            Some(clients) => clients,
            None => {
                use std::sync::atomic::Ordering;
                let generation = realm.client_changes.load(Ordering::Acquire);
                let realm_id = realm.realm.id.clone();
                let rows = self
                    .store
                    .run(move |conn| store::clients::list(conn, &realm_id))
                    .await?;
                let clients: Arc<Vec<Client>> = Arc::new(
                    rows.into_iter()
                        .filter(|r| r.enabled && r.web_origins != "[]")
                        .filter_map(|r| Client::from_row(r).ok())
                        .collect(),
                );
                if let Ok(mut slot) = realm.browser_clients.write() {
                    if realm.client_changes.load(Ordering::Acquire) == generation {
                        *slot = Some(Arc::clone(&clients));
                    }
                }
                clients
            }
        };
        Ok(clients)
    }

    /// Checks a presented client secret against the stored keyed hash.
    pub fn client_secret_matches(&self, client: &Client, presented: &str) -> bool {
        client.secret_matches(&self.secret_pepper, presented)
    }

    /// The keyed hash under which an opaque secret (a code, a refresh token,
    /// a session cookie) is stored: a database dump reveals none of them.
    pub fn hash_token(&self, value: &str) -> String {
        hex::encode(crate::crypto::hmac_sha256(
            &self.token_pepper,
            value.as_bytes(),
        ))
    }

    fn forget_realm(&self, realm_id: &str) {
        if let Ok(mut map) = self.realms.write() {
            map.retain(|_, state| state.realm.id != realm_id);
        }
    }

    fn forget_client(&self, realm_id: &str, client_id: &str) {
        let Ok(map) = self.realms.read() else { return };
        for state in map.values().filter(|s| s.realm.id == realm_id) {
            if let Ok(mut clients) = state.clients.write() {
                clients.remove(client_id);
            }
            if let Ok(mut slot) = state.browser_clients.write() {
                state
                    .client_changes
                    .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                *slot = None;
            }
        }
    }
}

impl EventSink for Directory {
    fn apply(&self, event: &Event) {
        match EventKind::parse(&event.kind) {
            Some(EventKind::Realm) | Some(EventKind::Keys) => self.forget_realm(&event.realm_id),
            Some(EventKind::Client) => self.forget_client(&event.realm_id, &event.subject),
            Some(_) => {}
            None => tracing::debug!(kind = %event.kind, "event kind not handled here"),
        }
    }
}
