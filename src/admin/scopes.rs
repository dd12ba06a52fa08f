//! Client scopes and their protocol mappers, at Keycloak's paths:
//! `/client-scopes` (with `/protocol-mappers/models`), a client's
//! `/default-client-scopes` and `/optional-client-scopes`, and the realm's
//! `/default-default-client-scopes` and `/default-optional-client-scopes`
//! (what new clients get). Changes shape the tokens issued afterwards.

use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

use super::clients::find_client;
use super::realms::find as find_realm;
use super::{audit, created, in_field, Admin, ErrorRepresentation};
use crate::app::Latch;
use crate::directory::scopes::{
    self as scope_dir, ClientScopeRepresentation, Kind, ProtocolMapperRepresentation,
};
use crate::error::Error;
use crate::http::errors::ApiError;
use crate::store::realms::Realm;
use crate::store::{self, DbConnection};

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

/// Runs a change in one transaction with its audit row, then lets every
/// node see it.
async fn change<T: Send + 'static>(
    state: &Latch,
    admin: &Admin,
    realm: String,
    kind: &'static str,
    f: impl FnOnce(&mut DbConnection, &Realm) -> Result<(String, T), Error> + Send + 'static,
) -> Result<T, ApiError> {
    let admin = admin.clone();
    let out = state
        .directory
        .store()
        .run(move |conn| -> Result<T, Error> {
            store::write(conn, |conn| {
                let realm = find_realm(conn, &realm)?;
                let (subject, out) = f(conn, &realm)?;
                audit(conn, &realm.id, &admin, kind, &subject, None)?;
                Ok(out)
            })
        })
        .await
        .map_err(in_field("clientScope"))?;
    state.announce().await?;
    Ok(out)
}

