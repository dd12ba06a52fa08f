//! Signing in through the browser, for the sign-in pages: the session a
//! cookie stands for, a new session, the user's consent, and the
//! authorization code that hands the sign-in to the client.

use crate::app::Latch;
use crate::directory::{Client, RealmState};
use crate::error::Error;
use crate::login::{consent, second_factor, session};
use crate::revocation::cascade::Actor;
use crate::revocation::reason::EndReason;
use crate::store::credentials as credential_rows;
use crate::store::sessions::{self as session_rows, SessionRow};
use crate::store::users::{self as user_rows, User};
use crate::tokens::codes::{self, CodeGrant, NewCode};
use crate::tokens::Scopes;

/// The live session behind a browser's session cookie, with its user.
pub async fn browser_session(
    latch: &Latch,
    realm: &RealmState,
    cookie: &str,
) -> Result<Option<(SessionRow, User)>, Error> {
    let hash = latch.directory.hash_token(cookie);
    let realm_id = realm.realm.id.clone();
    let now = latch.clock.now_ms();
    latch
        .directory
        .store()
        .run(move |conn| session::find_live(conn, &realm_id, &hash, now))
        .await
}

/// A sign-in that has passed its checks.
pub struct SignIn {
    /// The session cookie this browser had, whose session the new one replaces.
    pub replaces: Option<String>,
    pub origin: session::Origin,
    pub remember_me: bool,
    pub authentication: Authentication,
}

/// How the user proved who they are: the level (`acr`: 1 a password, 2 a
/// second factor too) and the credentials used, which the session
/// records so removing one of them ends it.
#[derive(Debug, Clone)]
pub struct Authentication {
    pub level: i64,
    pub credentials: Vec<String>,
}

impl Authentication {
    /// A password alone.
    pub fn password(user_id: &str) -> Authentication {
        Authentication {
            level: 1,
            credentials: vec![super::second_factor::password_credential_id(user_id)],
        }
    }

    /// A password and then a second factor (the credential used).
    pub fn two_factors(user_id: &str, credential_id: String) -> Authentication {
        let mut first = Authentication::password(user_id);
        first.level = 2;
        first.credentials.push(credential_id);
        first
    }
}

/// A session just started: the value for the browser's cookie (the
/// database keeps only its keyed hash) and the session.
pub struct Started {
    pub cookie: String,
    pub session: SessionRow,
}

/// Starts a session for `user`, ending the one this browser had: one
/// browser, one session (the old one's tokens die with it).
pub async fn start_session(
    latch: &Latch,
    realm: &RealmState,
    user: &User,
    sign_in: SignIn,
) -> Result<Started, Error> {
    let cookie = crate::crypto::random_token::<32>();
    let cookie_hash = latch.directory.hash_token(&cookie);
    let previous = sign_in.replaces.map(|c| latch.directory.hash_token(&c));
    let (realm_row, user, now) = (realm.realm.clone(), user.clone(), latch.clock.now_ms());
    let session = latch
        .directory
        .store()
        .run(move |conn| -> Result<SessionRow, Error> {
            let replaced = match previous {
                Some(hash) => session_rows::find_by_cookie(conn, &hash)?,
                None => None,
            };
            if let Some(old) = replaced {
                let actor = Actor::User {
                    user_id: old.user_id.clone().into(),
                    sid: Some(old.id.clone().into()),
                    ip: None,
                };
                session::end(conn, &realm_row, &old.id, EndReason::Replaced, &actor, now)?;
            }
            let (origin, remember) = (&sign_in.origin, sign_in.remember_me);
            let mut row =
                session::start(conn, &realm_row, &user, &cookie_hash, origin, remember, now)?;
            record_authentication(conn, &mut row, &sign_in.authentication, now)?;
            Ok(row)
        })
        .await?;
    Ok(Started { cookie, session })
}

