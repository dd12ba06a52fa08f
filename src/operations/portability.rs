//! Moving realms between servers in Keycloak's realm JSON: export one
//! (users with their password hashes), import one that does not exist yet.

use serde_json::Value;

use super::{change, record, Actor, Audit};
use crate::app::Latch;
use crate::directory::portability;
use crate::directory::realms as realm_dir;
use crate::error::Error;
use crate::ids::RealmName;
use crate::store;

pub use crate::directory::portability::ImportReport;

/// The realm as Keycloak realm JSON. The file holds password hashes, so
/// every export is audited.
pub async fn export(latch: &Latch, actor: &Actor, realm: &RealmName) -> Result<Value, Error> {
    change(latch, actor, realm, |conn, realm| {
        let doc = portability::export(conn, &realm.name)?;
        Ok((doc, Audit::new("admin.realm.exported", realm.name.clone())))
    })
    .await
}

/// What a partial export carries besides the realm's settings and client
/// scopes.
#[derive(Debug, Clone, Copy, Default)]
pub struct PartialExport {
    /// The clients, a confidential client's secret masked.
    pub clients: bool,
    /// Realm and client roles, and groups.
    pub groups_and_roles: bool,
}

/// Keycloak's partial export: the realm as Keycloak realm JSON without its
/// users, with clients and roles and groups when asked for.
pub async fn partial_export(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    what: PartialExport,
) -> Result<Value, Error> {
    change(latch, actor, realm, move |conn, realm| {
        let doc =
            portability::partial_export(conn, &realm.name, what.clients, what.groups_and_roles)?;
        let audit = Audit::new("admin.realm.exported", realm.name.clone()).with(
            serde_json::json!({"partial": true, "clients": what.clients, "groups_and_roles": what.groups_and_roles}),
        );
        Ok((doc, audit))
    })
    .await
}

/// Creates a realm from Keycloak realm JSON, all in one transaction, and
/// reports what it imported and what it could not.
pub async fn import(latch: &Latch, actor: &Actor, doc: Value) -> Result<ImportReport, Error> {
    let (master, base, actor) = (
        latch.directory.master().clone(),
        latch.public_base.clone(),
        actor.clone(),
    );
    let report = latch
        .directory
        .store()
        .run(move |conn| {
            store::write(conn, |conn| {
                let report = portability::import(conn, &master, &doc, &base)?;
                let realm = realm_dir::find(conn, &report.realm)?;
                let audit = Audit::new("admin.realm.imported", report.realm.clone());
                record(conn, &realm.id, &actor, audit)?;
                Ok::<ImportReport, Error>(report)
            })
        })
        .await?;
    latch.announce().await?;
    Ok(report)
}
