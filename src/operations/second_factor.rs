//! Second factors: enrolling an authenticator app (TOTP, RFC 6238), the
//! code asked after the password, and the user's credentials as the admin
//! API and the account page list them. The sign-in pages, the account page,
//! the admin API and the CLI call these; the checks live in
//! `login::second_factor` and `login::totp`.

use serde::{Deserialize, Serialize};

use super::users::{self, UserRef};
use super::{change, read, take_back, Actor, Audit};
use crate::app::Latch;
use crate::directory::RealmState;
use crate::error::Error;
use crate::ids::RealmName;
use crate::login::second_factor::{self as factor, CodeVerdict, SECRET_PURPOSE};
use crate::login::totp::{self, OtpParams};
use crate::revocation::cascade::{CredentialChange, Outcome, SecurityEvent};
use crate::store::credentials::{self as rows, CredentialRow, OTP, RECOVERY_CODES};
use crate::store::sessions::SessionRow;
use crate::store::users::{User, CONFIGURE_RECOVERY_CODES, CONFIGURE_TOTP};
use crate::store::DbConnection;

/// How long an enrolment page stays valid.
pub const ENROLMENT_LIFETIME_MS: i64 = 10 * 60 * 1000;

/// A secret offered to the user, not yet saved: it travels sealed in the
/// enrolment form, bound to the user and the realm.
#[derive(Clone, Serialize, Deserialize)]
pub struct PendingTotp {
    pub user_id: String,
    pub secret: Vec<u8>,
    pub params: OtpParams,
    pub expires_at_ms: i64,
}

/// What the enrolment page shows.
pub struct Enrolment {
    pub pending: PendingTotp,
    /// `otpauth://totp/…`, for the QR code and for copying.
    pub uri: String,
    /// The secret in base32, for typing into an app.
    pub secret_text: String,
    /// The QR code of `uri`, as SVG.
    pub qr_svg: String,
}

/// A new secret under the realm's OTP policy, for `user`.
pub fn new_enrolment(latch: &Latch, realm: &RealmState, user: &User) -> Enrolment {
    let pending = PendingTotp {
        user_id: user.id.clone(),
        secret: totp::new_secret(),
        params: OtpParams::of(&realm.realm),
        expires_at_ms: latch.clock.now_ms() + ENROLMENT_LIFETIME_MS,
    };
    enrolment_of(realm, user, pending)
}

/// The page's view of a pending secret (shown again after a wrong code).
pub fn enrolment_of(realm: &RealmState, user: &User, pending: PendingTotp) -> Enrolment {
    let uri = totp::otpauth_uri(
        &pending.secret,
        &pending.params,
        &realm.realm.name,
        &user.username,
    );
    Enrolment {
        secret_text: totp::base32(&pending.secret),
        qr_svg: totp::qr_svg(&uri).unwrap_or_default(),
        uri,
        pending,
    }
}

/// An authenticator app to save: the secret shown, and a code from it.
pub struct EnrolTotp {
    pub realm: RealmName,
    pub pending: PendingTotp,
    pub code: String,
    pub label: Option<String>,
}

