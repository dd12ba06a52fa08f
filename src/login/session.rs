//! Browser sessions. The cookie holds a random secret; the database keeps
//! only its keyed hash, and the session's id (`sid`) — which tokens carry
//! and relying parties see — is a different value, so an ID token can
//! never be turned into a session cookie.

use crate::crypto;
use crate::error::Error;
use crate::revocation::cascade::{self, Actor, SecurityEvent};
use crate::revocation::reason::EndReason;
use crate::store::realms::Realm;
use crate::store::sessions as session_rows;
use crate::store::users::{self as user_rows, User};
use crate::store::{self, DbConnection};

pub use crate::store::sessions::SessionRow;

pub const COOKIE: &str = "LATCH_SESSION";

/// Where a sign-in came from, for the user's list of devices (the web
/// layer reads it from the request: `http::peer::origin`).
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

/// How long a session may go unused: the realm's SSO idle timeout, or for
/// a remembered session its (longer) remember-me lifetime.
pub fn idle_ms(realm: &Realm, remember_me: bool) -> i64 {
    if remember_me {
        realm.remember_me_lifetime_s * 1000
    } else {
        realm.sso_idle_s * 1000
    }
}

/// Starts a session; returns it with the cookie value to set. "Remember
/// me" counts only where the realm offers it.
pub fn start(
    conn: &mut DbConnection,
    realm: &Realm,
    user: &User,
    cookie_hash: &str,
    origin: &Origin,
    remember_me: bool,
    now_ms: i64,
) -> Result<SessionRow, Error> {
    let remember_me = remember_me && realm.remember_me;
    let lifetime_ms = if remember_me {
        realm.remember_me_lifetime_s * 1000
    } else {
        realm.session_lifetime_s * 1000
    };
    let row = SessionRow {
        id: crypto::random_token::<16>(),
        realm_id: realm.id.clone(),
        user_id: user.id.clone(),
        cookie_hash: cookie_hash.to_string(),
        auth_time_s: now_ms / 1000,
        created_at_ms: now_ms,
        last_seen_ms: now_ms,
        expires_at_ms: now_ms + lifetime_ms,
        user_agent: origin
            .user_agent
            .as_ref()
            .map(|ua| ua.chars().take(512).collect()),
        ip: origin.ip.clone(),
        ended_at_ms: None,
        end_reason: None,
        remember_me,
        idle_until_ms: now_ms + idle_ms(realm, remember_me),
        acr_level: 1,
        amr: "pwd".into(),
    };
    session_rows::insert(conn, &row)?;
    Ok(row)
}

/// A session is live while it has not ended or expired and its user is
/// enabled and has not been cut off since it started.
pub fn is_live(session: &SessionRow, user: &User, now_ms: i64) -> bool {
    session.ended_at_ms.is_none()
        && session.expires_at_ms > now_ms
        && session.idle_until_ms > now_ms
        && user.enabled
        && user.survives_cut_off(session.created_at_ms)
}

/// The live session behind a cookie, with its user.
pub fn find_live(
    conn: &mut DbConnection,
    realm_id: &str,
    cookie_hash: &str,
    now_ms: i64,
) -> Result<Option<(SessionRow, User)>, Error> {
    let Some(session) = session_rows::find_by_cookie(conn, cookie_hash)? else {
        return Ok(None);
    };
    if session.realm_id != realm_id {
        return Ok(None);
    }
    let Some(user) = user_rows::find(conn, &session.user_id)? else {
        return Ok(None);
    };
    Ok(is_live(&session, &user, now_ms).then_some((session, user)))
}

/// Ends a session through the cascade: every token carrying its sid and
/// its online refresh families die; offline families outlive it by design
/// (OIDC Core §11).
pub fn end(
    conn: &mut DbConnection,
    realm: &Realm,
    sid: &str,
    reason: EndReason,
    actor: &Actor,
    now_ms: i64,
) -> Result<bool, Error> {
    let event = SecurityEvent::SessionEnded {
        sid: sid.to_string(),
        reason,
    };
    store::write(conn, |conn| {
        Ok(cascade::apply(conn, realm, &event, actor, now_ms)?.sessions_ended > 0)
    })
}
