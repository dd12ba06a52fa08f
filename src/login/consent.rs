//! Consent: which scopes a user has let a client have. Asked when the
//! client demands it, when the request does (`prompt=consent`), or when a
//! scope that outlives the session (`offline_access`, OIDC Core §11) was
//! never granted.

use crate::directory::Client;
use crate::error::Error;
use crate::store::consents;
use crate::store::DbConnection;
use crate::tokens::Scopes;

/// What must have been granted before a code is issued without asking;
/// `None` when nothing needs the user's word.
pub fn wanted(client: &Client, requested: &Scopes) -> Option<Scopes> {
    if client.consent_required {
        return Some(requested.clone());
    }
    requested
        .contains("offline_access")
        .then(|| Scopes::parse("offline_access").unwrap_or_default())
}

/// Whether the user already granted the client every scope in `wanted`.
pub fn covers(
    conn: &mut DbConnection,
    user_id: &str,
    client_row_id: &str,
    wanted: &Scopes,
) -> Result<bool, Error> {
    let granted = consents::find(conn, user_id, client_row_id)?
        .and_then(|g| Scopes::parse(&g).ok())
        .unwrap_or_default();
    Ok(wanted.is_subset_of(&granted))
}

/// Records the user's consent to `scopes`, replacing an earlier one.
pub fn grant(
    conn: &mut DbConnection,
    user_id: &str,
    client_row_id: &str,
    scopes: &Scopes,
    now_ms: i64,
) -> Result<(), Error> {
    consents::grant(conn, user_id, client_row_id, &scopes.to_string(), now_ms)?;
    Ok(())
}