/// Saves an authenticator app once a code from it proves the user set it
/// up; the code's step is used up. The required action `CONFIGURE_TOTP`
/// is then done. A wrong code is `Error::Invalid`.
pub async fn enrol_totp(latch: &Latch, actor: &Actor, input: EnrolTotp) -> Result<String, Error> {
    let now = latch.clock.now_ms();
    if input.pending.expires_at_ms <= now {
        return Err(Error::Invalid("This page has expired. Start again.".into()));
    }
    input.pending.params.check().map_err(Error::Invalid)?;
    let totp::Shape::Code(code) = totp::shape(&input.code, input.pending.params.digits) else {
        return Err(Error::Invalid(format!(
            "Enter the {}-digit code your app shows.",
            input.pending.params.digits
        )));
    };
    let label = input
        .label
        .map(|l| l.trim().chars().take(100).collect::<String>());
    let master = latch.directory.master().clone();
    change(latch, actor, &input.realm, move |conn, realm| {
        let user = users::find(
            conn,
            realm,
            &UserRef::Id(input.pending.user_id.clone().into()),
        )?;
        let look_ahead = realm.otp_policy_look_ahead.clamp(0, 10);
        let pending = &input.pending;
        let step = totp::matching_step(
            &pending.secret,
            &pending.params,
            &code,
            now / 1000,
            look_ahead,
        )
        .ok_or_else(|| Error::Invalid("That code is not right. Try the current one.".into()))?;
        let id = crate::crypto::random_id();
        let row = CredentialRow {
            id: id.clone(),
            realm_id: realm.id.clone(),
            user_id: user.id.clone(),
            kind: OTP.into(),
            user_label: label.filter(|l| !l.is_empty()),
            created_ms: now,
            last_used_ms: None,
            secret_data: master.seal(SECRET_PURPOSE, id.as_bytes(), &pending.secret),
            credential_data: serde_json::to_string(&pending.params).unwrap_or_default(),
        };
        rows::insert(conn, &row)?;
        rows::claim_step(conn, &id, step, now)?;
        let remaining: Vec<&str> = user
            .required_actions()
            .into_iter()
            .filter(|a| *a != CONFIGURE_TOTP)
            .collect();
        crate::store::users::set_required_actions(conn, &user.id, &remaining)?;
        let audit = Audit::new("credential.created", user.id.clone())
            .with(serde_json::json!({ "type": OTP, "credential": id }));
        Ok((id, audit))
    })
    .await
}

/// A code presented after the password: accepted (its credential is
/// returned) or refused. Wrong and replayed codes count toward the same
/// lockout as wrong passwords; a locked account is refused; a database
/// that cannot be reached refuses (the error).
pub async fn verify_sign_in_code(
    latch: &Latch,
    realm: &RealmState,
    user: &User,
    code: String,
    ip: Option<&str>,
) -> Result<SignInCode, Error> {
    let checker = latch.checker();
    if let Some(wait) = checker.throttled(ip) {
        return Ok(SignInCode::Throttled(wait.0));
    }
    let (master, realm_row, user_id) = (
        latch.directory.master().clone(),
        realm.realm.clone(),
        user.id.clone(),
    );
    let now = latch.clock.now_ms();
    let (fresh, verdict) = latch
        .directory
        .store()
        .run(move |conn| -> Result<(Option<User>, CodeVerdict), Error> {
            let fresh = crate::store::users::find(conn, &user_id)?;
            let usable = fresh
                .as_ref()
                .is_some_and(|u| u.enabled && u.locked_until_ms <= now);
            if !usable {
                return Ok((fresh, CodeVerdict::Refused));
            }
            let verdict = factor::verify_code(conn, &master, &realm_row, &user_id, &code, now)?;
            Ok((fresh, verdict))
        })
        .await?;
    let Some(fresh) = fresh else {
        return Ok(SignInCode::Refused);
    };
    match verdict {
        CodeVerdict::Accepted {
            credential_id,
            recovery,
        } => {
            checker.clear_failures(&fresh).await?;
            if recovery {
                recovery_code_spent(latch, realm, &fresh, &credential_id, ip).await?;
            }
            Ok(SignInCode::Accepted { credential_id })
        }
        CodeVerdict::Malformed => Ok(SignInCode::Malformed),
        CodeVerdict::Refused => {
            if fresh.enabled && fresh.locked_until_ms <= now {
                checker.count_failure(fresh, ip).await?;
            }
            Ok(SignInCode::Refused)
        }
    }
}

/// What became of a code at sign-in.
#[derive(Debug, PartialEq, Eq)]
pub enum SignInCode {
    Accepted {
        credential_id: String,
    },
    /// Not a code (letters, the wrong length).
    Malformed,
    /// Wrong, used before, or the account is locked — never told apart.
    Refused,
    /// This IP failed too often; seconds to wait.
    Throttled(u64),
}

/// Whether the user must be asked for a code after the password, or must
/// set up an app first (`CONFIGURE_TOTP`, or the realm requires one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterPassword {
    Done,
    AskCode,
    Enrol,
}

