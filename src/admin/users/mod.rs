//! `/admin/realms/{realm}/users`: search, create, read, update, delete;
//! set a password; log a user out everywhere; their sessions; lockouts.
//! Each handler converts Keycloak's shapes (`representation`) and calls the
//! operation that every other front door calls too.

mod representation;
mod stored_credentials;

use actix_web::{delete, get, post, put, web, HttpResponse};

pub use representation::{
    CredentialRepresentation, LockoutRepresentation, UserRepresentation, UserSearch,
};

use super::sessions::{sessions_of, SessionRepresentation};
use super::{created, in_field, Admin, ErrorRepresentation, OutcomeRepresentation, Page, Summary};
use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::ids::{RealmName, UserId};
use crate::operations::credentials::{self, PasswordChange};
use crate::operations::users::{self, User, UserRef};
use crate::revocation::cascade::Outcome;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(search)
        .service(count)
        .service(create)
        .service(read)
        .service(update)
        .service(remove)
        .service(reset_password)
        .service(logout)
        .service(sessions)
        .service(lockout)
        .service(clear_lockout)
        .service(clear_all_lockouts);
    stored_credentials::routes(cfg);
}

/// The user `id` of the realm, as the operations name it.
fn by_id(id: String) -> UserRef {
    UserRef::Id(UserId(id))
}

pub async fn search_users(
    state: &Latch,
    realm: String,
    filter: &UserSearch,
) -> Result<Vec<User>, ApiError> {
    let (first, max) = Page {
        first: filter.first,
        max: filter.max,
    }
    .bounds()?;
    Ok(users::search(state, &RealmName(realm), filter.query(), first, max).await?)
}

#[utoipa::path(
    tag = "users",
    operation_id = "searchUsers",
    params(("realm" = String, Path, description = "Realm name"), UserSearch),
    responses(
        (status = 200, body = Vec<UserRepresentation>),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation),
    )
)]
#[get("/{realm}/users")]
async fn search(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<String>,
    query: web::Query<UserSearch>,
) -> Result<web::Json<Vec<UserRepresentation>>, ApiError> {
    let users = search_users(&state, path.into_inner(), &query).await?;
    Ok(web::Json(
        users.iter().map(UserRepresentation::from).collect(),
    ))
}

#[utoipa::path(
    tag = "users",
    operation_id = "countUsers",
    params(("realm" = String, Path, description = "Realm name"), UserSearch),
    responses(
        (status = 200, description = "How many users match", body = i64),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[get("/{realm}/users/count")]
async fn count(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<String>,
    query: web::Query<UserSearch>,
) -> Result<web::Json<i64>, ApiError> {
    let realm = RealmName(path.into_inner());
    Ok(web::Json(
        users::count(&state, &realm, query.query()).await?,
    ))
}

/// Creates a user from Keycloak's representation; a refused first
/// password names the `credentials` field.
pub async fn create_user(
    state: &Latch,
    admin: &Admin,
    realm: String,
    rep: UserRepresentation,
) -> Result<User, ApiError> {
    let new = rep.into_new_user()?;
    // Every other field was checked above: what the operation still
    // refuses is the password.
    users::create(state, &admin.actor, &RealmName(realm), new)
        .await
        .map_err(in_field("credentials"))
}

#[utoipa::path(
    tag = "users",
    operation_id = "createUser",
    params(("realm" = String, Path, description = "Realm name")),
    request_body = UserRepresentation,
    responses(
        (status = 201, description = "Created; Location names the user"),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
        (status = 409, description = "The username is taken", body = ErrorRepresentation),
        (status = 422, body = ErrorRepresentation),
    )
)]
#[post("/{realm}/users")]
async fn create(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<String>,
    body: web::Json<UserRepresentation>,
) -> Result<HttpResponse, ApiError> {
    let realm = path.into_inner();
    let user = create_user(&state, &admin, realm.clone(), body.into_inner()).await?;
    Ok(created(
        format!(
            "{}/admin/realms/{realm}/users/{}",
            state.public_base, user.id
        ),
        None,
    ))
}

pub async fn read_user(state: &Latch, realm: String, id: String) -> Result<User, ApiError> {
    Ok(users::get(state, &RealmName(realm), &by_id(id)).await?)
}

