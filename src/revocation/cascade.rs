//! The one cascade policy: every security event goes through `apply`,
//! which decides what dies — access tokens (by jti, sid or a not-before
//! cut-off), refresh families (online and offline), browser sessions — and
//! writes it all, with the log events that reach every node and an audit
//! record, in the caller's transaction. The README's cascade table is this
//! function in words.

use crate::error::Error;
use crate::store::audit::NewAudit;
use crate::store::realms::Realm;
use crate::store::refresh::FamilyScope;
use crate::store::{self, DbConnection};

pub use super::reason::{Credential, CredentialChange, EndReason, Reason, RoleChange};
use super::{record, record_about, Concerns, EventKind};

/// Tokens may carry an `iat` up to this much after their real issue time on
/// a node whose offset estimate is off; entries are kept that much longer.
const MARGIN_MS: i64 = 60_000;

#[derive(Debug, Clone)]
pub enum SecurityEvent {
    /// RFC 7009 on an access token.
    AccessTokenRevoked {
        jti: String,
        exp_ms: i64,
        /// The row id of the client the token was issued to.
        client_row_id: String,
    },
    /// RFC 7009 on a refresh token: its family and what it issued.
    RefreshFamilyRevoked {
        family_id: String,
    },
    /// End-session, an administrator's or the user's own sign-out, expiry.
    SessionEnded {
        sid: String,
        reason: EndReason,
    },
    /// A rotated refresh token was presented again (theft signal).
    RefreshReuse {
        family_id: String,
        sid: String,
    },
    /// An authorization code was redeemed twice.
    CodeReplay {
        family_id: Option<String>,
        access_jti: Option<String>,
        access_exp_ms: i64,
        client_row_id: String,
    },
    /// Log the user out everywhere.
    UserLogoutAll {
        user_id: String,
    },
    /// An administrator set the user's password.
    PasswordReset {
        user_id: String,
    },
    UserDisabled {
        user_id: String,
    },
    /// Revoke every token of a client (compromise response).
    ClientTokensRevoked {
        client_row_id: String,
        client_id: String,
    },
    /// A client's credentials leaked: its tokens die (as above), its
    /// secret was replaced in the same transaction, and its back-channel
    /// is told to end every session it took part in.
    ClientCompromised {
        client_row_id: String,
        client_id: String,
    },
    /// The user signed out everywhere but here (`keep_sid`), or changed
    /// a credential here (`credential_changed`): every other session and
    /// every refresh family not of this session (offline ones too) dies.
    OtherSessionsEnded {
        user_id: String,
        keep_sid: String,
        credential_changed: Option<Credential>,
    },
    /// Roles or group memberships were taken away: the users who held
    /// them are cut off, so no token that still lists them survives.
    RolesChanged {
        user_ids: Vec<String>,
        reason: RoleChange,
    },
    /// Credentials beside the password were removed (an authenticator
    /// app, recovery codes) or a single-use one was spent: the sessions
    /// whose sign-in or step-up used one of them end, with every refresh
    /// family of theirs (offline too); the user's other sessions survive.
    CredentialsWithdrawn {
        user_id: String,
        credential_ids: Vec<String>,
        change: CredentialChange,
        /// The session the user removed it from themselves, which stays.
        keep_sid: Option<String>,
    },
    /// Log everyone in the realm out, without rotating keys.
    RealmLogoutAll,
    /// The realm's keys were retired at once (done by `keys::emergency_rotate`).
    EmergencyKeyRotation {
        retired: Vec<String>,
    },
}

