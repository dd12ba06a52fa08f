//! The `realms` table.

use diesel::prelude::*;

use super::schema::realms;
use super::{DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = realms)]
pub struct Realm {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub access_token_lifetime_s: i64,
    pub id_token_lifetime_s: i64,
    pub refresh_token_lifetime_s: i64,
    pub offline_token_lifetime_s: i64,
    pub session_lifetime_s: i64,
    pub refresh_grace_ms: i64,
    pub key_rotation_interval_s: i64,
    pub not_before_ms: i64,
    pub created_at_ms: i64,
    pub key_stage_s: i64,
    /// Keycloak's syntax: `length(8) and notUsername and notCommon`.
    pub password_policy: String,
    /// A browser session ends after this long without use.
    pub sso_idle_s: i64,
    /// Whether the login page offers "remember me".
    pub remember_me: bool,
    /// A remembered session's lifetime and idle timeout.
    pub remember_me_lifetime_s: i64,
    /// An offline refresh family dies after this long without use.
    pub offline_idle_s: i64,
    /// Whether the built-in client scopes were created for this realm.
    pub scopes_seeded: bool,
    /// Keycloak's OTP policy: `HmacSHA1`, `HmacSHA256` or `HmacSHA512`.
    pub otp_policy_algorithm: String,
    /// 6 or 8.
    pub otp_policy_digits: i64,
    /// Seconds per time step.
    pub otp_policy_period: i64,
    /// Steps accepted either side of the current one.
    pub otp_policy_look_ahead: i64,
    /// `off`, `optional` (users who have one are asked) or `required`.
    pub second_factor: String,
}

pub fn insert(conn: &mut DbConnection, realm: &Realm) -> Result<(), StoreError> {
    diesel::insert_into(realms::table)
        .values(realm)
        .execute(conn)?;
    Ok(())
}

pub fn find_by_name(conn: &mut DbConnection, name: &str) -> Result<Option<Realm>, StoreError> {
    Ok(realms::table
        .filter(realms::name.eq(name))
        .select(Realm::as_select())
        .first(conn)
        .optional()?)
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<Realm>, StoreError> {
    Ok(realms::table
        .find(id)
        .select(Realm::as_select())
        .first(conn)
        .optional()?)
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Realm>, StoreError> {
    Ok(realms::table
        .order(realms::name.asc())
        .select(Realm::as_select())
        .load(conn)?)
}

pub fn set_not_before(
    conn: &mut DbConnection,
    id: &str,
    not_before_ms: i64,
) -> Result<(), StoreError> {
    diesel::update(realms::table.find(id))
        .set(realms::not_before_ms.eq(not_before_ms))
        .execute(conn)?;
    Ok(())
}

/// Realm settings an operator may change; `None` leaves one as it is.
#[derive(Debug, Default, Clone, AsChangeset)]
#[diesel(table_name = realms)]
pub struct RealmChanges {
    pub access_token_lifetime_s: Option<i64>,
    pub id_token_lifetime_s: Option<i64>,
    pub refresh_token_lifetime_s: Option<i64>,
    pub offline_token_lifetime_s: Option<i64>,
    pub session_lifetime_s: Option<i64>,
    pub refresh_grace_ms: Option<i64>,
    pub key_rotation_interval_s: Option<i64>,
    pub key_stage_s: Option<i64>,
    pub password_policy: Option<String>,
    pub sso_idle_s: Option<i64>,
    pub remember_me: Option<bool>,
    pub remember_me_lifetime_s: Option<i64>,
    pub offline_idle_s: Option<i64>,
    pub scopes_seeded: Option<bool>,
    pub otp_policy_algorithm: Option<String>,
    pub otp_policy_digits: Option<i64>,
    pub otp_policy_period: Option<i64>,
    pub otp_policy_look_ahead: Option<i64>,
    pub second_factor: Option<String>,
}

pub fn update(conn: &mut DbConnection, id: &str, changes: &RealmChanges) -> Result<(), StoreError> {
    super::updated(
        diesel::update(realms::table.find(id))
            .set(changes)
            .execute(conn),
    )
}

/// Deletes a realm and everything in it (foreign keys cascade); the
/// revocation log and the audit trail keep their rows.
pub fn delete(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    use super::schema::status_list_slots;
    diesel::delete(status_list_slots::table.filter(status_list_slots::realm_id.eq(id)))
        .execute(conn)?;
    Ok(diesel::delete(realms::table.find(id)).execute(conn)? > 0)
}
