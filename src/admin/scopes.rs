//! Client scopes and their protocol mappers, at Keycloak's paths:
//! `/client-scopes` (with `/protocol-mappers/models`), a client's
//! `/default-client-scopes` and `/optional-client-scopes`, and the realm's
//! `/default-default-client-scopes` and `/default-optional-client-scopes`
//! (what new clients get). The handlers convert Keycloak's representations
//! and call `operations::scopes`; changes shape the tokens issued afterwards.

use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::{created, in_field, Admin, ErrorRepresentation};
use crate::app::Latch;
use crate::directory::scopes::{ClientScopeRepresentation, Kind, ProtocolMapperRepresentation};
use crate::error::Error;
use crate::http::errors::ApiError;
use crate::ids::{ClientRowId, RealmName};
use crate::operations::scopes::{
    self, ClientLink, MapperChange, NewMapper, NewScope, RealmLink, ScopeChange,
};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_scopes)
        .service(create_scope)
        .service(get_scope)
        .service(update_scope)
        .service(delete_scope)
        .service(list_mappers)
        .service(add_mapper)
        .service(update_mapper)
        .service(delete_mapper)
        .service(client_defaults)
        .service(add_client_default)
        .service(remove_client_default)
        .service(client_optionals)
        .service(add_client_optional)
        .service(remove_client_optional)
        .service(realm_defaults)
        .service(add_realm_default)
        .service(remove_realm_default)
        .service(realm_optionals)
        .service(add_realm_optional)
        .service(remove_realm_optional);
}

/// A scope in a client's or a realm's list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScopeLink {
    pub id: String,
    pub name: String,
}

impl From<scopes::ScopeLink> for ScopeLink {
    fn from(link: scopes::ScopeLink) -> Self {
        ScopeLink {
            id: link.id,
            name: link.name,
        }
    }
}

fn links(found: Vec<scopes::ScopeLink>) -> web::Json<Vec<ScopeLink>> {
    web::Json(found.into_iter().map(Into::into).collect())
}

/// What the admin API reports of a refused change: an invalid value is
/// about the client scope.
fn refused(e: Error) -> ApiError {
    in_field("clientScope")(e)
}

// ---- client scopes --------------------------------------------------------

#[utoipa::path(tag = "client-scopes", operation_id = "listClientScopes",
    params(("realm" = String, Path, description = "Realm name")),
    responses((status = 200, body = Vec<ClientScopeRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/client-scopes")]
async fn list_scopes(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<String>,
) -> Result<web::Json<Vec<ClientScopeRepresentation>>, ApiError> {
    let found = scopes::list(&state, &RealmName(path.into_inner())).await?;
    Ok(web::Json(found.iter().map(Into::into).collect()))
}

#[utoipa::path(tag = "client-scopes", operation_id = "createClientScope", request_body = ClientScopeRepresentation,
    params(("realm" = String, Path, description = "Realm name")),
    responses((status = 201, description = "Created; Location names the scope"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation), (status = 409, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation)))]
#[post("/{realm}/client-scopes")]
async fn create_scope(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<String>,
    body: web::Json<ClientScopeRepresentation>,
) -> Result<HttpResponse, ApiError> {
    let realm = path.into_inner();
    let input = NewScope {
        realm: RealmName(realm.clone()),
        fields: body.fields().map_err(refused)?,
        mappers: body.mapper_fields().map_err(refused)?,
    };
    let id = scopes::create(&state, &admin.actor, input)
        .await
        .map_err(refused)?;
    Ok(created(
        format!(
            "{}/admin/realms/{realm}/client-scopes/{id}",
            state.public_base
        ),
        None,
    ))
}

#[utoipa::path(tag = "client-scopes", operation_id = "getClientScope",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client scope id")),
    responses((status = 200, body = ClientScopeRepresentation), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/client-scopes/{id}")]
async fn get_scope(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<ClientScopeRepresentation>, ApiError> {
    let (realm, id) = path.into_inner();
    let scope = scopes::get(&state, &RealmName(realm), &id).await?;
    Ok(web::Json((&scope).into()))
}

#[utoipa::path(tag = "client-scopes", operation_id = "updateClientScope", request_body = ClientScopeRepresentation,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client scope id")),
    responses((status = 204, description = "Updated; a new name follows into every client that lists the scope"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation), (status = 409, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation)))]
