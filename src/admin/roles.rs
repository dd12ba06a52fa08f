//! Roles, groups and their mappings, at Keycloak's paths: realm roles
//! (`/roles`), client roles (`/clients/{id}/roles`), composites, nested
//! groups (`/groups`, `/groups/{id}/children`), group and user role
//! mappings, group membership. Whatever takes a role away from users —
//! removing a mapping or a membership, deleting a role or a group — cuts
//! those users off through the cascade, so no token still listing the old
//! role survives.

use std::collections::BTreeMap;

use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::clients::find_client;
use super::realms::{find as find_realm, run_event};
use super::users::find_user;
use super::{audit, created, Admin, ErrorRepresentation};
use crate::app::Latch;
use crate::crypto;
use crate::error::Error;
use crate::http::errors::ApiError;
use crate::revocation::cascade::SecurityEvent;
use crate::store::groups::GroupRow;
use crate::store::realms::Realm;
use crate::store::roles::{ClientRoleRow, RoleRow};
use crate::store::{self, DbConnection};
use crate::time::now_ms;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_realm_roles)
        .service(create_realm_role)
        .service(get_realm_role)
        .service(delete_realm_role)
        .service(add_composites)
        .service(remove_composites)
        .service(list_client_roles)
        .service(create_client_role)
        .service(delete_client_role)
        .service(list_groups)
        .service(create_group)
        .service(create_child_group)
        .service(get_group)
        .service(delete_group)
        .service(group_realm_mappings)
        .service(add_group_realm_mappings)
        .service(remove_group_realm_mappings)
        .service(user_role_mappings)
        .service(add_user_realm_mappings)
        .service(remove_user_realm_mappings)
        .service(add_user_client_mappings)
        .service(remove_user_client_mappings)
        .service(user_groups)
        .service(join_group)
        .service(leave_group);
}

/// A role, with Keycloak's field names.
#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub composite: bool,
    #[serde(default)]
    pub client_role: bool,
    /// The realm's or the client's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
}

fn realm_role_rep(conn: &mut DbConnection, r: &RoleRow) -> Result<RoleRepresentation, Error> {
    Ok(RoleRepresentation {
        id: Some(r.id.clone()),
        name: Some(r.name.clone()),
        description: r.description.clone(),
        composite: !store::roles::composites_of(conn, &r.id)?.is_empty(),
        client_role: false,
        container_id: Some(r.realm_id.clone()),
    })
}

fn client_role_rep(r: &ClientRoleRow) -> RoleRepresentation {
    RoleRepresentation {
        id: Some(r.id.clone()),
        name: Some(r.name.clone()),
        description: r.description.clone(),
        composite: false,
        client_role: true,
        container_id: Some(r.client_id.clone()),
    }
}

fn valid_name(name: Option<&str>) -> Result<String, ApiError> {
    let name = name.unwrap_or("").trim();
    if name.is_empty() || name.len() > 255 || name.contains(['/', '\0']) {
        return Err(ApiError::invalid_field(
            "name",
            "a name is 1-255 characters without `/`",
        ));
    }
    Ok(name.to_string())
}

fn realm_role(conn: &mut DbConnection, realm: &Realm, name: &str) -> Result<RoleRow, Error> {
    store::roles::find_by_name(conn, &realm.id, name)?
        .ok_or_else(|| Error::NotFound(format!("role `{name}` in realm `{}`", realm.name)))
}

/// The realm role a representation names (by id, else by name).
fn resolve_realm_role(
    conn: &mut DbConnection,
    realm: &Realm,
    rep: &RoleRepresentation,
) -> Result<RoleRow, Error> {
    if let Some(id) = &rep.id {
        if let Some(role) = store::roles::find(conn, id)?.filter(|r| r.realm_id == realm.id) {
            return Ok(role);
        }
    }
    realm_role(conn, realm, rep.name.as_deref().unwrap_or(""))
}

fn resolve_client_role(
    conn: &mut DbConnection,
    client_row_id: &str,
    rep: &RoleRepresentation,
) -> Result<ClientRoleRow, Error> {
    let name = rep.name.as_deref().unwrap_or("");
    let by_name = store::roles::find_client_role(conn, client_row_id, name)?;
    let by_id = match &rep.id {
        Some(id) => store::roles::client_roles_of(conn, client_row_id)?
            .into_iter()
            .find(|r| &r.id == id),
        None => None,
    };
    by_id
        .or(by_name)
        .ok_or_else(|| Error::NotFound(format!("client role `{name}`")))
}