async fn read<T: Send + 'static>(
    state: &Latch,
    realm: String,
    f: impl FnOnce(&mut DbConnection, &Realm) -> Result<T, Error> + Send + 'static,
) -> Result<T, ApiError> {
    Ok(state
        .directory
        .store()
        .run(move |conn| -> Result<T, Error> {
            let realm = find_realm(conn, &realm)?;
            f(conn, &realm)
        })
        .await?)
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
    let reps = read(&state, path.into_inner(), |conn, realm| {
        let mappers = store::scopes::mappers_of_realm(conn, &realm.id)?;
        Ok(store::scopes::list(conn, &realm.id)?
            .iter()
            .map(|s| scope_dir::representation(s, &mappers))
            .collect())
    })
    .await?;
    Ok(web::Json(reps))
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
    let mut rep = body.into_inner();
    rep.id = None;
    let id = change(
        &state,
        &admin,
        realm.clone(),
        "admin.client_scope.created",
        move |conn, realm| {
            let row = scope_dir::create_scope(conn, realm, &rep)?;
            Ok((row.name, row.id))
        },
    )
    .await?;
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
    let rep = read(&state, realm, move |conn, realm| {
        let row = scope_dir::find_scope(conn, realm, &id)?;
        let mappers = store::scopes::mappers_of_realm(conn, &realm.id)?;
        Ok(scope_dir::representation(&row, &mappers))
    })
    .await?;
    Ok(web::Json(rep))
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
    let (realm, id) = path.into_inner();
    let rep = body.into_inner();
    change(
        &state,
        &admin,
        realm,
        "admin.client_scope.updated",
        move |conn, realm| {
            scope_dir::update_scope(conn, realm, &id, &rep)?;
            Ok((id, ()))
        },
    )
    .await?;
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
    change(
        &state,
        &admin,
        realm,
        "admin.client_scope.deleted",
        move |conn, realm| Ok((scope_dir::delete_scope(conn, realm, &id)?, ())),
    )
    .await?;
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
    let reps = read(&state, realm, move |conn, realm| {
        let scope = scope_dir::find_scope(conn, realm, &id)?;
        Ok(store::scopes::mappers_of_realm(conn, &realm.id)?
            .iter()
            .filter(|m| m.scope_id == scope.id)
            .map(scope_dir::mapper_representation)
            .collect())
    })
    .await?;
    Ok(web::Json(reps))
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
    let rep = body.into_inner();
    let scope = id.clone();
    let mapper_id = change(
        &state,
        &admin,
        realm.clone(),
        "admin.client_scope.mapper_added",
        move |conn, realm| {
            let row = scope_dir::add_mapper(conn, realm, &scope, &rep)?;
            Ok((format!("{scope}/{}", row.name), row.id))
        },
    )
    .await?;
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
    let (realm, id, mapper) = path.into_inner();
    let rep = body.into_inner();
    change(
        &state,
        &admin,
        realm,
        "admin.client_scope.mapper_updated",
        move |conn, realm| {
            scope_dir::update_mapper(conn, realm, &id, &mapper, &rep)?;
            Ok((format!("{id}/{mapper}"), ()))
        },
    )
    .await?;
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
    change(
        &state,
        &admin,
        realm,
        "admin.client_scope.mapper_deleted",
        move |conn, realm| {
            scope_dir::delete_mapper(conn, realm, &id, &mapper)?;
            Ok((format!("{id}/{mapper}"), ()))
        },
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

// ---- a client's scopes ----------------------------------------------------

fn links(
    conn: &mut DbConnection,
    realm: &Realm,
    names: &[String],
) -> Result<Vec<ScopeLink>, Error> {
    let all = store::scopes::list(conn, &realm.id)?;
    Ok(names
        .iter()
        .filter_map(|n| all.iter().find(|s| &s.name == n))
        .map(|s| ScopeLink {
            id: s.id.clone(),
            name: s.name.clone(),
        })
        .collect())
}

async fn client_list(
    state: &Latch,
    realm: String,
    client: String,
    kind: Kind,
) -> Result<web::Json<Vec<ScopeLink>>, ApiError> {
    let out = read(state, realm, move |conn, realm| {
        let row = find_client(conn, realm, &client)?;
        let client = crate::directory::Client::from_row(row)?;
        let names = match kind {
            Kind::Default => client.default_scopes,
            Kind::Optional => client.optional_scopes,
        };
        links(conn, realm, &names)
    })
    .await?;
    Ok(web::Json(out))
}

/// Puts a scope on a client's list (`Some(kind)`; off the other list) or
/// takes it off that list (`None`).
async fn client_link(
    state: &Latch,
    admin: &Admin,
    (realm, client, scope): (String, String, String),
    kind: Kind,
    on: bool,
) -> Result<HttpResponse, ApiError> {
    change(
        state,
        admin,
        realm,
        "admin.client.scopes_changed",
        move |conn, realm| {
            let row = find_client(conn, realm, &client)?;
            let current = crate::directory::Client::from_row(row.clone())?;
            let name = scope_dir::find_scope(conn, realm, &scope)?.name;
            let (mut defaults, mut optionals) = (current.default_scopes, current.optional_scopes);
            defaults.retain(|n| *n != name);
            optionals.retain(|n| *n != name);
            if on {
                match kind {
                    Kind::Default => defaults.push(name.clone()),
                    Kind::Optional => optionals.push(name.clone()),
                }
            }
            scope_dir::set_client_links(
                conn,
                &realm.id,
                &row.id,
                &row.client_id,
                &defaults,
                &optionals,
            )?;
            Ok((format!("{}/{name}", row.client_id), ()))
        },
    )
    .await?;
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
    let (realm, client) = path.into_inner();
    client_list(&state, realm, client, Kind::Default).await
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
    let (realm, client) = path.into_inner();
    client_list(&state, realm, client, Kind::Optional).await
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
    let out = read(state, realm, move |conn, realm| {
        Ok(store::scopes::list(conn, &realm.id)?
            .into_iter()
            .filter(|s| s.realm_default.as_deref() == Some(kind.as_str()))
            .map(|s| ScopeLink {
                id: s.id,
                name: s.name,
            })
            .collect())
    })
    .await?;
    Ok(web::Json(out))
}

async fn realm_link(
    state: &Latch,
    admin: &Admin,
    (realm, scope): (String, String),
    kind: Kind,
    on: bool,
) -> Result<HttpResponse, ApiError> {
    change(
        state,
        admin,
        realm,
        "admin.realm.default_scopes_changed",
        move |conn, realm| {
            scope_dir::set_realm_default(conn, realm, &scope, kind, on)?;
            Ok((scope, ()))
        },
    )
    .await?;
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