/// What follows a correct password for `user`.
pub async fn after_password(
    latch: &Latch,
    realm: &RealmState,
    user: &User,
) -> Result<AfterPassword, Error> {
    let requirement = factor::Requirement::of(&realm.realm);
    let user_id = user.id.clone();
    let has = latch
        .directory
        .store()
        .run(move |conn| factor::has_otp(conn, &user_id))
        .await?;
    Ok(match requirement {
        _ if user.must_configure_totp() && !has => AfterPassword::Enrol,
        factor::Requirement::Off => AfterPassword::Done,
        _ if has => AfterPassword::AskCode,
        factor::Requirement::Required => AfterPassword::Enrol,
        factor::Requirement::Optional => AfterPassword::Done,
    })
}

/// A credential as lists show it (never its secret).
#[derive(Debug, Clone, Serialize)]
pub struct CredentialView {
    pub id: String,
    pub kind: String,
    pub user_label: Option<String>,
    pub created_ms: i64,
    pub last_used_ms: Option<i64>,
    /// Public parameters (Keycloak's `credentialData`).
    pub credential_data: String,
}

/// The id under which the password appears among a user's credentials.
pub fn password_credential_id(user_id: &str) -> String {
    format!("password-{user_id}")
}

/// The user's credentials: the password first (when set), then the others.
pub fn list_in(conn: &mut DbConnection, user: &User) -> Result<Vec<CredentialView>, Error> {
    let mut list = Vec::new();
    if user.password_hash.is_some() {
        list.push(CredentialView {
            id: password_credential_id(&user.id),
            kind: rows::PASSWORD.into(),
            user_label: None,
            created_ms: crate::store::passwords::last_set_ms(conn, &user.id)?
                .unwrap_or(user.created_at_ms),
            last_used_ms: None,
            credential_data: r#"{"hashIterations":2,"algorithm":"argon2"}"#.into(),
        });
    }
    for row in rows::of_user(conn, &user.id)? {
        list.push(CredentialView {
            id: row.id,
            kind: row.kind,
            user_label: row.user_label,
            created_ms: row.created_ms,
            last_used_ms: row.last_used_ms,
            credential_data: row.credential_data,
        });
    }
    Ok(list)
}

/// `user`'s credentials in `realm`.
pub async fn list(
    latch: &Latch,
    realm: &RealmName,
    user: &UserRef,
) -> Result<Vec<CredentialView>, Error> {
    let who = user.clone();
    read(latch, realm, move |conn, realm| {
        let user = users::find(conn, realm, &who)?;
        list_in(conn, &user)
    })
    .await
}

/// The cascade's word for removing credentials of this type.
fn removal(kind: &str) -> CredentialChange {
    if kind == RECOVERY_CODES {
        CredentialChange::RECOVERY_CODES_REMOVED
    } else {
        CredentialChange::OTP_REMOVED
    }
}

/// Removes one of `user`'s credentials beside the password; the sessions
/// whose sign-in or step-up used it end (README, cascade). The password
/// itself is not removed here (it is set, `credentials::set_password`).
pub async fn remove(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    user: &UserRef,
    credential_id: &str,
) -> Result<Outcome, Error> {
    let (who, id) = (user.clone(), credential_id.to_string());
    take_back(latch, actor, realm, move |conn, realm| {
        let user = users::find(conn, realm, &who)?;
        if id == password_credential_id(&user.id) {
            return Err(Error::Invalid(
                "the password cannot be removed; set a new one instead".into(),
            ));
        }
        let row = rows::find(conn, &user.id, &id)?
            .ok_or_else(|| Error::NotFound(format!("credential `{id}` of this user")))?;
        rows::delete(conn, &row.id)?;
        Ok(SecurityEvent::CredentialsWithdrawn {
            user_id: user.id,
            credential_ids: vec![row.id],
            change: removal(&row.kind),
            keep_sid: None,
        })
    })
    .await
}

