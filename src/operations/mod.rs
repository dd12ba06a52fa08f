//! Every use-case, once. Each operation is an `async fn(&Latch, &Actor,
//! input) -> Result<output, Error>` over plain domain types: the admin API,
//! the console, the account page, the sign-in pages, the protocol endpoints
//! and the CLI convert their own input (Keycloak JSON, a form, argv, an
//! OAuth request) and call it. An operation owns its transaction, its audit
//! row, its cascade and its announcement, through the two helpers below.

pub mod clients;
pub mod credentials;
pub mod events;
pub mod groups;
pub mod health;
pub mod keys;
pub mod mappings;
pub mod portability;
pub mod realms;
pub mod roles;
pub mod scopes;
pub mod second_factor;
pub mod server;
pub mod sessions;
pub mod signin;
pub mod signout;
pub mod stream;
pub mod tokens;
pub mod users;

use serde_json::Value;

pub use crate::actor::Actor;
use crate::app::Latch;
use crate::directory::realms as realm_dir;
use crate::error::Error;
use crate::ids::RealmName;
use crate::revocation::cascade::{self, Outcome, SecurityEvent};
use crate::store::audit::NewAudit;
use crate::store::realms::Realm;
use crate::store::{self, DbConnection};

/// An audit row an operation writes with its change.
#[derive(Debug, Clone)]
pub struct Audit {
    pub kind: &'static str,
    pub subject: String,
    pub detail: Option<Value>,
}

impl Audit {
    pub fn new(kind: &'static str, subject: impl Into<String>) -> Audit {
        Audit {
            kind,
            subject: subject.into(),
            detail: None,
        }
    }

    pub fn with(mut self, detail: Value) -> Audit {
        self.detail = Some(detail);
        self
    }
}

/// Takes something back: `make` describes the security event for the realm
/// inside one write transaction; the cascade decides what dies, writes it
/// with its log events and audit row (stamped with the database clock); once
/// committed, the events are applied on this node and published.
pub async fn take_back(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    make: impl FnOnce(&mut DbConnection, &Realm) -> Result<SecurityEvent, Error> + Send + 'static,
) -> Result<Outcome, Error> {
    let (actor, realm) = (actor.clone(), realm.clone());
    let outcome = latch
        .directory
        .store()
        .run(move |conn| {
            store::write(conn, |conn| {
                let realm = realm_dir::find(conn, realm.as_str())?;
                let event = make(conn, &realm)?;
                let now = store::meta::database_now_ms(conn)?;
                cascade::apply(conn, &realm, &event, &actor, now)
            })
        })
        .await?;
    latch.announce().await?;
    Ok(outcome)
}

/// A change that takes nothing back by itself: `work` runs in one write
/// transaction on the realm and names its audit row, written in the same
/// transaction; log events it appends (configuration changes) are announced.
pub async fn change<T: Send + 'static>(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    work: impl FnOnce(&mut DbConnection, &Realm) -> Result<(T, Audit), Error> + Send + 'static,
) -> Result<T, Error> {
    let (actor, realm) = (actor.clone(), realm.clone());
    let value = latch
        .directory
        .store()
        .run(move |conn| {
            store::write(conn, |conn| {
                let realm = realm_dir::find(conn, realm.as_str())?;
                let (value, audit) = work(conn, &realm)?;
                record(conn, &realm.id, &actor, audit)?;
                Ok::<T, Error>(value)
            })
        })
        .await?;
    latch.announce().await?;
    Ok(value)
}

/// Reads in one transaction on the realm; nothing is written or announced.
pub async fn read<T: Send + 'static>(
    latch: &Latch,
    realm: &RealmName,
    work: impl FnOnce(&mut DbConnection, &Realm) -> Result<T, Error> + Send + 'static,
) -> Result<T, Error> {
    let realm = realm.clone();
    latch
        .directory
        .store()
        .run(move |conn| {
            let realm = realm_dir::find(conn, realm.as_str())?;
            work(conn, &realm)
        })
        .await
}

/// Writes an audit row in the caller's transaction.
pub fn record(
    conn: &mut DbConnection,
    realm_id: &str,
    actor: &Actor,
    audit: Audit,
) -> Result<(), Error> {
    let at_ms = store::meta::database_now_ms(conn)?;
    store::audit::insert_many(
        conn,
        &[NewAudit {
            realm_id: realm_id.to_string(),
            at_ms,
            actor: actor.audit_name(),
            kind: audit.kind.to_string(),
            subject: audit.subject,
            ip: actor.ip(),
            detail: audit.detail.map(|d| d.to_string()),
        }],
    )?;
    Ok(())
}

/// The command line's way in: one operation on a handle built for it, on
/// a runtime of its own.
pub fn blocking<T>(
    settings: crate::config::Settings,
    operation: impl for<'a> FnOnce(&'a Latch) -> futures_util::future::BoxFuture<'a, Result<T, Error>>,
) -> Result<T, crate::setup::StartError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| crate::setup::StartError::Failed(format!("cannot start a runtime: {e}")))?;
    runtime.block_on(async move {
        let latch = Latch::for_tool(settings).await?;
        Ok(operation(&latch).await?)
    })
}
