//! Authorization codes (RFC 6749 §4.1.2): an opaque secret handed to the
//! browser, kept only as its keyed hash, single use, short-lived. Redeeming
//! one is the `authorization_code` grant's work; issuing one is here.

use crate::error::Error;
use crate::store::codes::{self as code_rows, CodeRow};
use crate::store::DbConnection;

/// Codes live 60 seconds (RFC 6749 §4.1.2 recommends at most 10 minutes).
pub const LIFETIME_MS: i64 = 60_000;

/// What a code stands for: who signed in, in which session, at which
/// client, for what — everything the grant checks and carries on.
#[derive(Debug, Clone)]
pub struct CodeGrant {
    pub realm_id: String,
    /// The client's row id (not its public `client_id`).
    pub client_row_id: String,
    pub user_id: String,
    pub session_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    /// An S256 PKCE challenge (RFC 7636 §4.2).
    pub code_challenge: Option<String>,
    /// OIDC Core §2 `auth_time`: when the user last proved who they are.
    pub auth_time_s: i64,
    /// `acr`: "0" the session was reused, "1" a password in this request,
    /// "2" a second factor in this session.
    pub acr: String,
}

/// A new code: the secret for the browser and the hash the database keeps.
pub struct NewCode {
    pub code: String,
    pub hash: String,
}

impl NewCode {
    /// 256 random bits; `hash` is the directory's keyed hash of tokens.
    pub fn generate(hash: impl FnOnce(&str) -> String) -> NewCode {
        let code = crate::crypto::random_token::<32>();
        let hash = hash(&code);
        NewCode { code, hash }
    }
}

/// Stores the code's hash with what it grants, valid for [`LIFETIME_MS`].
pub fn issue(
    conn: &mut DbConnection,
    code_hash: &str,
    grant: CodeGrant,
    now_ms: i64,
) -> Result<(), Error> {
    let row = CodeRow {
        code_hash: code_hash.to_string(),
        realm_id: grant.realm_id,
        client_id: grant.client_row_id,
        user_id: grant.user_id,
        session_id: grant.session_id,
        redirect_uri: grant.redirect_uri,
        scope: grant.scope,
        nonce: grant.nonce,
        code_challenge: grant.code_challenge,
        auth_time_s: grant.auth_time_s,
        created_at_ms: now_ms,
        expires_at_ms: now_ms + LIFETIME_MS,
        used_at_ms: None,
        family_id: None,
        access_jti: None,
        acr: Some(grant.acr),
    };
    code_rows::insert(conn, &row)?;
    Ok(())
}
