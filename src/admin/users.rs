//! `/admin/realms/{realm}/users`: search, create, read, update, delete;
//! set a password; log a user out everywhere; their sessions.

use std::collections::BTreeMap;

use actix_web::{delete, get, post, put, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::realms::{find as find_realm, run_event};
use super::sessions::{sessions_of, SessionRepresentation};
use super::{audit, created, in_field, Admin, ErrorRepresentation, OutcomeRepresentation, Page};
use crate::app::Latch;
use crate::directory::users::{self as user_dir, NewUser};
use crate::error::Error;
use crate::http::errors::ApiError;
use crate::ids::{RealmName, UserId};
use crate::operations::credentials::{self, PasswordChange};
use crate::operations::users::UserRef;
use crate::revocation::cascade::SecurityEvent;
use crate::store::realms::Realm;
use crate::store::users::{ProfileChanges, User, UserQuery, UPDATE_PASSWORD};
use crate::store::{self, DbConnection};

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
}

/// A user, with Keycloak's field names.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: Option<bool>,
    /// Milliseconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_timestamp: Option<i64>,
    /// Steps due at the next sign-in, e.g. `UPDATE_PASSWORD`.
    pub required_actions: Option<Vec<String>>,
    /// Only on create: `[{"type": "password", "value": …, "temporary": …}]`.
    #[serde(skip_serializing)]
    pub credentials: Option<Vec<CredentialRepresentation>>,
    /// Free-form attributes (name → values) that attribute mappers put in
    /// tokens; an update replaces them all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, Vec<String>>>,
}

/// Attribute names are 1-255 characters, values at most 2048, at most 100
/// of each.
fn check_attributes(attributes: &Option<BTreeMap<String, Vec<String>>>) -> Result<(), ApiError> {
    let Some(attributes) = attributes else {
        return Ok(());
    };
    let bad = |m: &str| Err(ApiError::invalid_field("attributes", m.to_string()));
    if attributes.len() > 100 {
        return bad("at most 100 attributes");
    }
    for (name, values) in attributes {
        if name.is_empty() || name.len() > 255 {
            return bad("an attribute name is 1-255 characters");
        }
        if values.len() > 100 || values.iter().any(|v| v.len() > 2048) {
            return bad("an attribute has at most 100 values of at most 2048 characters");
        }
    }
    Ok(())
}

impl From<&User> for UserRepresentation {
    fn from(u: &User) -> Self {
        UserRepresentation {
            id: Some(u.id.clone()),
            username: Some(u.username.clone()),
            email: u.email.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            enabled: Some(u.enabled),
            created_timestamp: Some(u.created_at_ms),
            required_actions: Some(
                u.required_actions()
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            ),
            credentials: None,
            attributes: None,
        }
    }
}

/// A password credential.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct CredentialRepresentation {
    /// Only `password` is accepted.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub value: Option<String>,
    /// The user must choose a new password at the next sign-in.
    pub temporary: Option<bool>,
}

impl CredentialRepresentation {
    /// The password and whether it is temporary.
    fn password(&self, field: &'static str) -> Result<(String, bool), ApiError> {
        if self.kind.as_deref().unwrap_or("password") != "password" {
            return Err(ApiError::invalid_field(
                field,
                "only credentials of type `password` are accepted",
            ));
        }
        let value = self
            .value
            .clone()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::invalid_field(field, "the password must not be empty"))?;
        Ok((value, self.temporary.unwrap_or(false)))
    }
}

const REQUIRED_ACTIONS: [&str; 1] = [UPDATE_PASSWORD];

fn check_required_actions(actions: &[String]) -> Result<String, ApiError> {
    for a in actions {
        if !REQUIRED_ACTIONS.contains(&a.as_str()) {
            return Err(ApiError::invalid_field(
                "requiredActions",
                format!("unknown required action `{a}` (known: UPDATE_PASSWORD)"),
            ));
        }
    }
    Ok(actions.join(","))
}

fn check_email(email: &Option<String>) -> Result<(), ApiError> {
    match email {
        Some(e) if !e.is_empty() && (!e.contains('@') || e.len() > 320) => Err(
            ApiError::invalid_field("email", format!("`{e}` is not an email address")),
        ),
        _ => Ok(()),
    }
}

