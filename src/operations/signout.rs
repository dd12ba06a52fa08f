//! Signing out at the end-session endpoint (RP-Initiated Logout 1.0): the
//! session the ID token hint names and this browser's session end through
//! the cascade, and their clients' front-channel logout URIs are returned
//! for the page to load (Front-Channel Logout 1.0).

use super::Actor;
use crate::app::Latch;
use crate::directory::RealmState;
use crate::error::Error;
use crate::login::session;
use crate::revocation::reason::EndReason;
use crate::store;

/// A client to tell, in the browser, that a session ended.
pub struct FrontChannel {
    pub sid: String,
    /// The client's registered front-channel logout URI.
    pub uri: String,
}

/// Ends the session `hinted` (from a verified ID token hint) and the one
/// behind the browser's `cookie` (when it is of this realm). Each ends in
/// its own transaction; the events are announced once, at the end.
pub async fn sign_out(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmState,
    hinted: Option<String>,
    cookie: Option<String>,
) -> Result<Vec<FrontChannel>, Error> {
    let cookie_hash = cookie.map(|c| latch.directory.hash_token(&c));
    let (realm_row, actor, now) = (realm.realm.clone(), actor.clone(), latch.clock.now_ms());
    let frames = latch
        .directory
        .store()
        .run(move |conn| -> Result<Vec<FrontChannel>, Error> {
            let mut sids: Vec<String> = hinted.into_iter().collect();
            if let Some(hash) = cookie_hash {
                if let Some(s) = store::sessions::find_by_cookie(conn, &hash)? {
                    if s.realm_id == realm_row.id && !sids.contains(&s.id) {
                        sids.push(s.id);
                    }
                }
            }
            let mut frames = Vec::new();
            for sid in sids {
                for (_, uri) in store::clients::frontchannel_of_session(conn, &sid)? {
                    frames.push(FrontChannel {
                        sid: sid.clone(),
                        uri,
                    });
                }
                session::end(conn, &realm_row, &sid, EndReason::Logout, &actor, now)?;
            }
            Ok(frames)
        })
        .await?;
    latch.announce().await?;
    Ok(frames)
}
