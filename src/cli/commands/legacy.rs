//! Commands whose use-case has no operation with the answer the command
//! prints yet: they run on the store directly, in one transaction, and
//! announce what they logged like every operation does.

use super::run;
use crate::config::Settings;
use crate::crypto::MasterKey;
use crate::error::Error;
use crate::setup::StartError;
use crate::store::DbConnection;

/// Runs `work` on a connection of the command's handle, then applies and
/// publishes the events it logged.
fn on_connection<T: Send + 'static>(
    settings: &Settings,
    work: impl FnOnce(&mut DbConnection, &MasterKey) -> Result<T, Error> + Send + 'static,
) -> Result<T, StartError> {
    run(settings, |latch| {
        Box::pin(async move {
            let master = latch.directory.master().clone();
            let value = latch
                .directory
                .store()
                .run(move |conn| work(conn, &master))
                .await?;
            latch.announce().await?;
            Ok(value)
        })
    })
}

/// `latch group grant-role --client`: the operations grant a group realm
/// roles only.
pub(super) fn group_grant_client_role(
    settings: &Settings,
    realm: String,
    path: String,
    role: String,
    client: String,
) -> Result<(), StartError> {
    let said = format!("{path} grants {role}");
    on_connection(settings, move |conn, _| {
        crate::directory::access::group_grant_role(conn, &realm, &path, &role, Some(&client))
    })?;
    println!("{said}");
    Ok(())
}