#[put("/{realm}/client-scopes/{id}")]
async fn update_scope(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<ClientScopeRepresentation>,
) -> Result<HttpResponse, ApiError> {
    let (realm, scope_id) = path.into_inner();
    let input = ScopeChange {
        realm: RealmName(realm),
        scope_id,
        fields: body.fields().map_err(refused)?,
    };
    scopes::update(&state, &admin.actor, input)
        .await
        .map_err(refused)?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "client-scopes", operation_id = "deleteClientScope",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client scope id")),
    responses((status = 204, description = "Deleted and taken off every client"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[delete("/{realm}/client-scopes/{id}")]
async fn delete_scope(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    scopes::delete(&state, &admin.actor, &RealmName(realm), &id)
        .await
        .map_err(refused)?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- protocol mappers -----------------------------------------------------

#[utoipa::path(tag = "client-scopes", operation_id = "listProtocolMappers",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client scope id")),
    responses((status = 200, body = Vec<ProtocolMapperRepresentation>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/client-scopes/{id}/protocol-mappers/models")]
async fn list_mappers(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Vec<ProtocolMapperRepresentation>>, ApiError> {
    let (realm, id) = path.into_inner();
    let found = scopes::mappers(&state, &RealmName(realm), &id).await?;
    Ok(web::Json(found.iter().map(Into::into).collect()))
}

#[utoipa::path(tag = "client-scopes", operation_id = "addProtocolMapper", request_body = ProtocolMapperRepresentation,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client scope id")),
    responses((status = 201, description = "Created; Location names the mapper"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation), (status = 409, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation)))]
#[post("/{realm}/client-scopes/{id}/protocol-mappers/models")]
async fn add_mapper(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<ProtocolMapperRepresentation>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    let input = NewMapper {
        realm: RealmName(realm.clone()),
        scope_id: id.clone(),
        fields: body.fields().map_err(refused)?,
    };
    let mapper_id = scopes::add_mapper(&state, &admin.actor, input)
        .await
        .map_err(refused)?;
    Ok(created(
        format!(
            "{}/admin/realms/{realm}/client-scopes/{id}/protocol-mappers/models/{mapper_id}",
            state.public_base
        ),
        None,
    ))
}

#[utoipa::path(tag = "client-scopes", operation_id = "updateProtocolMapper", request_body = ProtocolMapperRepresentation,
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client scope id"), ("mapper" = String, Path, description = "Mapper id")),
    responses((status = 204, description = "Updated"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation), (status = 409, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation)))]
#[put("/{realm}/client-scopes/{id}/protocol-mappers/models/{mapper}")]
async fn update_mapper(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
    body: web::Json<ProtocolMapperRepresentation>,
) -> Result<HttpResponse, ApiError> {
    let (realm, scope_id, mapper_id) = path.into_inner();
    let input = MapperChange {
        realm: RealmName(realm),
        scope_id,
        mapper_id,
        fields: body.fields().map_err(refused)?,
    };
    scopes::update_mapper(&state, &admin.actor, input)
        .await
        .map_err(refused)?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "client-scopes", operation_id = "deleteProtocolMapper",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client scope id"), ("mapper" = String, Path, description = "Mapper id")),
    responses((status = 204, description = "Deleted"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[delete("/{realm}/client-scopes/{id}/protocol-mappers/models/{mapper}")]
async fn delete_mapper(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id, mapper) = path.into_inner();
    scopes::delete_mapper(&state, &admin.actor, &RealmName(realm), &id, &mapper)
        .await
        .map_err(refused)?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- a client's scopes ----------------------------------------------------

async fn client_list(
    state: &Latch,
    (realm, client): (String, String),
    kind: Kind,
) -> Result<web::Json<Vec<ScopeLink>>, ApiError> {
    let found = scopes::of_client(state, &RealmName(realm), ClientRowId(client), kind).await?;
    Ok(links(found))
}

/// Puts a scope on a client's list (and off the other list), or takes it
/// off that list.
async fn client_link(
    state: &Latch,
    admin: &Admin,
    (realm, client, scope_id): (String, String, String),
    kind: Kind,
    on: bool,
) -> Result<HttpResponse, ApiError> {
    let input = ClientLink {
        realm: RealmName(realm),
        client: ClientRowId(client),
        scope_id,
        kind,
        on,
    };
    scopes::link_to_client(state, &admin.actor, input)
        .await
        .map_err(refused)?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "client-scopes", operation_id = "listClientDefaultScopes",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)")),
    responses((status = 200, body = Vec<ScopeLink>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/clients/{id}/default-client-scopes")]
async fn client_defaults(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Vec<ScopeLink>>, ApiError> {
    client_list(&state, path.into_inner(), Kind::Default).await
}

#[utoipa::path(tag = "client-scopes", operation_id = "addClientDefaultScope",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)"), ("scope" = String, Path, description = "Client scope id")),
    responses((status = 204, description = "Every token of the client gets the scope"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[put("/{realm}/clients/{id}/default-client-scopes/{scope}")]
async fn add_client_default(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    client_link(&state, &admin, path.into_inner(), Kind::Default, true).await
}

#[utoipa::path(tag = "client-scopes", operation_id = "removeClientDefaultScope",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)"), ("scope" = String, Path, description = "Client scope id")),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[delete("/{realm}/clients/{id}/default-client-scopes/{scope}")]
async fn remove_client_default(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    client_link(&state, &admin, path.into_inner(), Kind::Default, false).await
}

#[utoipa::path(tag = "client-scopes", operation_id = "listClientOptionalScopes",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)")),
    responses((status = 200, body = Vec<ScopeLink>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/clients/{id}/optional-client-scopes")]
async fn client_optionals(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Vec<ScopeLink>>, ApiError> {
    client_list(&state, path.into_inner(), Kind::Optional).await
}

#[utoipa::path(tag = "client-scopes", operation_id = "addClientOptionalScope",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)"), ("scope" = String, Path, description = "Client scope id")),
    responses((status = 204, description = "The client's requests may ask for the scope"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[put("/{realm}/clients/{id}/optional-client-scopes/{scope}")]
async fn add_client_optional(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    client_link(&state, &admin, path.into_inner(), Kind::Optional, true).await
}

#[utoipa::path(tag = "client-scopes", operation_id = "removeClientOptionalScope",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)"), ("scope" = String, Path, description = "Client scope id")),
    responses((status = 204, description = "Removed"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[delete("/{realm}/clients/{id}/optional-client-scopes/{scope}")]
async fn remove_client_optional(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, ApiError> {
    client_link(&state, &admin, path.into_inner(), Kind::Optional, false).await
}

// ---- what new clients get -------------------------------------------------

async fn realm_list(
    state: &Latch,
    realm: String,
    kind: Kind,
) -> Result<web::Json<Vec<ScopeLink>>, ApiError> {
    Ok(links(
        scopes::of_new_clients(state, &RealmName(realm), kind).await?,
    ))
}

async fn realm_link(
    state: &Latch,
    admin: &Admin,
    (realm, scope_id): (String, String),
    kind: Kind,
    on: bool,
) -> Result<HttpResponse, ApiError> {
    let input = RealmLink {
        realm: RealmName(realm),
        scope_id,
        kind,
        on,
    };
    scopes::link_to_new_clients(state, &admin.actor, input)
        .await
        .map_err(refused)?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(tag = "client-scopes", operation_id = "listRealmDefaultScopes",
    params(("realm" = String, Path, description = "Realm name")),
    responses((status = 200, description = "Default scopes of new clients", body = Vec<ScopeLink>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/default-default-client-scopes")]
async fn realm_defaults(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<String>,
) -> Result<web::Json<Vec<ScopeLink>>, ApiError> {
    realm_list(&state, path.into_inner(), Kind::Default).await
}

#[utoipa::path(tag = "client-scopes", operation_id = "addRealmDefaultScope",
    params(("realm" = String, Path, description = "Realm name"), ("scope" = String, Path, description = "Client scope id")),
    responses((status = 204, description = "New clients get the scope as a default scope"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[put("/{realm}/default-default-client-scopes/{scope}")]
async fn add_realm_default(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    realm_link(&state, &admin, path.into_inner(), Kind::Default, true).await
}

#[utoipa::path(tag = "client-scopes", operation_id = "removeRealmDefaultScope",
    params(("realm" = String, Path, description = "Realm name"), ("scope" = String, Path, description = "Client scope id")),
    responses((status = 204, description = "New clients no longer get it"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[delete("/{realm}/default-default-client-scopes/{scope}")]
async fn remove_realm_default(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    realm_link(&state, &admin, path.into_inner(), Kind::Default, false).await
}

#[utoipa::path(tag = "client-scopes", operation_id = "listRealmOptionalScopes",
    params(("realm" = String, Path, description = "Realm name")),
    responses((status = 200, description = "Optional scopes of new clients", body = Vec<ScopeLink>), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[get("/{realm}/default-optional-client-scopes")]
async fn realm_optionals(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<String>,
) -> Result<web::Json<Vec<ScopeLink>>, ApiError> {
    realm_list(&state, path.into_inner(), Kind::Optional).await
}

#[utoipa::path(tag = "client-scopes", operation_id = "addRealmOptionalScope",
    params(("realm" = String, Path, description = "Realm name"), ("scope" = String, Path, description = "Client scope id")),
    responses((status = 204, description = "New clients get the scope as an optional scope"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[put("/{realm}/default-optional-client-scopes/{scope}")]
async fn add_realm_optional(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    realm_link(&state, &admin, path.into_inner(), Kind::Optional, true).await
}

#[utoipa::path(tag = "client-scopes", operation_id = "removeRealmOptionalScope",
    params(("realm" = String, Path, description = "Realm name"), ("scope" = String, Path, description = "Client scope id")),
    responses((status = 204, description = "New clients no longer get it"), (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation), (status = 404, body = ErrorRepresentation)))]
#[delete("/{realm}/default-optional-client-scopes/{scope}")]
async fn remove_realm_optional(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    realm_link(&state, &admin, path.into_inner(), Kind::Optional, false).await
}