/// The user `id` of the realm (404 for a user of another realm).
pub fn find_user(conn: &mut DbConnection, realm: &Realm, id: &str) -> Result<User, Error> {
    store::users::find(conn, id)?
        .filter(|u| u.realm_id == realm.id)
        .ok_or_else(|| Error::NotFound(format!("user `{id}` in realm `{}`", realm.name)))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UserSearch {
    /// Part of the username (the whole of it with `exact=true`).
    pub username: Option<String>,
    pub email: Option<String>,
    /// Part of the username, email, first or last name.
    pub search: Option<String>,
    pub exact: Option<bool>,
    pub first: Option<i64>,
    pub max: Option<i64>,
}

impl UserSearch {
    fn query(&self) -> UserQuery {
        UserQuery {
            username: self.username.clone(),
            email: self.email.clone(),
            search: self.search.clone().filter(|s| s != "*"),
            exact: self.exact.unwrap_or(false),
        }
    }
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
    let query = filter.query();
    Ok(state
        .directory
        .store()
        .run(move |conn| -> Result<Vec<User>, Error> {
            let realm = find_realm(conn, &realm)?;
            Ok(store::users::search(conn, &realm.id, &query, first, max)?)
        })
        .await?)
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
    let (realm, query) = (path.into_inner(), query.query());
    let n = state
        .directory
        .store()
        .run(move |conn| -> Result<i64, Error> {
            let realm = find_realm(conn, &realm)?;
            Ok(store::users::count(conn, &realm.id, &query)?)
        })
        .await?;
    Ok(web::Json(n))
}

pub async fn create_user(
    state: &Latch,
    admin: &Admin,
    realm: String,
    rep: UserRepresentation,
) -> Result<User, ApiError> {
    let username = rep
        .username
        .clone()
        .filter(|u| !u.trim().is_empty())
        .ok_or_else(|| ApiError::invalid_field("username", "username is required"))?;
    user_dir::normalize_username(&username).map_err(in_field("username"))?;
    check_email(&rep.email)?;
    let (password, temporary) = match rep.credentials.as_deref() {
        None | Some([]) => (None, false),
        Some([one]) => {
            let (p, t) = one.password("credentials")?;
            (Some(p), t)
        }
        Some(_) => {
            return Err(ApiError::invalid_field(
                "credentials",
                "give at most one password credential",
            ))
        }
    };
    let extra_actions = check_required_actions(rep.required_actions.as_deref().unwrap_or(&[]))?;
    check_attributes(&rep.attributes)?;
    let attributes = rep.attributes.clone();
    if let Some(password) = &password {
        let realm_name = realm.clone();
        let policy = state
            .directory
            .store()
            .run(move |conn| find_realm(conn, &realm_name))
            .await?
            .password_policy;
        crate::login::policy::PasswordPolicy::parse(&policy)
            .unwrap_or_default()
            .check(password, &username)
            .map_err(|m| ApiError::invalid_field("credentials", m))?;
    }
    let admin = admin.clone();
    let enabled = rep.enabled.unwrap_or(true);
    let user = state
        .directory
        .store()
        .run(move |conn| -> Result<User, Error> {
            store::write(conn, |conn| {
                let realm = find_realm(conn, &realm)?;
                let user = user_dir::create(
                    conn,
                    &realm,
                    NewUser {
                        username,
                        email: rep.email.filter(|e| !e.is_empty()),
                        first_name: rep.first_name,
                        last_name: rep.last_name,
                        password,
                        temporary,
                        skip_policy: false,
                    },
                )?;
                if let Some(attributes) = &attributes {
                    store::scopes::set_attributes(conn, &user.id, attributes)?;
                }
                if !extra_actions.is_empty() {
                    let mut actions: Vec<&str> = user.required_actions();
                    for a in extra_actions.split(',') {
                        if !actions.contains(&a) {
                            actions.push(a);
                        }
                    }
                    store::users::set_required_actions(conn, &user.id, &actions)?;
                }
                if !enabled {
                    store::users::set_enabled(conn, &user.id, false)?;
                }
                audit(
                    conn,
                    &realm.id,
                    &admin,
                    "admin.user.created",
                    &user.id,
                    None,
                )?;
                Ok(store::users::find(conn, &user.id)?.unwrap_or(user))
            })
        })
        .await
        .map_err(in_field("username"))?;
    Ok(user)
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
    Ok(state
        .directory
        .store()
        .run(move |conn| -> Result<User, Error> {
            let realm = find_realm(conn, &realm)?;
            find_user(conn, &realm, &id)
        })
        .await?)
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
    let user = read_user(&state, realm, id).await?;
    let user_id = user.id.clone();
    let attributes = state
        .directory
        .store()
        .run(move |conn| store::scopes::attributes(conn, &user_id))
        .await?;
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
    check_email(&rep.email)?;
    check_attributes(&rep.attributes)?;
    let required = match &rep.required_actions {
        Some(list) => Some(check_required_actions(list)?),
        None => None,
    };
    let admin_c = admin.clone();
    let (realm_c, id_c) = (realm.clone(), id.clone());
    let current = state
        .directory
        .store()
        .run(move |conn| -> Result<User, Error> {
            store::write(conn, |conn| {
                let realm = find_realm(conn, &realm_c)?;
                let user = find_user(conn, &realm, &id_c)?;
                if let Some(name) = &rep.username {
                    if user_dir::normalize_username(name).ok().as_deref() != Some(&user.username) {
                        return Err(Error::Invalid("usernames cannot be changed".into()));
                    }
                }
                let keep = |v: Option<String>| v.map(|s| Some(s).filter(|s| !s.is_empty()));
                let changes = ProfileChanges {
                    email: keep(rep.email),
                    first_name: keep(rep.first_name),
                    last_name: keep(rep.last_name),
                    required_actions: required,
                };
                store::users::update_profile(conn, &user.id, &changes)?;
                if let Some(attributes) = &rep.attributes {
                    store::scopes::set_attributes(conn, &user.id, attributes)?;
                }
                if rep.enabled == Some(true) && !user.enabled {
                    store::users::set_enabled(conn, &user.id, true)?;
                }
                audit(
                    conn,
                    &realm.id,
                    &admin_c,
                    "admin.user.updated",
                    &user.id,
                    None,
                )?;
                Ok(user)
            })
        })
        .await
        .map_err(in_field("username"))?;
    if rep.enabled == Some(false) && current.enabled {
        run_event(state, admin, realm, move |_, _| {
            Ok(SecurityEvent::UserDisabled { user_id: id })
        })
        .await?;
    }
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
    let admin_c = admin.clone();
    let id_c = id.clone();
    run_event(state, admin, realm, move |conn, realm| {
        let user = find_user(conn, realm, &id_c)?;
        Ok(SecurityEvent::UserDisabled { user_id: user.id })
    })
    .await?;
    state
        .directory
        .store()
        .run(move |conn| -> Result<(), Error> {
            store::write(conn, |conn| {
                let user = store::users::find(conn, &id)?
                    .ok_or_else(|| Error::NotFound(format!("user `{id}`")))?;
                store::users::delete(conn, &user.id)?;
                audit(
                    conn,
                    &user.realm_id,
                    &admin_c,
                    "admin.user.deleted",
                    &user.id,
                    None,
                )?;
                Ok(())
            })
        })
        .await?;
    Ok(())
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
) -> Result<crate::revocation::cascade::Outcome, ApiError> {
    let (value, temporary) = credential.password("value")?;
    let set = credentials::set_password(
        state,
        &admin.actor,
        &RealmName(realm),
        &UserRef::Id(UserId(id)),
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
) -> Result<crate::revocation::cascade::Outcome, ApiError> {
    run_event(state, admin, realm, move |conn, realm| {
        let user = find_user(conn, realm, &id)?;
        Ok(SecurityEvent::UserLogoutAll { user_id: user.id })
    })
    .await
}

#[utoipa::path(
    tag = "invalidation",
    operation_id = "logoutUser",
    params(("realm" = String, Path, description = "Realm name"), ("id" = String, Path, description = "User id")),
    responses(
        (status = 200, description = "Every session and token of the user revoked", body = OutcomeRepresentation),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
        (status = 404, body = ErrorRepresentation),
    )
)]
#[post("/{realm}/users/{id}/logout")]
async fn logout(
    state: web::Data<Latch>,
    admin: Admin,
    path: web::Path<(String, String)>,
) -> Result<web::Json<OutcomeRepresentation>, ApiError> {
    let (realm, id) = path.into_inner();
    Ok(web::Json(
        logout_user(&state, &admin, realm, id).await?.into(),
    ))
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

/// Brute-force state of a user, as Keycloak's attack detection reports it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LockoutRepresentation {
    /// Consecutive failed sign-ins since the last success or lockout.
    pub num_failures: i32,
    /// Locked now: even the right password is refused.
    pub disabled: bool,
    /// Until when (ms since the epoch); 0 when not locked.
    pub locked_until: i64,
    /// Lockouts so far (each doubles the next one's length).
    pub lockouts: i32,
    pub last_failure: i64,
    #[serde(rename = "lastIPFailure")]
    pub last_ip_failure: Option<String>,
}

