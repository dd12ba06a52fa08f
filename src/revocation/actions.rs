//! What is left of the operators' invalidation actions, which live in
//! `operations` now: the cascade runner `directory::access` still uses.

use super::cascade::{self, Actor, Outcome, SecurityEvent};
use crate::directory::realms;
use crate::error::Error;
use crate::store::realms::Realm;
use crate::store::{self, DbConnection};

/// Runs the event for a realm found by name, in one write transaction.
pub fn run(
    conn: &mut DbConnection,
    realm_name: &str,
    actor: &Actor,
    make: impl FnOnce(&mut DbConnection, &Realm) -> Result<SecurityEvent, Error>,
) -> Result<Outcome, Error> {
    store::write(conn, |conn| {
        let realm = realms::find(conn, realm_name)?;
        let event = make(conn, &realm)?;
        let now = store::meta::database_now_ms(conn)?;
        cascade::apply(conn, &realm, &event, actor, now)
    })
}
