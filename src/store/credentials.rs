//! The `credentials`, `otp_used_steps` and `session_credentials` tables:
//! a user's credentials beside the password, the time steps their codes
//! were accepted in, and which credentials each session's sign-in used.

use diesel::prelude::*;

use super::schema::{credentials, otp_used_steps, session_credentials};
use super::{DbConnection, StoreError};

/// Keycloak's credential types.
pub const OTP: &str = "otp";
pub const RECOVERY_CODES: &str = "recovery-authn-codes";
pub const PASSWORD: &str = "password";

#[derive(Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = credentials)]
pub struct CredentialRow {
    pub id: String,
    pub realm_id: String,
    pub user_id: String,
    /// `otp` or `recovery-authn-codes`.
    pub kind: String,
    pub user_label: Option<String>,
    pub created_ms: i64,
    pub last_used_ms: Option<i64>,
    /// Sealed under the master key; never logged, never returned.
    pub secret_data: Vec<u8>,
    /// Public parameters as JSON (algorithm, digits, period).
    pub credential_data: String,
}

impl std::fmt::Debug for CredentialRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialRow")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

pub fn insert(conn: &mut DbConnection, row: &CredentialRow) -> Result<(), StoreError> {
    diesel::insert_into(credentials::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The user's credentials, oldest first.
pub fn of_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<CredentialRow>, StoreError> {
    Ok(credentials::table
        .filter(credentials::user_id.eq(user_id))
        .order((credentials::created_ms.asc(), credentials::id.asc()))
        .select(CredentialRow::as_select())
        .load(conn)?)
}

/// The user's credentials of one type, oldest first.
pub fn of_user_typed(
    conn: &mut DbConnection,
    user_id: &str,
    kind: &str,
) -> Result<Vec<CredentialRow>, StoreError> {
    Ok(credentials::table
        .filter(credentials::user_id.eq(user_id))
        .filter(credentials::kind.eq(kind))
        .order((credentials::created_ms.asc(), credentials::id.asc()))
        .select(CredentialRow::as_select())
        .load(conn)?)
}

/// One credential of the user (never another user's).
pub fn find(
    conn: &mut DbConnection,
    user_id: &str,
    id: &str,
) -> Result<Option<CredentialRow>, StoreError> {
    Ok(credentials::table
        .find(id)
        .filter(credentials::user_id.eq(user_id))
        .select(CredentialRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn delete(conn: &mut DbConnection, id: &str) -> Result<bool, StoreError> {
    Ok(diesel::delete(credentials::table.find(id)).execute(conn)? > 0)
}

pub fn set_label(conn: &mut DbConnection, id: &str, label: &str) -> Result<bool, StoreError> {
    Ok(diesel::update(credentials::table.find(id))
        .set(credentials::user_label.eq(label))
        .execute(conn)?
        > 0)
}

pub fn set_secret(conn: &mut DbConnection, id: &str, sealed: &[u8]) -> Result<(), StoreError> {
    diesel::update(credentials::table.find(id))
        .set(credentials::secret_data.eq(sealed))
        .execute(conn)?;
    Ok(())
}

/// Replaces the sealed secret only if it is still `old`: false when
/// another request changed it first.
pub fn swap_secret(
    conn: &mut DbConnection,
    id: &str,
    old: &[u8],
    new: &[u8],
) -> Result<bool, StoreError> {
    Ok(diesel::update(
        credentials::table
            .find(id)
            .filter(credentials::secret_data.eq(old)),
    )
    .set(credentials::secret_data.eq(new))
    .execute(conn)?
        == 1)
}

pub fn touch(conn: &mut DbConnection, id: &str, now_ms: i64) -> Result<(), StoreError> {
    diesel::update(credentials::table.find(id))
        .set(credentials::last_used_ms.eq(now_ms))
        .execute(conn)?;
    Ok(())
}

/// Claims a time step of a credential: false when a code of that step was
/// accepted before (on any node: the primary key decides).
pub fn claim_step(
    conn: &mut DbConnection,
    credential_id: &str,
    step: i64,
    now_ms: i64,
) -> Result<bool, StoreError> {
    let inserted = diesel::insert_into(otp_used_steps::table)
        .values((
            otp_used_steps::credential_id.eq(credential_id),
            otp_used_steps::step.eq(step),
            otp_used_steps::used_at_ms.eq(now_ms),
        ))
        .execute(conn);
    match inserted.map_err(StoreError::from) {
        Ok(_) => Ok(true),
        Err(e) if e.is_unique_violation() => Ok(false),
        Err(e) => Err(e),
    }
}

/// How long an accepted step is remembered: past the widest window any
/// OTP policy allows (10 steps of 300 s either side).
pub const STEP_MEMORY_MS: i64 = 2 * 10 * 300 * 1000 + 60_000;

/// Forgets steps accepted before `before_ms` (their codes can no longer
/// be in any window).
pub fn prune_steps(conn: &mut DbConnection, before_ms: i64) -> Result<usize, StoreError> {
    Ok(
        diesel::delete(otp_used_steps::table.filter(otp_used_steps::used_at_ms.lt(before_ms)))
            .execute(conn)?,
    )
}

/// Records that a session's sign-in or step-up used a credential.
pub fn record_use(
    conn: &mut DbConnection,
    session_id: &str,
    credential_id: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    let existing = session_credentials::table
        .find((session_id, credential_id))
        .count()
        .get_result::<i64>(conn)?;
    if existing == 0 {
        diesel::insert_into(session_credentials::table)
            .values((
                session_credentials::session_id.eq(session_id),
                session_credentials::credential_id.eq(credential_id),
                session_credentials::used_at_ms.eq(now_ms),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The live sessions whose sign-in or step-up used a credential.
pub fn live_sessions_using(
    conn: &mut DbConnection,
    credential_id: &str,
    now_ms: i64,
) -> Result<Vec<String>, StoreError> {
    use super::schema::sessions;
    Ok(session_credentials::table
        .inner_join(sessions::table.on(sessions::id.eq(session_credentials::session_id)))
        .filter(session_credentials::credential_id.eq(credential_id))
        .filter(sessions::ended_at_ms.is_null())
        .filter(sessions::expires_at_ms.gt(now_ms))
        .select(session_credentials::session_id)
        .load(conn)?)
}

/// The sessions whose sign-in or step-up used a credential.
pub fn sessions_using(
    conn: &mut DbConnection,
    credential_id: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(session_credentials::table
        .filter(session_credentials::credential_id.eq(credential_id))
        .select(session_credentials::session_id)
        .load(conn)?)
}
