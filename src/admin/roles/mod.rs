//! Roles, groups and their mappings, at Keycloak's paths: realm roles
//! (`/roles`), client roles (`/clients/{id}/roles`), composites, nested
//! groups (`/groups`, `/groups/{id}/children`), group and user role
//! mappings, group membership. The handlers convert Keycloak's
//! representations and call `operations::{roles, groups}`, where whatever
//! takes a role away from users cuts those users off.

mod by_id;
mod groups;
mod mapping_reads;
mod mappings;
mod named;
mod representation;

use actix_web::{delete, get, post, web, HttpResponse};

use super::{created, in_field, Admin, ErrorRepresentation};
use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::ids::{ClientRowId, RealmName};
use crate::operations::roles::{self, ClientRef, Composites, NewRole, RoleName};
pub use groups::CountRepresentation;
use representation::{references, roles as role_reps};
pub use representation::{
    ClientMappingsRepresentation, GroupRepresentation, MappingsRepresentation, RoleRepresentation,
};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_realm_roles)
        .service(create_realm_role)
        .service(get_realm_role)
        .service(named::update_realm_role)
        .service(delete_realm_role)
        .service(named::realm_role_users)
        .service(add_composites)
        .service(remove_composites)
        .service(by_id::get_role)
        .service(by_id::update_role_by_id)
        .service(by_id::delete_role_by_id)
        .service(list_client_roles)
        .service(create_client_role)
        .service(named::get_client_role)
        .service(named::update_client_role)
        .service(delete_client_role)
        .service(named::client_role_users)
        .configure(group_routes)
        .configure(user_routes);
}

fn group_routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    // `count` before `{id}`, which would take it for a group id.
    cfg.service(groups::list_groups)
        .service(groups::count_groups)
        .service(groups::create_group)
        .service(groups::create_child_group)
        .service(groups::list_children)
        .service(groups::get_group)
        .service(groups::delete_group)
        .service(groups::list_members)
        .service(mapping_reads::group_all)
        .service(groups::group_realm_mappings)
        .service(groups::add_group_realm_mappings)
        .service(groups::remove_group_realm_mappings)
        .service(mapping_reads::group_realm_composite)
        .service(mapping_reads::group_realm_available)
        .service(mapping_reads::group_client)
        .service(groups::add_group_client_mappings)
        .service(groups::remove_group_client_mappings)
        .service(mapping_reads::group_client_composite)
        .service(mapping_reads::group_client_available);
}

fn user_routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(mappings::user_role_mappings)
        .service(mapping_reads::user_realm)
        .service(mappings::add_user_realm_mappings)
        .service(mappings::remove_user_realm_mappings)
        .service(mapping_reads::user_realm_composite)
        .service(mapping_reads::user_realm_available)
        .service(mapping_reads::user_client)
        .service(mappings::add_user_client_mappings)
        .service(mappings::remove_user_client_mappings)
        .service(mapping_reads::user_client_composite)
        .service(mapping_reads::user_client_available)
        .service(mappings::user_groups)
        .service(mappings::count_user_groups)
        .service(mappings::join_group)
        .service(mappings::leave_group);
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
    let realm = RealmName(path.into_inner());
    Ok(web::Json(role_reps(
        roles::realm_roles(&state, &realm).await?,
    )))
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
    let body = body.into_inner();
    let input = NewRole {
        realm: RealmName(realm.clone()),
        client: None,
        name: body.name.unwrap_or_default(),
        description: body.description,
    };
    let role = roles::create(&state, &admin.actor, input)
        .await
        .map_err(in_field("name"))?;
    Ok(created(
        format!(
            "{}/admin/realms/{realm}/roles/{}",
            state.public_base, role.name
        ),
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
    let role = roles::realm_role(&state, &RealmName(realm), &name).await?;
    Ok(web::Json(role.into()))
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
    let input = RoleName {
        realm: RealmName(realm),
        client: None,
        name,
    };
    roles::delete(&state, &admin.actor, input).await?;
    Ok(HttpResponse::NoContent().finish())
}

fn composites((realm, parent): (String, String), body: Vec<RoleRepresentation>) -> Composites {
    Composites {
        realm: RealmName(realm),
        parent,
        children: references(body),
    }
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
    let input = composites(path.into_inner(), body.into_inner());
    roles::add_composites(&state, &admin.actor, input).await?;
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
    let input = composites(path.into_inner(), body.into_inner());
    roles::remove_composites(&state, &admin.actor, input).await?;
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
    let client = ClientRef::Row(ClientRowId(id));
    let found = roles::client_roles(&state, &RealmName(realm), client).await?;
    Ok(web::Json(role_reps(found)))
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
    let body = body.into_inner();
    let input = NewRole {
        realm: RealmName(realm.clone()),
        client: Some(ClientRef::Row(ClientRowId(id.clone()))),
        name: body.name.unwrap_or_default(),
        description: body.description,
    };
    let role = roles::create(&state, &admin.actor, input)
        .await
        .map_err(in_field("name"))?;
    Ok(created(
        format!(
            "{}/admin/realms/{realm}/clients/{id}/roles/{}",
            state.public_base, role.name
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
    let input = RoleName {
        realm: RealmName(realm),
        client: Some(ClientRef::Row(ClientRowId(id))),
        name,
    };
    roles::delete(&state, &admin.actor, input).await?;
    Ok(HttpResponse::NoContent().finish())
}
