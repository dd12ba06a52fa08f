//! `/admin/realms/{realm}/clients`: list, create, read, update, delete;
//! regenerate a secret; revoke every token of a client; the one-step
//! response to a compromised client.

mod representation;

use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::Deserialize;

use super::roles::CountRepresentation;
use super::sessions::SessionRepresentation;
use super::{created, in_field, Admin, ErrorRepresentation, OutcomeRepresentation, Page};
use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::ids::{ClientId, ClientRowId, RealmName};
use crate::operations::clients::{self, ClientRef, MAX_SECRET_OVERLAP_S};
use crate::operations::sessions;
pub use representation::{
    ClientRepresentation, CompromiseRepresentation, CredentialRepresentation,
    SecretKindRepresentation,
};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list)
        .service(create)
        .service(read)
        .service(update)
        .service(remove)
        .service(read_secret)
        .service(regenerate_secret)
        .service(client_sessions)
        .service(session_count)
        .service(revoke_tokens)
        .service(compromised);
}

/// A client, with Keycloak's field names. Keycloak keeps the logout URLs
/// in `attributes`; they are accepted there or as the top-level fields.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct ClientFilter {
    /// Only the client with this `clientId`.
    pub client_id: Option<String>,
}

/// A client's path: its realm and its internal id.
fn target(path: web::Path<(RealmName, ClientRowId)>) -> (RealmName, ClientRef) {
    let (realm, id) = path.into_inner();
    (realm, ClientRef::Row(id))
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
    path: web::Path<RealmName>,
    filter: web::Query<ClientFilter>,
) -> Result<web::Json<Vec<ClientRepresentation>>, ApiError> {
    let only = filter.into_inner().client_id.map(ClientId);
    let clients = clients::list(&state, &path, only).await?;
    Ok(web::Json(
        clients.iter().map(ClientRepresentation::from).collect(),
    ))
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
    path: web::Path<RealmName>,
    body: web::Json<ClientRepresentation>,
) -> Result<HttpResponse, ApiError> {
    let new = body.new_client()?;
    let (client, secret) = clients::create(&state, &admin.actor, &path, new)
        .await
        .map_err(in_field("clientId"))?;
    let mut rep = ClientRepresentation::from(&client);
    rep.secret = secret;
    Ok(created(
        format!(
            "{}/admin/realms/{path}/clients/{}",
            state.public_base, client.id
        ),
        serde_json::to_value(rep).ok(),
    ))
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
    path: web::Path<(RealmName, ClientRowId)>,
) -> Result<web::Json<ClientRepresentation>, ApiError> {
    let (realm, client) = target(path);
    let client = clients::find(&state, &realm, &client).await?;
    Ok(web::Json(ClientRepresentation::from(&client)))
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
    path: web::Path<(RealmName, ClientRowId)>,
    body: web::Json<ClientRepresentation>,
) -> Result<HttpResponse, ApiError> {
    let (realm, client) = target(path);
    let update = body.update()?;
    clients::update(&state, &admin.actor, &realm, &client, update)
        .await
        .map_err(in_field("client"))?;
    Ok(HttpResponse::NoContent().finish())
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
    path: web::Path<(RealmName, ClientRowId)>,
) -> Result<HttpResponse, ApiError> {
    let (realm, client) = target(path);
    clients::delete(&state, &admin.actor, &realm, &client).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "clients",
    operation_id = "getClientSecret",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)")),
    responses(
        (status = 200, description = "`{\"type\": \"secret\"}` without `value`: secrets are stored hashed and shown only when made", body = SecretKindRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
        (status = 422, description = "A public client has no secret", body = ErrorRepresentation),
    )
)]
#[get("/{realm}/clients/{id}/client-secret")]
async fn read_secret(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(RealmName, ClientRowId)>,
) -> Result<web::Json<SecretKindRepresentation>, ApiError> {
    let (realm, client) = target(path);
    clients::has_secret(&state, &realm, &client)
        .await
        .map_err(in_field("publicClient"))?;
    Ok(web::Json(SecretKindRepresentation {
        kind: "secret".into(),
    }))
}

#[utoipa::path(
    tag = "sessions",
    operation_id = "listClientSessions",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)"), Page),
    responses(
        (status = 200, description = "A page of the live sessions the client took part in, newest first", body = Vec<SessionRepresentation>),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation),
    )
)]
#[get("/{realm}/clients/{id}/user-sessions")]
async fn client_sessions(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(RealmName, ClientRowId)>,
    page: web::Query<Page>,
) -> Result<web::Json<Vec<SessionRepresentation>>, ApiError> {
    let page = page.bounds()?;
    let (realm, client) = target(path);
    let found = sessions::of_client(&state, &realm, client, page).await?;
    Ok(web::Json(
        found.into_iter().map(SessionRepresentation::from).collect(),
    ))
}

#[utoipa::path(
    tag = "sessions",
    operation_id = "countClientSessions",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "Client id (internal)")),
    responses(
        (status = 200, description = "How many live sessions the client took part in", body = CountRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[get("/{realm}/clients/{id}/session-count")]
async fn session_count(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(RealmName, ClientRowId)>,
) -> Result<web::Json<CountRepresentation>, ApiError> {
    let (realm, client) = target(path);
    let counts = sessions::client_counts(&state, &realm, Some(client)).await?;
    let count = counts.first().map_or(0, |c| c.active);
    Ok(web::Json(CountRepresentation { count }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    /// Routine rotation: how long the old secret keeps working (seconds,
    /// at most a day; default 0 = it stops at once).
    pub overlap_seconds: Option<i64>,
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
    path: web::Path<(RealmName, ClientRowId)>,
    rotation: web::Query<Rotation>,
) -> Result<HttpResponse, ApiError> {
    let (realm, client) = target(path);
    let overlap_s = rotation.overlap_seconds.unwrap_or(0);
    if !(0..=MAX_SECRET_OVERLAP_S).contains(&overlap_s) {
        return Err(ApiError::invalid_field(
            "overlapSeconds",
            format!("overlapSeconds must be between 0 and {MAX_SECRET_OVERLAP_S}"),
        ));
    }
    let value = clients::new_secret(&state, &admin.actor, &realm, &client, overlap_s)
        .await
        .map_err(in_field("publicClient"))?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(CredentialRepresentation {
            kind: "secret".into(),
            value,
        }))
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
    path: web::Path<(RealmName, ClientRowId)>,
) -> Result<web::Json<OutcomeRepresentation>, ApiError> {
    let (realm, client) = target(path);
    let outcome = clients::revoke_tokens(&state, &admin.actor, &realm, &client).await?;
    Ok(web::Json(outcome.into()))
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
    path: web::Path<(RealmName, ClientRowId)>,
) -> Result<HttpResponse, ApiError> {
    let (realm, client) = target(path);
    let contained = clients::compromised(&state, &admin.actor, &realm, &client).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(CompromiseRepresentation {
            outcome: contained.outcome.into(),
            secret: contained.secret,
        }))
}
