//! Checking a username and password: the one path the login form and the
//! password grant share, so every defence here covers both.
//!
//! Defences, in order: a client IP that has failed too often (across
//! users: password spraying) is throttled before any work; a locked
//! account is refused even with the right password, after the same hashing
//! work and with the same answer as a wrong password, so an attacker
//! learns nothing; failures are counted per user in the database (shared
//! by every node) and lock the account for a while that doubles with each
//! lockout.

use crate::directory::{users::normalize_username, Directory, RealmState};
use crate::error::Error;
use crate::limits::{Defences, RetryAfter};
use crate::login::password;
use crate::login::password_pool::{Busy, PasswordPool};
use crate::store::audit::NewAudit;
use crate::store::{self, users::User};

/// Why a check could not be made (a wrong password is not one of these).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Busy(#[from] Busy),
    #[error(transparent)]
    Internal(#[from] Error),
}

/// What the check decided.
#[derive(Debug)]
pub enum Verdict {
    Accepted(Box<User>),
    /// A wrong username or password, a disabled or a locked account —
    /// never told apart.
    Refused,
    /// This IP failed too often; try again later.
    Throttled(RetryAfter),
}

/// What a check needs.
pub struct Checker<'a> {
    pub pool: &'a PasswordPool,
    pub directory: &'a Directory,
    pub defences: &'a Defences,
    pub now_ms: i64,
}

impl Checker<'_> {
    pub async fn check(
        &self,
        realm: &RealmState,
        username: &str,
        presented: String,
        ip: Option<&str>,
    ) -> Result<Verdict, CheckError> {
        let ip_key = ("login", ip.unwrap_or("-").to_string());
        if let Some(wait) = self.defences.login_failures.exhausted(&ip_key, self.now_ms) {
            return Ok(Verdict::Throttled(wait));
        }
        let slot = self.pool.reserve()?;
        let realm_id = realm.realm.id.clone();
        let name = normalize_username(username).unwrap_or_default();
        let user = self
            .directory
            .store()
            .run(move |conn| store::users::find_by_username(conn, &realm_id, &name))
            .await
            .map_err(Error::Store)?;
        let locked = user
            .as_ref()
            .is_some_and(|u| u.locked_until_ms > self.now_ms);
        let stored = user
            .as_ref()
            .filter(|_| !locked)
            .and_then(|u| u.password_hash.clone());
        let needs_upgrade = stored.as_deref().is_some_and(password::needs_upgrade);
        let presented_again = needs_upgrade.then(|| presented.clone());
        let matches = slot.verify(presented, stored).await?;
        match user {
            Some(user) if matches && user.enabled => {
                self.upgrade_hash(&user, &presented_again).await;
                // With a second factor still to come, the failures are
                // cleared only once it is verified: else the right password
                // between guesses would reset the count of wrong codes.
                let factor_follows =
                    super::second_factor::asked_of(self.directory, realm, &user.id).await?;
                if user.failed_logins > 0 && !factor_follows {
                    let id = user.id.clone();
                    self.directory
                        .store()
                        .run(move |conn| store::users::clear_failures(conn, &id, false))
                        .await
                        .map_err(Error::Store)?;
                }
                Ok(Verdict::Accepted(Box::new(user)))
            }
            Some(user) if !locked && user.enabled => {
                self.defences.login_failures.spend(&ip_key, self.now_ms);
                self.record_failure(user, ip).await?;
                Ok(Verdict::Refused)
            }
            _ => {
                self.defences.login_failures.spend(&ip_key, self.now_ms);
                Ok(Verdict::Refused)
            }
        }
    }

    /// A hash imported from Keycloak (PBKDF2) is replaced by argon2id once
    /// the password is known to be right. A failure only logs: the sign-in
    /// itself succeeded.
    async fn upgrade_hash(&self, user: &User, presented: &Option<String>) {
        let Some(presented) = presented.clone() else {
            return;
        };
        let hashed = match self.pool.reserve() {
            Ok(slot) => slot.run(move || password::hash(&presented)).await,
            Err(busy) => Err(busy),
        };
        let Ok(Ok(hash)) = hashed else {
            tracing::warn!(user = %user.id, "could not upgrade an imported password hash now");
            return;
        };
        let id = user.id.clone();
        let result = self
            .directory
            .store()
            .run(move |conn| store::users::set_password_hash(conn, &id, &hash))
            .await;
        match result {
            Ok(()) => {
                tracing::info!(user = %user.id, "imported password hash upgraded to argon2id")
            }
            Err(e) => {
                tracing::warn!(user = %user.id, error = %e, "could not store the upgraded hash")
            }
        }
    }

    /// Counts a failure (a wrong password or second factor) for the user
    /// and the IP; the threshold'th locks the account.
    pub async fn count_failure(&self, user: User, ip: Option<&str>) -> Result<(), Error> {
        let ip_key = ("login", ip.unwrap_or("-").to_string());
        self.defences.login_failures.spend(&ip_key, self.now_ms);
        self.record_failure(user, ip).await
    }

    /// Whether the IP failed too often to try again now.
    pub fn throttled(&self, ip: Option<&str>) -> Option<RetryAfter> {
        let ip_key = ("login", ip.unwrap_or("-").to_string());
        self.defences.login_failures.exhausted(&ip_key, self.now_ms)
    }

    /// A second factor was verified: the failures counted so far are forgiven.
    pub async fn clear_failures(&self, user: &User) -> Result<(), Error> {
        if user.failed_logins == 0 {
            return Ok(());
        }
        let id = user.id.clone();
        self.directory
            .store()
            .run(move |conn| store::users::clear_failures(conn, &id, false))
            .await
            .map_err(Error::Store)
    }

    /// Counts a failure; the threshold'th locks the account.
    async fn record_failure(&self, user: User, ip: Option<&str>) -> Result<(), Error> {
        let policy = self.defences.lockout;
        let (now, ip) = (self.now_ms, ip.map(str::to_string));
        let id = user.id.clone();
        self.directory
            .store()
            .run(move |conn| -> Result<(), Error> {
                store::write(conn, |conn| {
                    // Read again inside the transaction: concurrent failures all count.
                    let Some(user) = store::users::find(conn, &id)? else {
                        return Ok(());
                    };
                    let failures = user.failed_logins + 1;
                    let locks = policy.threshold > 0 && failures as u32 >= policy.threshold;
                    let (failures, lockouts, until) = if locks {
                        let lockouts = user.lockouts + 1;
                        (0, lockouts, now + policy.lockout_ms(lockouts))
                    } else {
                        (failures, user.lockouts, user.locked_until_ms)
                    };
                    store::users::record_failure(conn, &id, failures, lockouts, until, now, ip.as_deref())?;
                    if locks {
                        store::audit::insert_many(
                            conn,
                            &[NewAudit {
                                realm_id: user.realm_id.clone(),
                                at_ms: now,
                                actor: "system".into(),
                                kind: "user.locked_out".into(),
                                subject: user.id.clone(),
                                ip: ip.clone(),
                                detail: Some(
                                    serde_json::json!({
                                        "locked_until": until,
                                        "lockouts": lockouts,
                                        "failures": policy.threshold,
                                    })
                                    .to_string(),
                                ),
                            }],
                        )?;
                        tracing::warn!(user = %user.id, until, "account locked after repeated failed sign-ins");
                    }
                    Ok(())
                })
            })
            .await
    }
}