/// Renames one of `user`'s credentials (Keycloak's `userLabel`).
pub async fn rename(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    user: &UserRef,
    credential_id: &str,
    label: &str,
) -> Result<(), Error> {
    let label: String = label.trim().chars().take(255).collect();
    let (who, id) = (user.clone(), credential_id.to_string());
    change(latch, actor, realm, move |conn, realm| {
        let user = users::find(conn, realm, &who)?;
        if id == password_credential_id(&user.id) {
            return Err(Error::Invalid("the password has no label".into()));
        }
        let row = rows::find(conn, &user.id, &id)?
            .ok_or_else(|| Error::NotFound(format!("credential `{id}` of this user")))?;
        rows::set_label(conn, &row.id, &label)?;
        let audit = Audit::new("credential.renamed", user.id)
            .with(serde_json::json!({ "credential": row.id, "type": row.kind }));
        Ok(((), audit))
    })
    .await
}

/// Removes every second factor of `user` (authenticator apps, recovery
/// codes); the sessions that used one end. The realm may then ask for a
/// new one at the next sign-in. Returns how many were removed.
pub async fn reset(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmName,
    user: &UserRef,
) -> Result<(usize, Outcome), Error> {
    let who = user.clone();
    let removed = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = removed.clone();
    let outcome = take_back(latch, actor, realm, move |conn, realm| {
        let user = users::find(conn, realm, &who)?;
        let rows = rows::of_user(conn, &user.id)?;
        for row in &rows {
            rows::delete(conn, &row.id)?;
        }
        count.store(rows.len(), std::sync::atomic::Ordering::Relaxed);
        Ok(SecurityEvent::CredentialsWithdrawn {
            user_id: user.id,
            credential_ids: rows.into_iter().map(|r| r.id).collect(),
            change: CredentialChange::OTP_REMOVED,
            keep_sid: None,
        })
    })
    .await?;
    Ok((removed.load(std::sync::atomic::Ordering::Relaxed), outcome))
}

/// How recent a sign-in must be for a user to add or remove a second
/// factor themselves.
pub const FRESH_SIGN_IN_S: i64 = 5 * 60;

/// Whether the user's session proves enough to change their second
/// factors: a sign-in in the last 5 minutes, with the second factor when
/// they already have one (a password alone is not enough then).
pub async fn fresh_enough(
    latch: &Latch,
    realm: &RealmState,
    session: &SessionRow,
) -> Result<bool, Error> {
    let recent = latch.clock.now_ms() / 1000 - session.auth_time_s <= FRESH_SIGN_IN_S;
    if !recent {
        return Ok(false);
    }
    // A realm with second factors off never asks for one at sign-in.
    let asked = factor::asked_of(&latch.directory, realm, &session.user_id).await?;
    Ok(!asked || session.acr_level >= 2)
}

/// The user removes one of their own second factors from the account
/// page: only from a fresh enough session (`fresh_enough`), never the last
/// one where the realm requires one; the sessions that used it end, the
/// one it is removed from stays. `None`: the session is not fresh enough.
pub async fn remove_own(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmState,
    session: &SessionRow,
    credential_id: &str,
) -> Result<Option<Outcome>, Error> {
    if !fresh_enough(latch, realm, session).await? {
        return Ok(None);
    }
    let name = RealmName::from(realm.realm.name.as_str());
    let (user_id, id, keep) = (
        session.user_id.clone(),
        credential_id.to_string(),
        session.id.clone(),
    );
    take_back(latch, actor, &name, move |conn, realm| {
        let row = rows::find(conn, &user_id, &id)?
            .filter(|r| factor::is_second_factor(&r.kind))
            .ok_or_else(|| Error::NotFound(format!("credential `{id}` of yours")))?;
        let apps = rows::of_user_typed(conn, &user_id, OTP)?.len();
        let required = factor::Requirement::of(realm) == factor::Requirement::Required;
        if required && row.kind == OTP && apps <= 1 {
            return Err(Error::Invalid(
                "This realm requires an authenticator app: set up another before removing this one."
                    .into(),
            ));
        }
        rows::delete(conn, &row.id)?;
        Ok(SecurityEvent::CredentialsWithdrawn {
            user_id,
            credential_ids: vec![row.id],
            change: removal(&row.kind),
            keep_sid: Some(keep),
        })
    })
    .await
    .map(Some)
}

