//! What the revocation event stream reads besides the live feed: the log
//! after a client's `Last-Event-ID`, and whether a client took part in a
//! session or held tokens of a user (so it is told only what concerns it).

use crate::app::Latch;
use crate::directory::RealmState;
use crate::error::Error;
use crate::revocation::Event;
use crate::store;

/// The realm's log events with `after < seq <= upto`, oldest first.
pub async fn backlog(
    latch: &Latch,
    realm: &RealmState,
    after: i64,
    upto: i64,
) -> Result<Vec<Event>, Error> {
    let realm_id = realm.realm.id.clone();
    latch
        .directory
        .store()
        .run(move |conn| store::events::of_realm_between(conn, &realm_id, after, upto))
        .await
        .map_err(Error::from)
}

/// Whom an event is about.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    Session(&'a str),
    User(&'a str),
}

/// Whether the client (by row id) received tokens in the session, or for the user.
pub async fn client_took_part(
    latch: &Latch,
    client_row_id: &str,
    subject: Subject<'_>,
) -> Result<bool, Error> {
    let (id, by_user) = match subject {
        Subject::Session(sid) => (sid.to_string(), false),
        Subject::User(user_id) => (user_id.to_string(), true),
    };
    let client = client_row_id.to_string();
    latch
        .directory
        .store()
        .run(move |conn| store::sessions::client_took_part(conn, &client, &id, by_user))
        .await
        .map_err(Error::from)
}