#[utoipa::path(
    tag = "users",
    operation_id = "getUser",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    responses(
        (status = 200, body = UserRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[get("/{realm}/users/{id}")]
async fn read(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<UserRepresentation>, ApiError> {
    let (realm, id) = path.into_inner();
    let (user, attributes) =
        users::get_with_attributes(&state, &RealmName(realm), &by_id(id)).await?;
    let mut rep = UserRepresentation::from(&user);
    rep.attributes = Some(attributes);
    Ok(web::Json(rep))
}

/// Changes a user's profile; `enabled: false` disables them through the
/// cascade (every session and token dies), `true` lets them sign in again.
pub async fn update_user(
    state: &Latch,
    admin: &Admin,
    realm: String,
    id: String,
    rep: UserRepresentation,
) -> Result<(), ApiError> {
    let changes = rep.into_changes()?;
    users::update(state, &admin.actor, &RealmName(realm), &by_id(id), changes)
        .await
        .map_err(in_field("username"))?;
    Ok(())
}

#[utoipa::path(
    tag = "users",
    operation_id = "updateUser",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    request_body = UserRepresentation,
    responses(
        (status = 204, description = "Updated"),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation),
    )
)]
#[put("/{realm}/users/{id}")]
async fn update(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<UserRepresentation>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    update_user(&state, &admin, realm, id, body.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Deletes a user after cutting them off, so no token of theirs survives.
pub async fn delete_user(
    state: &Latch,
    admin: &Admin,
    realm: String,
    id: String,
) -> Result<(), ApiError> {
    Ok(users::delete(state, &admin.actor, &RealmName(realm), &by_id(id)).await?)
}

#[utoipa::path(
    tag = "users",
    operation_id = "deleteUser",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "Deleted; every token of theirs is rejected"),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[delete("/{realm}/users/{id}")]
async fn remove(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    delete_user(&state, &admin, realm, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Sets a user's password: every session and token of theirs dies; a
/// temporary one makes them choose a new password at the next sign-in.
pub async fn set_password(
    state: &Latch,
    admin: &Admin,
    realm: String,
    id: String,
    credential: &CredentialRepresentation,
) -> Result<Outcome, ApiError> {
    let (value, temporary) = credential.password("value")?;
    let set = credentials::set_password(
        state,
        &admin.actor,
        &RealmName(realm),
        &by_id(id),
        value,
        PasswordChange::Reset { temporary },
    )
    .await
    .map_err(in_field("value"))?;
    Ok(set.outcome)
}

#[utoipa::path(
    tag = "users",
    operation_id = "resetPassword",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    request_body = CredentialRepresentation,
    responses(
        (status = 204, description = "Set; the user's sessions and tokens are revoked"),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation), (status = 422, body = ErrorRepresentation),
    )
)]
#[put("/{realm}/users/{id}/reset-password")]
async fn reset_password(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    body: web::Json<CredentialRepresentation>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    set_password(&state, &admin, realm, id, &body).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn logout_user(
    state: &Latch,
    admin: &Admin,
    realm: String,
    id: String,
) -> Result<Outcome, ApiError> {
    Ok(users::logout_all(state, &admin.actor, &RealmName(realm), &by_id(id)).await?)
}

#[utoipa::path(
    tag = "invalidation",
    operation_id = "logoutUser",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id"), Summary),
    responses(
        (status = 204, description = "Every session and token of the user revoked"),
        (status = 200, description = "The same, with `summary=true`: what was taken back", body = OutcomeRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[post("/{realm}/users/{id}/logout")]
async fn logout(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
    summary: web::Query<Summary>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    Ok(summary.answer(logout_user(&state, &admin, realm, id).await?))
}

#[utoipa::path(
    tag = "sessions",
    operation_id = "listUserSessions",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    responses(
        (status = 200, body = Vec<SessionRepresentation>),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[get("/{realm}/users/{id}/sessions")]
async fn sessions(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Vec<SessionRepresentation>>, ApiError> {
    let (realm, id) = path.into_inner();
    Ok(web::Json(sessions_of(&state, realm, Some(id)).await?))
}

pub async fn lockout_of(
    state: &Latch,
    realm: String,
    id: String,
) -> Result<LockoutRepresentation, ApiError> {
    let user = read_user(state, realm, id).await?;
    Ok(LockoutRepresentation::of(user, state.clock.now_ms()))
}

#[utoipa::path(
    tag = "users",
    operation_id = "getLockout",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    responses(
        (status = 200, body = LockoutRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[get("/{realm}/attack-detection/brute-force/users/{id}")]
async fn lockout(
    state: web::Data<Latch>,
    _admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<LockoutRepresentation>, ApiError> {
    let (realm, id) = path.into_inner();
    Ok(web::Json(lockout_of(&state, realm, id).await?))
}

/// Lifts a user's lockout and forgets their failures (`None`: everyone's
/// in the realm).
pub async fn clear_lockouts(
    state: &Latch,
    admin: &Admin,
    realm: String,
    id: Option<String>,
) -> Result<(), ApiError> {
    let who = id.map(by_id);
    Ok(users::clear_lockouts(state, &admin.actor, &RealmName(realm), who).await?)
}

#[utoipa::path(
    tag = "users",
    operation_id = "clearLockout",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    responses(
        (status = 204, description = "The user may sign in again"),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[delete("/{realm}/attack-detection/brute-force/users/{id}")]
async fn clear_lockout(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (realm, id) = path.into_inner();
    clear_lockouts(&state, &admin, realm, Some(id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    tag = "users",
    operation_id = "clearAllLockouts",
    params(("realm" = String, Path, description = "Realm name")),
    responses(
        (status = 204, description = "Every user of the realm may sign in again"),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[delete("/{realm}/attack-detection/brute-force/users")]
async fn clear_all_lockouts(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    clear_lockouts(&state, &admin, path.into_inner(), None).await?;
    Ok(HttpResponse::NoContent().finish())
}
