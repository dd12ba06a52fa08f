//! Setting a password: the one function behind an administrator's reset
//! (admin API, console), user creation with a password, the CLI's
//! `user set-password`, the account page's change and the step that
//! replaces a temporary password at sign-in. One screening — proof, policy,
//! history — runs on the hashing pool for all of them and refuses in the
//! same words; the context decides what the change takes back.

use super::users::{self, User, UserRef};
use super::{read, take_back, Actor};
use crate::app::Latch;
use crate::error::Error;
use crate::ids::{RealmName, Sid, UserId};
use crate::login::policy::{self, PasswordPolicy, Proof, Refusal, Screening};
use crate::revocation::cascade::{Credential, Outcome, SecurityEvent};
use crate::store::users::UPDATE_PASSWORD;
use crate::store::{self, DbConnection};

/// Longer passwords are refused before any hashing (argon2 hashes the
/// whole input).
const MAX_LENGTH: usize = 1024;

/// Who sets the password, which decides what it takes back.
#[derive(Debug, Clone)]
pub enum PasswordChange {
    /// An administrator (admin API, console) or the operator (CLI): every
    /// session and token of the user dies (README, cascade: password
    /// reset); a temporary one makes them choose a new password at the
    /// next sign-in.
    Reset { temporary: bool },
    /// The user on the account page, giving the current password: every
    /// other session of theirs ends, this one (`keep_sid`) stays.
    Own { current: String, keep_sid: Sid },
    /// The user replacing a temporary password at sign-in, before any
    /// session exists: nothing to take back; the step is done.
    RequiredAction,
}

/// A password that was set: the user as they are now, and what the change
/// took back.
#[derive(Debug)]
pub struct PasswordSet {
    pub user: User,
    pub outcome: Outcome,
}

/// Sets `user`'s password in `realm`; a refusal is `Error::Invalid` with
/// the words to show, the same on every path.
pub async fn set_password(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    user: &UserRef,
    password: String,
    change: PasswordChange,
) -> Result<PasswordSet, Error> {
    if let PasswordChange::Own { current, .. } = &change {
        if *current == password {
            return Err(Error::Invalid(
                "The new password must differ from the current one.".into(),
            ));
        }
    }
    let proof = match &change {
        PasswordChange::Reset { .. } => Proof::None,
        PasswordChange::Own { current, .. } => Proof::Knows(current.clone()),
        PasswordChange::RequiredAction => Proof::Differs,
    };
    let who = user.clone();
    let (target, screening) = read(latch, realm, move |conn, realm| {
        let user = users::find(conn, realm, &who)?;
        let screening = screening_for(conn, &realm.password_policy, &user, proof)?;
        Ok((user, screening))
    })
    .await?;
    let hash = screen(latch, screening, password).await?;
    let user_id = UserId(target.id);
    let outcome = store_hash(latch, actor, realm, user_id.clone(), hash, change).await?;
    let user = read(latch, realm, move |conn, realm| {
        users::find(conn, realm, &UserRef::Id(user_id))
    })
    .await?;
    Ok(PasswordSet { user, outcome })
}

/// Screens a new password on the hashing pool and returns its hash: the
/// one check of every path (`set_password`, user creation).
pub(super) async fn screen(
    latch: &Latch,
    screening: Screening,
    password: String,
) -> Result<String, Error> {
    if password.is_empty() {
        return Err(Error::Invalid("password must not be empty".into()));
    }
    if password.len() > MAX_LENGTH {
        return Err(Error::Invalid("the password is too long".into()));
    }
    policy::screen(&latch.password_pool, screening, password)
        .await
        .map_err(|refusal| match refusal {
            Refusal::Policy(words) => Error::Invalid(words),
            Refusal::Busy(busy) => Error::Unavailable(busy.to_string()),
            Refusal::Internal(e) => e,
        })
}

/// What a new password of `user` is checked against, read in the caller's
/// transaction. An unreadable stored policy falls back to the default.
fn screening_for(
    conn: &mut DbConnection,
    policy: &str,
    user: &User,
    proof: Proof,
) -> Result<Screening, Error> {
    let policy = PasswordPolicy::parse(policy).unwrap_or_default();
    let recent = if policy.history > 0 {
        store::passwords::recent(conn, &user.id, policy.history)?
    } else {
        Vec::new()
    };
    Ok(Screening {
        policy,
        username: user.username.clone(),
        current: user.password_hash.clone(),
        recent,
        proof,
    })
}

/// The screening of a user who does not exist yet: the policy alone.
pub(super) fn screening_for_new(policy: &str, username: &str) -> Screening {
    Screening {
        policy: PasswordPolicy::parse(policy).unwrap_or_default(),
        username: username.to_string(),
        current: None,
        recent: Vec::new(),
        proof: Proof::None,
    }
}

/// Stores the hash (the old one joins the history) and takes back what
/// the context says, in one transaction.
async fn store_hash(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    user_id: UserId,
    hash: String,
    change: PasswordChange,
) -> Result<Outcome, Error> {
    match change {
        PasswordChange::Reset { temporary } => {
            take_back(latch, actor, realm, move |conn, _| {
                replace(conn, &user_id, &hash, temporary)?;
                Ok(SecurityEvent::PasswordReset {
                    user_id: user_id.into_string(),
                })
            })
            .await
        }
        PasswordChange::Own { keep_sid, .. } => {
            take_back(latch, actor, realm, move |conn, _| {
                replace(conn, &user_id, &hash, false)?;
                Ok(SecurityEvent::OtherSessionsEnded {
                    user_id: user_id.into_string(),
                    keep_sid: keep_sid.into_string(),
                    credential_changed: Some(Credential::Password),
                })
            })
            .await
        }
        PasswordChange::RequiredAction => {
            // No session exists yet (the step comes before it), so there
            // is nothing to take back and no event to log.
            latch
                .directory
                .store()
                .run(move |conn| store::write(conn, |conn| replace(conn, &user_id, &hash, false)))
                .await?;
            Ok(Outcome::default())
        }
    }
}

/// Replaces the hash (stamped with the database clock) and sets whether
/// the user must choose a new password at the next sign-in.
fn replace(
    conn: &mut DbConnection,
    user_id: &UserId,
    hash: &str,
    temporary: bool,
) -> Result<(), Error> {
    let now = store::meta::database_now_ms(conn)?;
    store::passwords::replace(conn, user_id.as_str(), hash, now)?;
    let Some(user) = store::users::find(conn, user_id.as_str())? else {
        return Err(Error::NotFound(format!("user `{user_id}`")));
    };
    let mut actions: Vec<&str> = user
        .required_actions()
        .into_iter()
        .filter(|a| *a != UPDATE_PASSWORD)
        .collect();
    if temporary {
        actions.push(UPDATE_PASSWORD);
    }
    store::users::set_required_actions(conn, &user.id, &actions)?;
    Ok(())
}