pub async fn lockout_of(
    state: &Latch,
    realm: String,
    id: String,
) -> Result<LockoutRepresentation, ApiError> {
    let user = read_user(state, realm, id).await?;
    let now = state.clock.now_ms();
    Ok(LockoutRepresentation {
        num_failures: user.failed_logins,
        disabled: user.locked_until_ms > now,
        locked_until: if user.locked_until_ms > now {
            user.locked_until_ms
        } else {
            0
        },
        lockouts: user.lockouts,
        last_failure: user.last_failure_ms,
        last_ip_failure: user.last_failure_ip,
    })
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
    let admin = admin.clone();
    state
        .directory
        .store()
        .run(move |conn| -> Result<(), Error> {
            store::write(conn, |conn| {
                let realm = find_realm(conn, &realm)?;
                match &id {
                    Some(id) => {
                        let user = find_user(conn, &realm, id)?;
                        store::users::clear_failures(conn, &user.id, true)?;
                        audit(
                            conn,
                            &realm.id,
                            &admin,
                            "admin.user.lockout_cleared",
                            &user.id,
                            None,
                        )?;
                    }
                    None => {
                        let query = UserQuery::default();
                        let mut first = 0;
                        loop {
                            let page = store::users::search(conn, &realm.id, &query, first, 500)?;
                            for user in page
                                .iter()
                                .filter(|u| u.failed_logins > 0 || u.locked_until_ms > 0)
                            {
                                store::users::clear_failures(conn, &user.id, true)?;
                            }
                            if page.len() < 500 {
                                break;
                            }
                            first += 500;
                        }
                        audit(
                            conn,
                            &realm.id,
                            &admin,
                            "admin.user.lockout_cleared",
                            "*",
                            None,
                        )?;
                    }
                }
                Ok(())
            })
        })
        .await?;
    Ok(())
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
