//! Users: create, change, enable and disable, delete, log out everywhere,
//! lift a lockout, find and count — for the admin API, the console and the
//! CLI alike.

use std::collections::BTreeMap;

use super::credentials;
use super::{change, read, take_back, Actor, Audit};
use crate::app::Latch;
use crate::directory::users as user_dir;
use crate::error::Error;
use crate::ids::{RealmName, UserId};
use crate::revocation::cascade::{Outcome, SecurityEvent};
use crate::store::realms::Realm;
use crate::store::users::{ProfileChanges, CONFIGURE_TOTP, UPDATE_PASSWORD};
use crate::store::{self, DbConnection};

pub use crate::store::users::{User, UserQuery};

/// Free-form attributes (name → values) that attribute mappers put in tokens.
pub type Attributes = BTreeMap<String, Vec<String>>;

/// The steps a user can be asked to take at the next sign-in.
pub const REQUIRED_ACTIONS: [&str; 2] = [UPDATE_PASSWORD, CONFIGURE_TOTP];

/// How a front door names a user: the admin API and the console by id, the
/// command line by username.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserRef {
    Id(UserId),
    Username(String),
}

/// A user to create.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    /// The address is known to be the user's.
    pub email_verified: bool,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: bool,
    pub required_actions: Vec<String>,
    pub attributes: Option<Attributes>,
    /// The first password, and whether it is temporary (the user then
    /// chooses their own at the next sign-in).
    pub password: Option<(String, bool)>,
}

/// What changes on a user; `None` leaves a field as it is, `Some(None)`
/// clears it.
#[derive(Debug, Clone, Default)]
pub struct UserChanges {
    /// Usernames cannot change: a name given must be the current one.
    pub username: Option<String>,
    pub email: Option<Option<String>>,
    /// Left out while the address changes, a verified address becomes an
    /// unverified one.
    pub email_verified: Option<bool>,
    pub first_name: Option<Option<String>>,
    pub last_name: Option<Option<String>>,
    /// `false` cuts the user off through the cascade; `true` lets them
    /// sign in again.
    pub enabled: Option<bool>,
    pub required_actions: Option<Vec<String>>,
    /// Replaces every attribute.
    pub attributes: Option<Attributes>,
}

/// The user of `realm` named by `who` (not found for a user of another realm).
pub fn find(conn: &mut DbConnection, realm: &Realm, who: &UserRef) -> Result<User, Error> {
    let (found, name) = match who {
        UserRef::Id(id) => {
            let user = store::users::find(conn, id.as_str())?;
            (user.filter(|u| u.realm_id == realm.id), id.to_string())
        }
        UserRef::Username(name) => {
            let name = user_dir::normalize_username(name)?;
            (
                store::users::find_by_username(conn, &realm.id, &name)?,
                name,
            )
        }
    };
    found.ok_or_else(|| Error::NotFound(format!("user `{name}` in realm `{}`", realm.name)))
}