/// The user adds an authenticator app from the account page: only from a
/// fresh enough session, and the secret must have been offered to this
/// user. `None`: the session is not fresh enough.
pub async fn enrol_own(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmState,
    session: &SessionRow,
    input: EnrolTotp,
) -> Result<Option<String>, Error> {
    if input.pending.user_id != session.user_id {
        return Err(Error::Invalid("This page has expired. Start again.".into()));
    }
    if !fresh_enough(latch, realm, session).await? {
        return Ok(None);
    }
    enrol_totp(latch, actor, input).await.map(Some)
}

/// Whether the user can be asked for a second factor (has an app, and the
/// realm does not turn them off): what a step-up needs.
pub async fn can_step_up(latch: &Latch, realm: &RealmState, user_id: &str) -> Result<bool, Error> {
    factor::asked_of(&latch.directory, realm, user_id).await
}

/// A recovery code was spent: audited, and the sessions that signed in
/// with the user's recovery codes before end (README, cascade).
async fn recovery_code_spent(
    latch: &Latch,
    realm: &RealmState,
    user: &User,
    credential_id: &str,
    ip: Option<&str>,
) -> Result<(), Error> {
    let actor = Actor::User {
        user_id: user.id.clone().into(),
        sid: None,
        ip: ip.map(str::to_string),
    };
    let (user_id, id) = (user.id.clone(), credential_id.to_string());
    let name = RealmName::from(realm.realm.name.as_str());
    take_back(latch, &actor, &name, move |_, _| {
        Ok(SecurityEvent::CredentialsWithdrawn {
            user_id,
            credential_ids: vec![id],
            change: CredentialChange::RECOVERY_CODE_USED,
            keep_sid: None,
        })
    })
    .await?;
    Ok(())
}

/// New recovery codes for the user, from the account page: only from a
/// fresh enough session (`fresh_enough`). They replace any earlier ones
/// (the sessions that used those end). The codes are returned to be shown
/// once; only their keyed hashes are kept. `None`: not fresh enough.
pub async fn new_recovery_codes(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmState,
    session: &SessionRow,
) -> Result<Option<Vec<String>>, Error> {
    if !fresh_enough(latch, realm, session).await? {
        return Ok(None);
    }
    let master = latch.directory.master().clone();
    let (codes, secret) = factor::new_recovery_codes(&master);
    let (user_id, keep, now) = (
        session.user_id.clone(),
        session.id.clone(),
        latch.clock.now_ms(),
    );
    let name = RealmName::from(realm.realm.name.as_str());
    take_back(latch, actor, &name, move |conn, realm| {
        let old: Vec<String> = rows::of_user_typed(conn, &user_id, RECOVERY_CODES)?
            .into_iter()
            .map(|r| r.id)
            .collect();
        for id in &old {
            rows::delete(conn, id)?;
        }
        let id = crate::crypto::random_id();
        let json = serde_json::to_vec(&secret).unwrap_or_default();
        rows::insert(
            conn,
            &CredentialRow {
                id: id.clone(),
                realm_id: realm.id.clone(),
                user_id: user_id.clone(),
                kind: RECOVERY_CODES.into(),
                user_label: None,
                created_ms: now,
                last_used_ms: None,
                secret_data: master.seal(SECRET_PURPOSE, id.as_bytes(), &json),
                credential_data: serde_json::json!({ "totalCodes": factor::RECOVERY_CODES })
                    .to_string(),
            },
        )?;
        if let Some(user) = crate::store::users::find(conn, &user_id)? {
            let remaining: Vec<&str> = user
                .required_actions()
                .into_iter()
                .filter(|a| *a != CONFIGURE_RECOVERY_CODES)
                .collect();
            crate::store::users::set_required_actions(conn, &user.id, &remaining)?;
        }
        Ok(SecurityEvent::CredentialsWithdrawn {
            user_id,
            credential_ids: old,
            change: CredentialChange::RECOVERY_CODES_REMOVED,
            keep_sid: Some(keep),
        })
    })
    .await?;
    Ok(Some(codes))
}