/// Records on the session how the user authenticated: the level and
/// methods, and each credential used.
fn record_authentication(
    conn: &mut crate::store::DbConnection,
    session: &mut SessionRow,
    authentication: &Authentication,
    now_ms: i64,
) -> Result<(), Error> {
    if authentication.level > session.acr_level {
        let methods = second_factor::methods(authentication.level);
        session_rows::raise_level(
            conn,
            &session.id,
            authentication.level,
            methods,
            now_ms / 1000,
        )?;
        session.acr_level = authentication.level;
        session.amr = methods.to_string();
        session.auth_time_s = now_ms / 1000;
    }
    for credential in &authentication.credentials {
        credential_rows::record_use(conn, &session.id, credential, now_ms)?;
    }
    Ok(())
}

/// A second factor verified for a live session at level 1 (a step-up):
/// the session is at level 2 from now on.
pub async fn step_up(
    latch: &Latch,
    session: &SessionRow,
    credential_id: String,
) -> Result<SessionRow, Error> {
    let mut session = session.clone();
    let authentication = Authentication::two_factors(&session.user_id, credential_id);
    let now = latch.clock.now_ms();
    latch
        .directory
        .store()
        .run(move |conn| {
            crate::store::write(conn, |conn| {
                record_authentication(conn, &mut session, &authentication, now)?;
                Ok::<_, Error>(session)
            })
        })
        .await
}

/// Whether the user must be asked before `client` gets `scopes`: the
/// request demands it (`prompt=consent`), or something the client needs
/// the user's word for was never granted (`login::consent`).
pub async fn needs_consent(
    latch: &Latch,
    user_id: &str,
    client: &Client,
    scopes: &Scopes,
    prompted: bool,
) -> Result<bool, Error> {
    if prompted {
        return Ok(true);
    }
    let Some(wanted) = consent::wanted(client, scopes) else {
        return Ok(false);
    };
    let (user_id, client_row) = (user_id.to_string(), client.id.clone());
    let covered = latch
        .directory
        .store()
        .run(move |conn| consent::covers(conn, &user_id, &client_row, &wanted))
        .await?;
    Ok(!covered)
}

/// Records that the user let `client` have `scopes`.
pub async fn grant_consent(
    latch: &Latch,
    user_id: &str,
    client: &Client,
    scopes: &Scopes,
) -> Result<(), Error> {
    let (user_id, client_row) = (user_id.to_string(), client.id.clone());
    let (scopes, now) = (scopes.clone(), latch.clock.now_ms());
    latch
        .directory
        .store()
        .run(move |conn| consent::grant(conn, &user_id, &client_row, &scopes, now))
        .await
}

/// Issues an authorization code for the signed-in `session` and counts the
/// step as use of the session (its idle timeout starts again). Returns the
/// code for the browser to carry to the client.
pub async fn issue_code(
    latch: &Latch,
    realm: &RealmState,
    session: &SessionRow,
    grant: CodeGrant,
) -> Result<String, Error> {
    let NewCode { code, hash } = NewCode::generate(|c| latch.directory.hash_token(c));
    let now = latch.clock.now_ms();
    let sid = session.id.clone();
    let idle = session::idle_ms(&realm.realm, session.remember_me);
    latch
        .directory
        .store()
        .run(move |conn| -> Result<(), Error> {
            codes::issue(conn, &hash, grant, now)?;
            session_rows::touch(conn, &sid, now, idle)?;
            Ok(())
        })
        .await?;
    Ok(code)
}

/// The user of a sign-in's second step: still there and enabled.
pub async fn user_for_second_step(latch: &Latch, user_id: &str) -> Result<Option<User>, Error> {
    let user_id = user_id.to_string();
    let user = latch
        .directory
        .store()
        .run(move |conn| user_rows::find(conn, &user_id))
        .await?;
    Ok(user.filter(|u| u.enabled))
}

/// The user who is to replace a temporary password: still enabled and
/// still asked to (an administrator may have changed either since).
pub async fn awaiting_new_password(latch: &Latch, user_id: &str) -> Result<Option<User>, Error> {
    let user_id = user_id.to_string();
    let user = latch
        .directory
        .store()
        .run(move |conn| user_rows::find(conn, &user_id))
        .await?;
    Ok(user.filter(|u| u.enabled && u.must_update_password()))
}