impl SecurityEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            SecurityEvent::AccessTokenRevoked { .. } => "token.revoked",
            SecurityEvent::RefreshFamilyRevoked { .. } => "refresh.revoked",
            SecurityEvent::SessionEnded { .. } => "session.ended",
            SecurityEvent::RefreshReuse { .. } => "refresh.reuse",
            SecurityEvent::CodeReplay { .. } => "code.replay",
            SecurityEvent::UserLogoutAll { .. } => "user.logout_all",
            SecurityEvent::PasswordReset { .. } => "user.password_reset",
            SecurityEvent::UserDisabled { .. } => "user.disabled",
            SecurityEvent::ClientTokensRevoked { .. } => "client.tokens_revoked",
            SecurityEvent::ClientCompromised { .. } => "client.compromised",
            SecurityEvent::RolesChanged { .. } => "user.roles_changed",
            SecurityEvent::OtherSessionsEnded {
                credential_changed: Some(Credential::Password),
                ..
            } => "user.password_changed",
            SecurityEvent::OtherSessionsEnded { .. } => "user.other_sessions_ended",
            SecurityEvent::CredentialsWithdrawn {
                change:
                    CredentialChange {
                        kind: super::reason::ChangeKind::Used,
                        ..
                    },
                ..
            } => "user.credential_used",
            SecurityEvent::CredentialsWithdrawn { .. } => "user.credential_removed",
            SecurityEvent::RealmLogoutAll => "realm.logout_all",
            SecurityEvent::EmergencyKeyRotation { .. } => "keys.emergency_rotation",
        }
    }

    fn subject(&self) -> String {
        match self {
            SecurityEvent::AccessTokenRevoked { jti, .. } => jti.clone(),
            SecurityEvent::RefreshFamilyRevoked { family_id }
            | SecurityEvent::RefreshReuse { family_id, .. } => family_id.clone(),
            SecurityEvent::SessionEnded { sid, .. } => sid.clone(),
            SecurityEvent::CodeReplay { family_id, .. } => family_id.clone().unwrap_or_default(),
            SecurityEvent::UserLogoutAll { user_id }
            | SecurityEvent::PasswordReset { user_id }
            | SecurityEvent::UserDisabled { user_id }
            | SecurityEvent::OtherSessionsEnded { user_id, .. }
            | SecurityEvent::CredentialsWithdrawn { user_id, .. } => user_id.clone(),
            SecurityEvent::ClientTokensRevoked { client_id, .. }
            | SecurityEvent::ClientCompromised { client_id, .. } => client_id.clone(),
            SecurityEvent::RolesChanged { user_ids, .. } => user_ids.join(" "),
            SecurityEvent::RealmLogoutAll => String::new(),
            SecurityEvent::EmergencyKeyRotation { retired } => retired.join(" "),
        }
    }
}

pub use crate::actor::Actor;

/// What an event took back, for callers that report it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub sessions_ended: usize,
    pub families_revoked: usize,
    pub tokens_denied: usize,
    /// Back-channel logout notices queued for relying parties.
    pub notices_queued: usize,
}

/// Applies `event` inside the caller's transaction. `now_ms` must come from
/// the database clock (a synced `Clock`), since cut-offs are compared with
/// token issue times across nodes. One arm per row of the cascade table.
pub fn apply(
    conn: &mut DbConnection,
    realm: &Realm,
    event: &SecurityEvent,
    actor: &Actor,
    now_ms: i64,
) -> Result<Outcome, Error> {
    let mut run = Cascade::new(conn, realm, now_ms);
    match event {
        SecurityEvent::AccessTokenRevoked {
            jti,
            exp_ms,
            client_row_id,
        } => run.deny_access_token(jti, *exp_ms, client_row_id)?,
        SecurityEvent::RefreshFamilyRevoked { family_id } => {
            run.revoke_family(family_id, Reason::Revoked)?
        }
        SecurityEvent::SessionEnded { sid, reason } => run.end_session(sid, (*reason).into())?,
        SecurityEvent::RefreshReuse { family_id, sid } => run.refresh_reuse(family_id, sid)?,
        SecurityEvent::CodeReplay {
            family_id,
            access_jti,
            access_exp_ms,
            client_row_id,
        } => run.code_replay(
            family_id.as_deref(),
            access_jti.as_deref(),
            *access_exp_ms,
            client_row_id,
        )?,
        SecurityEvent::UserLogoutAll { user_id } => {
            run.cut_off_user(user_id, Reason::LogoutEverywhere)?
        }
        SecurityEvent::PasswordReset { user_id } => {
            run.cut_off_user(user_id, CredentialChange::PASSWORD_RESET.into())?
        }
        SecurityEvent::UserDisabled { user_id } => run.disable_user(user_id)?,
        SecurityEvent::OtherSessionsEnded {
            user_id,
            keep_sid,
            credential_changed,
        } => run.end_other_sessions(user_id, keep_sid, *credential_changed)?,
        SecurityEvent::RolesChanged { user_ids, reason } => {
            run.cut_off_users(user_ids, (*reason).into())?
        }
        SecurityEvent::ClientCompromised {
            client_row_id,
            client_id,
        } => run.client_compromised(client_row_id, client_id)?,
        SecurityEvent::ClientTokensRevoked {
            client_row_id,
            client_id,
        } => run.cut_off_client(client_row_id, client_id, Reason::ClientTokensRevoked)?,
        SecurityEvent::CredentialsWithdrawn {
            credential_ids,
            change,
            keep_sid,
            ..
        } => run.end_sessions_using(credential_ids, (*change).into(), keep_sid.as_deref())?,
        SecurityEvent::RealmLogoutAll => run.realm_logout()?,
        // The key ring retired the keys; nothing more dies here.
        SecurityEvent::EmergencyKeyRotation { .. } => {}
    }
    let outcome = run.outcome;
    audit(conn, realm, event, actor, now_ms, &outcome)?;
    Ok(outcome)
}

