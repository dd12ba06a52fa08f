//! What users and groups hold, as Keycloak's role-mapping reads show it:
//! the roles mapped to them directly, the roles they hold in effect (for a
//! user through their groups and the groups above them, for a group through
//! the groups above it, and for both through composites), and the roles
//! still available to grant them.

use std::collections::HashSet;

use super::groups;
use super::read;
use super::roles::{
    client_role_of, find_client, find_user, realm_role_of, ClientMappings, ClientRef, Holder,
    Mappings, Role,
};
use crate::app::Latch;
use crate::error::Error;
use crate::ids::{ClientId, ClientRowId, RealmName};
use crate::store::realms::Realm;
use crate::store::{self, DbConnection};

/// Which of a holder's roles a read shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleView {
    /// Mapped to the holder itself.
    Direct,
    /// Held in effect: directly, through groups and through composites
    /// (Keycloak's `composite`).
    Effective,
    /// Not held in effect: what could still be granted.
    Available,
}

/// A read of a holder's realm roles, or with `client` of that client's
/// roles.
#[derive(Debug, Clone)]
pub struct MappingQuery {
    pub realm: RealmName,
    pub holder: Holder,
    pub client: Option<ClientRef>,
    pub view: RoleView,
}

/// The realm's or the client's roles the query's view selects, by name.
pub async fn roles(latch: &Latch, query: MappingQuery) -> Result<Vec<Role>, Error> {
    let MappingQuery {
        realm,
        holder,
        client,
        view,
    } = query;
    read(latch, &realm, move |conn, realm| {
        let held = match view {
            RoleView::Direct => direct_ids(conn, realm, &holder)?,
            RoleView::Effective | RoleView::Available => effective_ids(conn, realm, &holder)?,
        };
        let candidates = match &client {
            None => store::roles::list(conn, &realm.id)?
                .iter()
                .map(|r| realm_role_of(conn, r))
                .collect::<Result<Vec<_>, _>>()?,
            Some(client) => {
                let client = find_client(conn, realm, client)?;
                store::roles::client_roles_of(conn, &client.id)?
                    .iter()
                    .map(client_role_of)
                    .collect()
            }
        };
        let wanted = view != RoleView::Available;
        Ok(candidates
            .into_iter()
            .filter(|role| held.contains(&role.id) == wanted)
            .collect())
    })
    .await
}

/// Every role mapped to the holder itself: realm roles, and client roles
/// by client.
pub async fn all(latch: &Latch, realm: &RealmName, holder: Holder) -> Result<Mappings, Error> {
    read(latch, realm, move |conn, realm| {
        let ids: Vec<String> = direct_ids(conn, realm, &holder)?.into_iter().collect();
        let mut realm_roles = Vec::new();
        for row in store::roles::list(conn, &realm.id)? {
            if ids.contains(&row.id) {
                realm_roles.push(realm_role_of(conn, &row)?);
            }
        }
        let mut by_client = store::roles::client_roles_among(conn, &ids)?;
        by_client.sort_by(|a, b| (&a.1, &a.0.name).cmp(&(&b.1, &b.0.name)));
        let mut clients: Vec<ClientMappings> = Vec::new();
        for (role, client_id) in by_client {
            if clients
                .last()
                .is_none_or(|c| c.client_id.as_str() != client_id)
            {
                clients.push(ClientMappings {
                    client_row_id: ClientRowId(role.client_id.clone()),
                    client_id: ClientId(client_id),
                    roles: Vec::new(),
                });
            }
            if let Some(last) = clients.last_mut() {
                last.roles.push(client_role_of(&role));
            }
        }
        Ok(Mappings {
            realm: realm_roles,
            clients,
        })
    })
    .await
}

/// The ids of the roles (realm and client) mapped to the holder itself.
fn direct_ids(
    conn: &mut DbConnection,
    realm: &Realm,
    holder: &Holder,
) -> Result<HashSet<String>, Error> {
    Ok(match holder {
        Holder::User(user) => {
            let user = find_user(conn, realm, user)?;
            let mut ids: HashSet<String> = store::roles::direct_of_user(conn, &user.id)?
                .into_iter()
                .map(|r| r.id)
                .collect();
            ids.extend(
                store::roles::direct_client_roles_of_user(conn, &user.id)?
                    .into_iter()
                    .map(|(r, _)| r.id),
            );
            ids
        }
        Holder::Group(group) => {
            let group = groups::find(conn, realm, group)?;
            store::groups::role_ids(conn, &group.id)?
                .into_iter()
                .collect()
        }
    })
}

/// The ids of every role the holder holds in effect.
fn effective_ids(
    conn: &mut DbConnection,
    realm: &Realm,
    holder: &Holder,
) -> Result<HashSet<String>, Error> {
    Ok(match holder {
        Holder::User(user) => {
            let user = find_user(conn, realm, user)?;
            let groups = store::groups::of_user(conn, &user.id)?
                .into_iter()
                .map(|g| g.id)
                .collect();
            store::roles::held_by_user(conn, &user.id, groups)?
        }
        Holder::Group(group) => {
            let group = groups::find(conn, realm, group)?;
            store::roles::held_by_group(conn, &group.id)?
        }
    })
}
