//! What readiness (`/health/ready`) asks of the database.

use crate::app::Latch;
use crate::error::Error;

/// The newest sequence number in the revocation log: the database answers,
/// and how far this node's index lags behind it.
pub async fn log_seq(latch: &Latch) -> Result<i64, Error> {
    Ok(latch
        .directory
        .store()
        .run(crate::store::events::last_seq)
        .await?)
}