/// The audit row of one applied event, with what it took back.
fn audit(
    conn: &mut DbConnection,
    realm: &Realm,
    event: &SecurityEvent,
    actor: &Actor,
    now_ms: i64,
    outcome: &Outcome,
) -> Result<(), Error> {
    store::audit::insert_many(
        conn,
        &[NewAudit {
            realm_id: realm.id.clone(),
            at_ms: now_ms,
            actor: actor.audit_name(),
            kind: event.kind().into(),
            subject: event.subject(),
            ip: actor.ip(),
            detail: serde_json::to_string(&serde_json::json!({
                "sessions_ended": outcome.sessions_ended,
                "families_revoked": outcome.families_revoked,
                "tokens_denied": outcome.tokens_denied,
                "notices_queued": outcome.notices_queued,
            }))
            .ok(),
        }],
    )?;
    Ok(())
}

/// One application of the policy: the transaction, the realm, the database
/// clock's now, and the tally of what died.
struct Cascade<'a> {
    conn: &'a mut DbConnection,
    realm: &'a Realm,
    now_ms: i64,
    /// Longest an access or ID token issued now could live, plus margin:
    /// how long a cut-off or session event must stay in the index.
    horizon_ms: i64,
    outcome: Outcome,
}

impl<'a> Cascade<'a> {
    fn new(conn: &'a mut DbConnection, realm: &'a Realm, now_ms: i64) -> Cascade<'a> {
        let longest_s = realm.access_token_lifetime_s.max(realm.id_token_lifetime_s);
        Cascade {
            conn,
            realm,
            now_ms,
            horizon_ms: now_ms + longest_s * 1000 + MARGIN_MS,
            outcome: Outcome::default(),
        }
    }

    /// One access token dies by its jti until it would have expired.
    fn deny_access_token(
        &mut self,
        jti: &str,
        exp_ms: i64,
        client_row_id: &str,
    ) -> Result<(), Error> {
        let concerns = Concerns {
            client_id: Some(client_row_id),
            ..Concerns::default()
        };
        let expires = Some(exp_ms + MARGIN_MS);
        record_about(
            self.conn,
            &self.realm.id,
            EventKind::Jti,
            jti,
            None,
            expires,
            &concerns,
        )?;
        self.outcome.tokens_denied += 1;
        Ok(())
    }

    /// A theft signal: the family and its whole session die.
    fn refresh_reuse(&mut self, family_id: &str, sid: &str) -> Result<(), Error> {
        self.revoke_family(family_id, Reason::RefreshReuse)?;
        self.end_session(sid, Reason::RefreshReuse)
    }

    /// A code redeemed twice: whatever its first redemption issued dies.
    fn code_replay(
        &mut self,
        family_id: Option<&str>,
        access_jti: Option<&str>,
        access_exp_ms: i64,
        client_row_id: &str,
    ) -> Result<(), Error> {
        if let Some(family_id) = family_id {
            self.revoke_family(family_id, Reason::CodeReplay)?;
        }
        if let Some(jti) = access_jti {
            self.deny_access_token(jti, access_exp_ms, client_row_id)?;
        }
        Ok(())
    }

    fn disable_user(&mut self, user_id: &str) -> Result<(), Error> {
        store::users::set_enabled(self.conn, user_id, false)?;
        self.cut_off_user(user_id, Reason::UserDisabled)
    }

    fn cut_off_users(&mut self, user_ids: &[String], reason: Reason) -> Result<(), Error> {
        for user_id in user_ids {
            self.cut_off_user(user_id, reason)?;
        }
        Ok(())
    }

    /// Everything of the user not of `keep_sid` dies, offline families too.
    fn end_other_sessions(
        &mut self,
        user_id: &str,
        keep_sid: &str,
        credential_changed: Option<Credential>,
    ) -> Result<(), Error> {
        let reason = match credential_changed {
            Some(credential) => Reason::Credential(CredentialChange {
                credential,
                kind: super::reason::ChangeKind::Changed,
            }),
            None => Reason::SignedOutElsewhere,
        };
        let live =
            store::sessions::list_live(self.conn, &self.realm.id, Some(user_id), self.now_ms)?;
        for session in live.iter().filter(|s| s.id != keep_sid) {
            self.end_session(&session.id, reason)?;
        }
        for family in store::refresh::live_families_of_user(self.conn, user_id)? {
            if family.session_id != keep_sid {
                self.revoke_family(&family.id, reason)?;
            }
        }
        Ok(())
    }

    /// The sessions whose sign-in or step-up used one of the credentials
    /// end, and every refresh family of theirs, offline ones too.
    fn end_sessions_using(
        &mut self,
        credential_ids: &[String],
        reason: Reason,
        keep_sid: Option<&str>,
    ) -> Result<(), Error> {
        for credential_id in credential_ids {
            for sid in
                store::credentials::live_sessions_using(self.conn, credential_id, self.now_ms)?
            {
                if keep_sid == Some(sid.as_str()) {
                    continue;
                }
                let session = store::sessions::find(self.conn, &sid)?;
                self.end_session(&sid, reason)?;
                let Some(session) = session else { continue };
                for family in store::refresh::live_families_of_user(self.conn, &session.user_id)? {
                    if family.session_id == sid {
                        self.revoke_family(&family.id, reason)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// The client's tokens die, and its back-channel is told to end every
    /// live session it took part in.
    fn client_compromised(&mut self, client_row_id: &str, client_id: &str) -> Result<(), Error> {
        let (realm_id, now_ms) = (self.realm.id.as_str(), self.now_ms);
        for (sid, user_id) in store::sessions::live_with_client(self.conn, client_row_id, now_ms)? {
            self.outcome.notices_queued += store::outbox::enqueue_for_client(
                self.conn,
                realm_id,
                client_row_id,
                &sid,
                &user_id,
                now_ms,
            )?;
        }
        self.cut_off_client(client_row_id, client_id, Reason::ClientCompromised)
    }

    /// The client's cut-off moves to now: every token issued to it and every
    /// refresh family it holds dies.
    fn cut_off_client(
        &mut self,
        client_row_id: &str,
        client_id: &str,
        reason: Reason,
    ) -> Result<(), Error> {
        store::clients::set_not_before(self.conn, client_row_id, self.now_ms)?;
        self.outcome.families_revoked += store::refresh::revoke_all(
            self.conn,
            FamilyScope::Client(client_row_id),
            Reason::ClientTokensRevoked.describe(),
            self.now_ms,
        )?;
        let concerns = Concerns {
            client_id: Some(client_row_id),
            reason: Some(reason),
            ..Concerns::default()
        };
        record_about(
            self.conn,
            &self.realm.id,
            EventKind::ClientCutoff,
            client_id,
            Some(self.now_ms),
            Some(self.horizon_ms),
            &concerns,
        )?;
        record(
            self.conn,
            &self.realm.id,
            EventKind::Client,
            client_id,
            None,
        )?;
        Ok(())
    }

    /// The realm's cut-off moves to now: every token, family and session
    /// of the realm dies.
    fn realm_logout(&mut self) -> Result<(), Error> {
        let (realm_id, now_ms) = (self.realm.id.as_str(), self.now_ms);
        let why = Reason::RealmLogout.describe();
        store::realms::set_not_before(self.conn, realm_id, now_ms)?;
        for (sid, user_id) in store::sessions::end_all(self.conn, realm_id, None, why, now_ms)? {
            self.outcome.sessions_ended += 1;
            self.outcome.notices_queued +=
                store::outbox::enqueue_for_session(self.conn, realm_id, &sid, &user_id, now_ms)?;
        }
        self.outcome.families_revoked +=
            store::refresh::revoke_all(self.conn, FamilyScope::Realm(realm_id), why, now_ms)?;
        let concerns = Concerns {
            reason: Some(Reason::RealmLogout),
            ..Concerns::default()
        };
        record_about(
            self.conn,
            realm_id,
            EventKind::RealmCutoff,
            realm_id,
            Some(now_ms),
            Some(self.horizon_ms),
            &concerns,
        )?;
        record(self.conn, realm_id, EventKind::Realm, "logout-all", None)?;
        Ok(())
    }

    /// A family dies, and the access tokens minted with it are denied.
    fn revoke_family(&mut self, family_id: &str, reason: Reason) -> Result<(), Error> {
        let now_ms = self.now_ms;
        if !store::refresh::revoke_family(self.conn, family_id, reason.describe(), now_ms)? {
            return Ok(());
        }
        self.outcome.families_revoked += 1;
        let family = store::refresh::find_family(self.conn, family_id)?;
        let concerns = Concerns {
            client_id: family.as_ref().map(|f| f.client_id.as_str()),
            user_id: family.as_ref().map(|f| f.user_id.as_str()),
            reason: Some(reason),
        };
        let realm_id = self.realm.id.as_str();
        record_about(
            self.conn,
            realm_id,
            EventKind::Family,
            family_id,
            None,
            None,
            &concerns,
        )?;
        for (jti, exp_ms) in store::refresh::live_access_tokens(self.conn, family_id, now_ms)? {
            let expires = Some(exp_ms + MARGIN_MS);
            record_about(
                self.conn,
                realm_id,
                EventKind::Jti,
                &jti,
                None,
                expires,
                &concerns,
            )?;
            self.outcome.tokens_denied += 1;
        }
        Ok(())
    }

    /// A session ends: every token carrying its sid dies, and so do its
    /// online refresh families. Offline families outlive it (OIDC Core §11).
    fn end_session(&mut self, sid: &str, reason: Reason) -> Result<(), Error> {
        let (realm_id, now_ms, why) = (self.realm.id.as_str(), self.now_ms, reason.describe());
        let session = store::sessions::find(self.conn, sid)?;
        if store::sessions::end(self.conn, sid, why, now_ms)? {
            self.outcome.sessions_ended += 1;
            if let Some(session) = &session {
                self.outcome.notices_queued += store::outbox::enqueue_for_session(
                    self.conn,
                    realm_id,
                    sid,
                    &session.user_id,
                    now_ms,
                )?;
            }
        }
        self.outcome.families_revoked +=
            store::refresh::revoke_online_of_session(self.conn, sid, why, now_ms)?;
        let concerns = Concerns {
            user_id: session.as_ref().map(|s| s.user_id.as_str()),
            reason: Some(reason),
            ..Concerns::default()
        };
        record_about(
            self.conn,
            realm_id,
            EventKind::Session,
            sid,
            None,
            Some(self.horizon_ms),
            &concerns,
        )?;
        Ok(())
    }

    /// The user's cut-off moves to now: every token, family (online and
    /// offline) and session of theirs dies, on every device.
    fn cut_off_user(&mut self, user_id: &str, reason: Reason) -> Result<(), Error> {
        let (realm_id, now_ms, why) = (self.realm.id.as_str(), self.now_ms, reason.describe());
        store::users::set_not_before(self.conn, user_id, now_ms)?;
        for (sid, _) in store::sessions::end_all(self.conn, realm_id, Some(user_id), why, now_ms)? {
            self.outcome.sessions_ended += 1;
            self.outcome.notices_queued +=
                store::outbox::enqueue_for_session(self.conn, realm_id, &sid, user_id, now_ms)?;
        }
        self.outcome.families_revoked +=
            store::refresh::revoke_all(self.conn, FamilyScope::User(user_id), why, now_ms)?;
        let concerns = Concerns {
            user_id: Some(user_id),
            reason: Some(reason),
            ..Concerns::default()
        };
        record_about(
            self.conn,
            realm_id,
            EventKind::User,
            user_id,
            Some(now_ms),
            Some(self.horizon_ms),
            &concerns,
        )?;
        Ok(())
    }
}