/// Runs a change; then cuts off the users it took roles from.
async fn change_then_cut_off(
    state: &Latch,
    admin: &Admin,
    realm: String,
    kind: &'static str,
    change: impl FnOnce(&mut DbConnection, &Realm) -> Result<(String, Vec<String>), Error>
        + Send
        + 'static,
) -> Result<(), ApiError> {
    let admin_c = admin.clone();
    run_event(state, admin, realm, move |conn, realm| {
        let (subject, affected) = change(conn, realm)?;
        audit(conn, &realm.id, &admin_c, kind, &subject, None)?;
        Ok(SecurityEvent::RolesChanged {
            user_ids: affected,
            reason: "roles changed".into(),
        })
    })
    .await?;
    Ok(())
}

/// Runs a change that takes nothing away (adds a role, a mapping).
async fn change(
    state: &Latch,
    admin: &Admin,
    realm: String,
    kind: &'static str,
    f: impl FnOnce(&mut DbConnection, &Realm) -> Result<String, Error> + Send + 'static,
) -> Result<String, ApiError> {
    let admin = admin.clone();
    Ok(state
        .directory
        .store()
        .run(move |conn| -> Result<String, Error> {
            store::write(conn, |conn| {
                let realm = find_realm(conn, &realm)?;
                let subject = f(conn, &realm)?;
                audit(conn, &realm.id, &admin, kind, &subject, None)?;
                Ok(subject)
            })
        })
        .await?)
}

/// What holds realm-role mappings, by its id in the path.
enum Holder {
    User(String),
    Group(String),
}