/// Attribute names are 1-255 characters, values at most 2048, at most 100
/// of each.
pub fn check_attributes(attributes: &Attributes) -> Result<(), Error> {
    let bad = |m: &str| Err(Error::Invalid(m.to_string()));
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

/// Only the steps Latch knows can be required.
pub fn check_required_actions(actions: &[String]) -> Result<(), Error> {
    match actions
        .iter()
        .find(|a| !REQUIRED_ACTIONS.contains(&a.as_str()))
    {
        Some(a) => Err(Error::Invalid(format!(
            "unknown required action `{a}` (known: UPDATE_PASSWORD, CONFIGURE_TOTP)"
        ))),
        None => Ok(()),
    }
}

/// An email, when given, is an address.
pub fn check_email(email: Option<&str>) -> Result<(), Error> {
    match email {
        Some(e) if !e.is_empty() && (!e.contains('@') || e.len() > 320) => {
            Err(Error::Invalid(format!("`{e}` is not an email address")))
        }
        _ => Ok(()),
    }
}

/// Creates a user; a first password is screened like every other one
/// (on the hashing pool) before anything is written.
pub async fn create(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    new: NewUser,
) -> Result<User, Error> {
    let username = user_dir::normalize_username(&new.username)?;
    check_email(new.email.as_deref())?;
    check_required_actions(&new.required_actions)?;
    if let Some(attributes) = &new.attributes {
        check_attributes(attributes)?;
    }
    let password = match new.password.clone() {
        Some((value, temporary)) => {
            let policy = read(latch, realm, |_, realm| Ok(realm.password_policy.clone())).await?;
            let screening = credentials::screening_for_new(&policy, &username);
            Some((
                credentials::screen(latch, screening, value).await?,
                temporary,
            ))
        }
        None => None,
    };
    change(latch, actor, realm, move |conn, realm| {
        let user = insert(conn, realm, new, password)?;
        let audit = Audit::new("admin.user.created", user.id.clone());
        Ok((user, audit))
    })
    .await
}

/// Writes a new user with their (already screened) password hash.
fn insert(
    conn: &mut DbConnection,
    realm: &Realm,
    new: NewUser,
    password: Option<(String, bool)>,
) -> Result<User, Error> {
    let user = user_dir::create(
        conn,
        realm,
        user_dir::NewUser {
            username: new.username,
            email: new.email.filter(|e| !e.is_empty()),
            first_name: new.first_name,
            last_name: new.last_name,
            password: None,
            temporary: false,
            skip_policy: false,
        },
    )?;
    let mut actions: Vec<&str> = Vec::new();
    if let Some((hash, temporary)) = &password {
        store::users::set_password_hash(conn, &user.id, hash)?;
        if *temporary {
            actions.push(UPDATE_PASSWORD);
        }
    }
    for a in &new.required_actions {
        if !actions.contains(&a.as_str()) {
            actions.push(a);
        }
    }
    if !actions.is_empty() {
        store::users::set_required_actions(conn, &user.id, &actions)?;
    }
    if let Some(attributes) = &new.attributes {
        store::scopes::set_attributes(conn, &user.id, attributes)?;
    }
    if !new.enabled {
        store::users::set_enabled(conn, &user.id, false)?;
    }
    if new.email_verified {
        let verified = ProfileChanges {
            email_verified: Some(true),
            ..Default::default()
        };
        store::users::update_profile(conn, &user.id, &verified)?;
    }
    Ok(store::users::find(conn, &user.id)?.unwrap_or(user))
}

/// Changes a user's profile; disabling them runs the cascade (every
/// session and token dies: what it took back is returned), enabling lets
/// them sign in again.
pub async fn update(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    who: &UserRef,
    changes: UserChanges,
) -> Result<Outcome, Error> {
    check_email(changes.email.as_ref().and_then(|e| e.as_deref()))?;
    if let Some(attributes) = &changes.attributes {
        check_attributes(attributes)?;
    }
    if let Some(actions) = &changes.required_actions {
        check_required_actions(actions)?;
    }
    let disable = changes.enabled == Some(false);
    let who = who.clone();
    let before = change(latch, actor, realm, move |conn, realm| {
        let user = find(conn, realm, &who)?;
        apply_changes(conn, &user, changes)?;
        let audit = Audit::new("admin.user.updated", user.id.clone());
        Ok((user, audit))
    })
    .await?;
    if !(disable && before.enabled) {
        return Ok(Outcome::default());
    }
    take_back(latch, actor, realm, move |_, _| {
        Ok(SecurityEvent::UserDisabled { user_id: before.id })
    })
    .await
}

fn apply_changes(conn: &mut DbConnection, user: &User, changes: UserChanges) -> Result<(), Error> {
    if let Some(name) = &changes.username {
        if user_dir::normalize_username(name).ok().as_deref() != Some(&user.username) {
            return Err(Error::Invalid("usernames cannot be changed".into()));
        }
    }
    let blank_is_none = |v: Option<Option<String>>| v.map(|s| s.filter(|s| !s.is_empty()));
    let email = blank_is_none(changes.email);
    let email_changed = email.as_ref().is_some_and(|e| *e != user.email);
    let profile = ProfileChanges {
        email,
        first_name: blank_is_none(changes.first_name),
        last_name: blank_is_none(changes.last_name),
        required_actions: changes.required_actions.map(|a| a.join(",")),
        // A new address is not verified until someone says it is.
        email_verified: changes.email_verified.or(email_changed.then_some(false)),
    };
    store::users::update_profile(conn, &user.id, &profile)?;
    if let Some(attributes) = &changes.attributes {
        store::scopes::set_attributes(conn, &user.id, attributes)?;
    }
    if changes.enabled == Some(true) && !user.enabled {
        store::users::set_enabled(conn, &user.id, true)?;
    }
    Ok(())
}

/// Deletes a user after cutting them off, so no token of theirs survives.
pub async fn delete(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    who: &UserRef,
) -> Result<(), Error> {
    let who = who.clone();
    let user_id = read(latch, realm, move |conn, realm| {
        Ok(find(conn, realm, &who)?.id)
    })
    .await?;
    let id = user_id.clone();
    take_back(latch, actor, realm, move |_, _| {
        Ok(SecurityEvent::UserDisabled { user_id: id })
    })
    .await?;
    change(latch, actor, realm, move |conn, realm| {
        let user = find(conn, realm, &UserRef::Id(UserId(user_id)))?;
        store::users::delete(conn, &user.id)?;
        Ok(((), Audit::new("admin.user.deleted", user.id)))
    })
    .await
}

/// Logs the user out everywhere: every session and token of theirs dies.
pub async fn logout_all(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    who: &UserRef,
) -> Result<Outcome, Error> {
    let who = who.clone();
    take_back(latch, actor, realm, move |conn, realm| {
        Ok(SecurityEvent::UserLogoutAll {
            user_id: find(conn, realm, &who)?.id,
        })
    })
    .await
}

/// Lifts a user's lockout and forgets their failures (`None`: everyone's
/// in the realm).
pub async fn clear_lockouts(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    who: Option<UserRef>,
) -> Result<(), Error> {
    change(latch, actor, realm, move |conn, realm| {
        let subject = match &who {
            Some(who) => {
                let user = find(conn, realm, who)?;
                store::users::clear_failures(conn, &user.id, true)?;
                user.id
            }
            None => {
                clear_every_lockout(conn, realm)?;
                "*".to_string()
            }
        };
        Ok(((), Audit::new("admin.user.lockout_cleared", subject)))
    })
    .await
}

fn clear_every_lockout(conn: &mut DbConnection, realm: &Realm) -> Result<(), Error> {
    const PAGE: i64 = 500;
    let query = UserQuery::default();
    let mut first = 0;
    loop {
        let page = store::users::search(conn, &realm.id, &query, first, PAGE)?;
        for user in page
            .iter()
            .filter(|u| u.failed_logins > 0 || u.locked_until_ms > 0)
        {
            store::users::clear_failures(conn, &user.id, true)?;
        }
        if (page.len() as i64) < PAGE {
            return Ok(());
        }
        first += PAGE;
    }
}

/// The user named by `who`.
pub async fn get(latch: &Latch, realm: &RealmName, who: &UserRef) -> Result<User, Error> {
    let who = who.clone();
    read(latch, realm, move |conn, realm| find(conn, realm, &who)).await
}

/// The user named by `who`, with their attributes.
pub async fn get_with_attributes(
    latch: &Latch,
    realm: &RealmName,
    who: &UserRef,
) -> Result<(User, Attributes), Error> {
    let who = who.clone();
    read(latch, realm, move |conn, realm| {
        let user = find(conn, realm, &who)?;
        let attributes = store::scopes::attributes(conn, &user.id)?;
        Ok((user, attributes))
    })
    .await
}

/// The user acting for themselves (`Actor::User`, from their own access
/// token), with their attributes: what Keycloak's account API shows them.
pub async fn own_profile(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
) -> Result<(User, Attributes), Error> {
    let Actor::User { user_id, .. } = actor else {
        return Err(Error::NotFound("the user".into()));
    };
    let (user, attributes) =
        get_with_attributes(latch, realm, &UserRef::Id(user_id.clone())).await?;
    if !user.enabled {
        return Err(Error::NotFound("the user".into()));
    }
    Ok((user, attributes))
}

/// A page of the users matching `query`, by username.
pub async fn search(
    latch: &Latch,
    realm: &RealmName,
    query: UserQuery,
    first: i64,
    max: i64,
) -> Result<Vec<User>, Error> {
    read(latch, realm, move |conn, realm| {
        Ok(store::users::search(conn, &realm.id, &query, first, max)?)
    })
    .await
}

/// How many users match `query`.
pub async fn count(latch: &Latch, realm: &RealmName, query: UserQuery) -> Result<i64, Error> {
    read(latch, realm, move |conn, realm| {
        Ok(store::users::count(conn, &realm.id, &query)?)
    })
    .await
}