/// Grants (`grant`) or takes realm roles from a user or a group. Taking
/// them cuts off whoever held them through it: the user, or every member
/// of the group and of its subgroups.
async fn map_realm_roles(
    state: &Latch,
    admin: &Admin,
    realm: String,
    holder: Holder,
    roles: Vec<RoleRepresentation>,
    grant: bool,
) -> Result<HttpResponse, ApiError> {
    let kind = match (&holder, grant) {
        (Holder::User(_), true) => "admin.user.roles_added",
        (Holder::User(_), false) => "admin.user.roles_removed",
        (Holder::Group(_), true) => "admin.group.roles_added",
        (Holder::Group(_), false) => "admin.group.roles_removed",
    };
    let apply = move |conn: &mut DbConnection,
                      realm: &Realm|
          -> Result<(String, Vec<String>), Error> {
        let holder_id = match &holder {
            Holder::User(id) => find_user(conn, realm, id)?.id,
            Holder::Group(id) => group_in(conn, realm, id)?.id,
        };
        for rep in &roles {
            let role = resolve_realm_role(conn, realm, rep)?;
            match (&holder, grant) {
                (Holder::User(_), true) => store::roles::grant(conn, &holder_id, &role.id)?,
                (Holder::User(_), false) => {
                    store::roles::revoke(conn, &holder_id, &role.id)?;
                }
                (Holder::Group(_), true) => store::groups::add_role(conn, &holder_id, &role.id)?,
                (Holder::Group(_), false) => {
                    store::groups::remove_role(conn, &holder_id, &role.id)?;
                }
            }
        }
        let affected = match (&holder, grant) {
            (_, true) => Vec::new(),
            (Holder::User(_), false) => vec![holder_id.clone()],
            (Holder::Group(_), false) => store::roles::members_of_subtree(conn, &holder_id)?,
        };
        Ok((holder_id, affected))
    };
    if grant {
        change(state, admin, realm, kind, move |conn, realm| {
            Ok(apply(conn, realm)?.0)
        })
        .await?;
    } else {
        change_then_cut_off(state, admin, realm, kind, apply).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

// ---- realm roles ------------------------------------------------------------

#[utoipa::path(tag = "roles", operation_id = "listRealmRoles",
    params(("realm" = String, Path, description = "Realm name")),
    responses((status = 200, body = Vec<RoleRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/roles")]
async fn list_realm_roles(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<String>,
) -> Result<web::Json<Vec<RoleRepresentation>>, ApiError> {
    let realm = path.into_inner();
    Ok(web::Json(
        state
            .directory
            .store()
            .run(move |conn| -> Result<_, Error> {
                let realm = find_realm(conn, &realm)?;
                let rows = store::roles::list(conn, &realm.id)?;
                rows.iter().map(|r| realm_role_rep(conn, r)).collect()
            })
            .await?,
    ))
}

#[utoipa::path(tag = "roles", operation_id = "createRealmRole", request_body = RoleRepresentation,
    params(("realm" = String, Path, description = "Realm name")),
    responses((status = 201, description = "Created"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation), (status = 409, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation)))]
#[post("/{realm}/roles")]
async fn create_realm_role(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<String>,
    body: web::Json<RoleRepresentation>,
) -> Result<HttpResponse, ApiError> {
    let realm = path.into_inner();
    let name = valid_name(body.name.as_deref())?;
    let description = body.description.clone();
    let n = name.clone();
    change(
        &state,
        &admin,
        realm.clone(),
        "admin.role.created",
        move |conn, realm| {
            if store::roles::find_by_name(conn, &realm.id, &n)?.is_some() {
                return Err(Error::Conflict(format!("role `{n}` exists")));
            }
            store::roles::insert(
                conn,
                &RoleRow {
                    id: crypto::random_id(),
                    realm_id: realm.id.clone(),
                    name: n.clone(),
                    description,
                    created_at_ms: now_ms(),
                },
            )?;
            Ok(n)
        },
    )
    .await?;
    Ok(created(
        format!("{}/admin/realms/{realm}/roles/{name}", state.public_base),
        None,
    ))
}

#[utoipa::path(tag = "roles", operation_id = "getRealmRole",
    params(("realm" = String, Path, description = "Realm name"), ("name" = String, Path, description = "Role name")),
    responses((status = 200, body = RoleRepresentation), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/roles/{name}")]
async fn get_realm_role(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<RoleRepresentation>, ApiError> {
    let (realm, name) = path.into_inner();
    Ok(web::Json(
        state
            .directory
            .store()
            .run(move |conn| -> Result<_, Error> {
                let realm = find_realm(conn, &realm)?;
                let role = realm_role(conn, &realm, &name)?;
                realm_role_rep(conn, &role)
            })
            .await?,
    ))
}

#[utoipa::path(tag = "roles", operation_id = "deleteRealmRole",
    params(("realm" = String, Path, description = "Realm name"), ("name" = String, Path, description = "Role name")),
    responses((status = 204, description = "Deleted; its holders' tokens are rejected"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation), (status = 409, body = ErrorRepresentation)))]
#[delete("/{realm}/roles/{name}")]
async fn delete_realm_role(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (realm, name) = path.into_inner();
    if realm == crate::directory::bootstrap::MASTER_REALM
        && name == crate::directory::bootstrap::ADMIN_ROLE
    {
        return Err(ApiError::new(
            actix_web::http::StatusCode::CONFLICT,
            "conflict",
            "the `admin` role of realm `master` cannot be deleted",
        ));
    }
    change_then_cut_off(
        &state,
        &admin,
        realm,
        "admin.role.deleted",
        move |conn, realm| {
            let role = realm_role(conn, realm, &name)?;
            let affected = store::roles::users_affected_by_role(conn, &role.id)?;
            store::roles::delete(conn, &role.id)?;
            Ok((name, affected))
        },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "roles", operation_id = "addComposites", request_body = Vec<RoleRepresentation>,
    params(("realm" = String, Path, description = "Realm name"), ("name" = String, Path, description = "Role name")),
    responses((status = 204, description = "Added"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[post("/{realm}/roles/{name}/composites")]
async fn add_composites(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<Vec<RoleRepresentation>>,
) -> Result<HttpResponse, ApiError> {
    let (realm, name) = path.into_inner();
    let children = body.into_inner();
    change(
        &state,
        &admin,
        realm,
        "admin.role.composites_added",
        move |conn, realm| {
            let parent = realm_role(conn, realm, &name)?;
            for child in &children {
                let child = resolve_realm_role(conn, realm, child)?;
                if child.id != parent.id {
                    store::roles::add_composite(conn, &parent.id, &child.id)?;
                }
            }
            Ok(name)
        },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "roles", operation_id = "removeComposites", request_body = Vec<RoleRepresentation>,
    params(("realm" = String, Path, description = "Realm name"), ("name" = String, Path, description = "Role name")),
    responses((status = 204, description = "Removed; holders are cut off"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[delete("/{realm}/roles/{name}/composites")]
async fn remove_composites(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<Vec<RoleRepresentation>>,
) -> Result<HttpResponse, ApiError> {
    let (realm, name) = path.into_inner();
    let children = body.into_inner();
    change_then_cut_off(
        &state,
        &admin,
        realm,
        "admin.role.composites_removed",
        move |conn, realm| {
            let parent = realm_role(conn, realm, &name)?;
            let affected = store::roles::users_affected_by_role(conn, &parent.id)?;
            for child in &children {
                let child = resolve_realm_role(conn, realm, child)?;
                store::roles::remove_composite(conn, &parent.id, &child.id)?;
            }
            Ok((name, affected))
        },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- client roles -----------------------------------------------------------

#[utoipa::path(tag = "roles", operation_id = "listClientRoles",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)")),
    responses((status = 200, body = Vec<RoleRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/clients/{id}/roles")]
async fn list_client_roles(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Vec<RoleRepresentation>>, ApiError> {
    let (realm, id) = path.into_inner();
    Ok(web::Json(
        state
            .directory
            .store()
            .run(move |conn| -> Result<_, Error> {
                let realm = find_realm(conn, &realm)?;
                let client = find_client(conn, &realm, &id)?;
                Ok(store::roles::client_roles_of(conn, &client.id)?
                    .iter()
                    .map(client_role_rep)
                    .collect())
            })
            .await?,
    ))
}

#[utoipa::path(tag = "roles", operation_id = "createClientRole", request_body = RoleRepresentation,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)")),
    responses((status = 201, description = "Created"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation), (status = 409, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation)))]
#[post("/{realm}/clients/{id}/roles")]
async fn create_client_role(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<RoleRepresentation>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    let name = valid_name(body.name.as_deref())?;
    let description = body.description.clone();
    let (n, client_id) = (name.clone(), id.clone());
    change(
        &state,
        &admin,
        realm.clone(),
        "admin.client_role.created",
        move |conn, realm| {
            let client = find_client(conn, realm, &client_id)?;
            if store::roles::find_client_role(conn, &client.id, &n)?.is_some() {
                return Err(Error::Conflict(format!("client role `{n}` exists")));
            }
            store::roles::insert_client_role(
                conn,
                &ClientRoleRow {
                    id: crypto::random_id(),
                    client_id: client.id,
                    name: n.clone(),
                    description,
                    created_at_ms: now_ms(),
                },
            )?;
            Ok(n)
        },
    )
    .await?;
    Ok(created(
        format!(
            "{}/admin/realms/{realm}/clients/{id}/roles/{name}",
            state.public_base
        ),
        None,
    ))
}

#[utoipa::path(tag = "roles", operation_id = "deleteClientRole",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)"), ("name" = String, Path, description = "Role name")),
    responses((status = 204, description = "Deleted; its holders' tokens are rejected"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[delete("/{realm}/clients/{id}/roles/{name}")]
async fn delete_client_role(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id, name) = path.into_inner();
    change_then_cut_off(
        &state,
        &admin,
        realm,
        "admin.client_role.deleted",
        move |conn, realm| {
            let client = find_client(conn, realm, &id)?;
            let role = store::roles::find_client_role(conn, &client.id, &name)?
                .ok_or_else(|| Error::NotFound(format!("client role `{name}`")))?;
            let affected = store::roles::users_affected_by_role(conn, &role.id)?;
            store::roles::delete_client_role(conn, &role.id)?;
            Ok((name, affected))
        },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- groups -----------------------------------------------------------------

/// A group, with Keycloak's field names.
#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default)]
    #[schema(no_recursion)]
    pub sub_groups: Vec<GroupRepresentation>,
}

fn tree(all: &[GroupRow], parent: Option<&str>, prefix: &str) -> Vec<GroupRepresentation> {
    all.iter()
        .filter(|g| g.parent_id.as_deref() == parent)
        .map(|g| {
            let path = format!("{prefix}/{}", g.name);
            GroupRepresentation {
                id: Some(g.id.clone()),
                name: Some(g.name.clone()),
                sub_groups: tree(all, Some(&g.id), &path),
                path: Some(path),
            }
        })
        .collect()
}

fn group_in(conn: &mut DbConnection, realm: &Realm, id: &str) -> Result<GroupRow, Error> {
    store::groups::find(conn, id)?
        .filter(|g| g.realm_id == realm.id)
        .ok_or_else(|| Error::NotFound(format!("group `{id}` in realm `{}`", realm.name)))
}

#[utoipa::path(tag = "groups", operation_id = "listGroups",
    params(("realm" = String, Path, description = "Realm name")),
    responses((status = 200, body = Vec<GroupRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/groups")]
async fn list_groups(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<String>,
) -> Result<web::Json<Vec<GroupRepresentation>>, ApiError> {
    let realm = path.into_inner();
    Ok(web::Json(
        state
            .directory
            .store()
            .run(move |conn| -> Result<_, Error> {
                let realm = find_realm(conn, &realm)?;
                Ok(tree(&store::groups::all(conn, &realm.id)?, None, ""))
            })
            .await?,
    ))
}

async fn new_group(
    state: &Latch,
    admin: &Admin,
    realm: String,
    parent: Option<String>,
    rep: GroupRepresentation,
) -> Result<HttpResponse, ApiError> {
    let name = valid_name(rep.name.as_deref())?;
    let id = crypto::random_id();
    let group_id = id.clone();
    change(
        state,
        admin,
        realm.clone(),
        "admin.group.created",
        move |conn, realm| {
            if let Some(p) = &parent {
                group_in(conn, realm, p)?;
            }
            if store::groups::sibling_named(conn, &realm.id, parent.as_deref(), &name)? {
                return Err(Error::Conflict(format!("group `{name}` exists here")));
            }
            store::groups::insert(
                conn,
                &GroupRow {
                    id: group_id.clone(),
                    realm_id: realm.id.clone(),
                    parent_id: parent,
                    name,
                    created_at_ms: now_ms(),
                },
            )?;
            Ok(group_id)
        },
    )
    .await?;
    Ok(created(
        format!("{}/admin/realms/{realm}/groups/{id}", state.public_base),
        None,
    ))
}

#[utoipa::path(tag = "groups", operation_id = "createGroup", request_body = GroupRepresentation,
    params(("realm" = String, Path, description = "Realm name")),
    responses((status = 201, description = "Created"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation), (status = 409, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation)))]
#[post("/{realm}/groups")]
async fn create_group(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<String>,
    body: web::Json<GroupRepresentation>,
) -> Result<HttpResponse, ApiError> {
    new_group(&state, &admin, path.into_inner(), None, body.into_inner()).await
}

#[utoipa::path(tag = "groups", operation_id = "createChildGroup", request_body = GroupRepresentation,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Parent group id")),
    responses((status = 201, description = "Created"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation), (status = 409, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation)))]
#[post("/{realm}/groups/{id}/children")]
async fn create_child_group(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<GroupRepresentation>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    new_group(&state, &admin, realm, Some(id), body.into_inner()).await
}

#[utoipa::path(tag = "groups", operation_id = "getGroup",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Group id")),
    responses((status = 200, body = GroupRepresentation), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/groups/{id}")]
async fn get_group(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<GroupRepresentation>, ApiError> {
    let (realm, id) = path.into_inner();
    Ok(web::Json(
        state
            .directory
            .store()
            .run(move |conn| -> Result<_, Error> {
                let realm = find_realm(conn, &realm)?;
                let group = group_in(conn, &realm, &id)?;
                let path = store::roles::group_path(conn, &group.id)?;
                let all = store::groups::all(conn, &realm.id)?;
                Ok(GroupRepresentation {
                    sub_groups: tree(&all, Some(&group.id), &path),
                    id: Some(group.id),
                    name: Some(group.name),
                    path: Some(path),
                })
            })
            .await?,
    ))
}

#[utoipa::path(tag = "groups", operation_id = "deleteGroup",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Group id")),
    responses((status = 204, description = "Deleted with its subgroups; its members are cut off"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[delete("/{realm}/groups/{id}")]
async fn delete_group(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    change_then_cut_off(
        &state,
        &admin,
        realm,
        "admin.group.deleted",
        move |conn, realm| {
            let group = group_in(conn, realm, &id)?;
            let affected = store::roles::members_of_subtree(conn, &group.id)?;
            let subtree = store::roles::subtree(conn, &group.id)?;
            store::groups::delete(conn, &subtree)?;
            Ok((group.id, affected))
        },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "groups", operation_id = "getGroupRealmRoleMappings",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Group id")),
    responses((status = 200, body = Vec<RoleRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/groups/{id}/role-mappings/realm")]
async fn group_realm_mappings(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Vec<RoleRepresentation>>, ApiError> {
    let (realm, id) = path.into_inner();
    Ok(web::Json(
        state
            .directory
            .store()
            .run(move |conn| -> Result<_, Error> {
                let realm = find_realm(conn, &realm)?;
                let group = group_in(conn, &realm, &id)?;
                let mut out = Vec::new();
                for role_id in store::groups::role_ids(conn, &group.id)? {
                    if let Some(role) = store::roles::find(conn, &role_id)? {
                        out.push(realm_role_rep(conn, &role)?);
                    }
                }
                Ok(out)
            })
            .await?,
    ))
}

#[utoipa::path(tag = "groups", operation_id = "addGroupRealmRoleMappings", request_body = Vec<RoleRepresentation>,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Group id")),
    responses((status = 204, description = "Mapped"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[post("/{realm}/groups/{id}/role-mappings/realm")]
async fn add_group_realm_mappings(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<Vec<RoleRepresentation>>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    map_realm_roles(
        &state,
        &admin,
        realm,
        Holder::Group(id),
        body.into_inner(),
        true,
    )
    .await
}

#[utoipa::path(tag = "groups", operation_id = "removeGroupRealmRoleMappings", request_body = Vec<RoleRepresentation>,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Group id")),
    responses((status = 204, description = "Unmapped; members are cut off"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[delete("/{realm}/groups/{id}/role-mappings/realm")]
async fn remove_group_realm_mappings(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<Vec<RoleRepresentation>>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    map_realm_roles(
        &state,
        &admin,
        realm,
        Holder::Group(id),
        body.into_inner(),
        false,
    )
    .await
}

// ---- a user's roles and groups --------------------------------------------------

/// A client's roles in a user's mappings.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientMappingsRepresentation {
    pub id: String,
    pub client: String,
    pub mappings: Vec<RoleRepresentation>,
}

/// A user's direct role mappings (Keycloak's `MappingsRepresentation`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MappingsRepresentation {
    pub realm_mappings: Vec<RoleRepresentation>,
    pub client_mappings: BTreeMap<String, ClientMappingsRepresentation>,
}

#[utoipa::path(tag = "users", operation_id = "getUserRoleMappings",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = MappingsRepresentation), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/users/{id}/role-mappings")]
async fn user_role_mappings(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<MappingsRepresentation>, ApiError> {
    use diesel::prelude::*;
    let (realm, id) = path.into_inner();
    Ok(web::Json(
        state
            .directory
            .store()
            .run(move |conn| -> Result<_, Error> {
                use store::schema::{client_roles, clients, roles, user_client_roles, user_roles};
                let realm = find_realm(conn, &realm)?;
                let user = find_user(conn, &realm, &id)?;
                let realm_rows: Vec<RoleRow> = user_roles::table
                    .inner_join(roles::table)
                    .filter(user_roles::user_id.eq(&user.id))
                    .select(RoleRow::as_select())
                    .load(conn)?;
                let mut realm_mappings = Vec::new();
                for r in &realm_rows {
                    realm_mappings.push(realm_role_rep(conn, r)?);
                }
                let client_rows: Vec<(ClientRoleRow, String)> = user_client_roles::table
                    .inner_join(client_roles::table.inner_join(clients::table))
                    .filter(user_client_roles::user_id.eq(&user.id))
                    .select((ClientRoleRow::as_select(), clients::client_id))
                    .load(conn)?;
                let mut client_mappings: BTreeMap<String, ClientMappingsRepresentation> =
                    BTreeMap::new();
                for (role, client) in client_rows {
                    client_mappings
                        .entry(client.clone())
                        .or_insert_with(|| ClientMappingsRepresentation {
                            id: role.client_id.clone(),
                            client,
                            mappings: Vec::new(),
                        })
                        .mappings
                        .push(client_role_rep(&role));
                }
                Ok(MappingsRepresentation {
                    realm_mappings,
                    client_mappings,
                })
            })
            .await?,
    ))
}

#[utoipa::path(tag = "users", operation_id = "addUserRealmRoleMappings", request_body = Vec<RoleRepresentation>,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    responses((status = 204, description = "Granted"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[post("/{realm}/users/{id}/role-mappings/realm")]
async fn add_user_realm_mappings(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<Vec<RoleRepresentation>>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    map_realm_roles(
        &state,
        &admin,
        realm,
        Holder::User(id),
        body.into_inner(),
        true,
    )
    .await
}

#[utoipa::path(tag = "users", operation_id = "removeUserRealmRoleMappings", request_body = Vec<RoleRepresentation>,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    responses((status = 204, description = "Revoked; the user's tokens are rejected"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[delete("/{realm}/users/{id}/role-mappings/realm")]
async fn remove_user_realm_mappings(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<Vec<RoleRepresentation>>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    map_realm_roles(
        &state,
        &admin,
        realm,
        Holder::User(id),
        body.into_inner(),
        false,
    )
    .await
}

#[utoipa::path(tag = "users", operation_id = "addUserClientRoleMappings", request_body = Vec<RoleRepresentation>,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id"), ("client" = String, Path, description = "Client id (internal)")),
    responses((status = 204, description = "Granted"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[post("/{realm}/users/{id}/role-mappings/clients/{client}")]
async fn add_user_client_mappings(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    body: web::Json<Vec<RoleRepresentation>>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id, client) = path.into_inner();
    let roles = body.into_inner();
    change(
        &state,
        &admin,
        realm,
        "admin.user.roles_added",
        move |conn, realm| {
            let user = find_user(conn, realm, &id)?;
            let client = find_client(conn, realm, &client)?;
            for rep in &roles {
                let role = resolve_client_role(conn, &client.id, rep)?;
                store::roles::grant_client_role(conn, &user.id, &role.id)?;
            }
            Ok(user.id)
        },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "users", operation_id = "removeUserClientRoleMappings", request_body = Vec<RoleRepresentation>,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id"), ("client" = String, Path, description = "Client id (internal)")),
    responses((status = 204, description = "Revoked; the user's tokens are rejected"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[delete("/{realm}/users/{id}/role-mappings/clients/{client}")]
async fn remove_user_client_mappings(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    body: web::Json<Vec<RoleRepresentation>>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id, client) = path.into_inner();
    let roles = body.into_inner();
    change_then_cut_off(
        &state,
        &admin,
        realm,
        "admin.user.roles_removed",
        move |conn, realm| {
            let user = find_user(conn, realm, &id)?;
            let client = find_client(conn, realm, &client)?;
            for rep in &roles {
                let role = resolve_client_role(conn, &client.id, rep)?;
                store::roles::revoke_client_role(conn, &user.id, &role.id)?;
            }
            Ok((user.id.clone(), vec![user.id]))
        },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "users", operation_id = "getUserGroups",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    responses((status = 200, body = Vec<GroupRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/users/{id}/groups")]
async fn user_groups(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Vec<GroupRepresentation>>, ApiError> {
    let (realm, id) = path.into_inner();
    Ok(web::Json(
        state
            .directory
            .store()
            .run(move |conn| -> Result<_, Error> {
                let realm = find_realm(conn, &realm)?;
                let user = find_user(conn, &realm, &id)?;
                let mut out = Vec::new();
                for g in store::groups::of_user(conn, &user.id)? {
                    let path = store::roles::group_path(conn, &g.id)?;
                    out.push(GroupRepresentation {
                        id: Some(g.id),
                        name: Some(g.name),
                        path: Some(path),
                        sub_groups: Vec::new(),
                    });
                }
                Ok(out)
            })
            .await?,
    ))
}

#[utoipa::path(tag = "users", operation_id = "joinGroup",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id"), ("group" = String, Path, description = "Group id")),
    responses((status = 204, description = "Joined"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[put("/{realm}/users/{id}/groups/{group}")]
async fn join_group(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id, group) = path.into_inner();
    change(
        &state,
        &admin,
        realm,
        "admin.user.group_joined",
        move |conn, realm| {
            let user = find_user(conn, realm, &id)?;
            let group = group_in(conn, realm, &group)?;
            store::groups::join(conn, &user.id, &group.id)?;
            Ok(user.id)
        },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "users", operation_id = "leaveGroup",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id"), ("group" = String, Path, description = "Group id")),
    responses((status = 204, description = "Left; the user's tokens are rejected"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[delete("/{realm}/users/{id}/groups/{group}")]
async fn leave_group(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id, group) = path.into_inner();
    change_then_cut_off(
        &state,
        &admin,
        realm,
        "admin.user.group_left",
        move |conn, realm| {
            let user = find_user(conn, realm, &id)?;
            let group = group_in(conn, realm, &group)?;
            if !store::groups::leave(conn, &user.id, &group.id)? {
                return Err(Error::NotFound(format!(
                    "membership of `{}` in group `{}`",
                    user.username, group.name
                )));
            }
            Ok((user.id.clone(), vec![user.id]))
        },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
