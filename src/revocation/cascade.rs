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
        reason: String,
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
    /// their password here: every other session and every refresh family
    /// not of this session (offline ones too) dies.
    OtherSessionsEnded {
        user_id: String,
        keep_sid: String,
        password_changed: bool,
    },
    /// Roles or group memberships were taken away: the users who held
    /// them are cut off, so no token that still lists them survives.
    RolesChanged {
        user_ids: Vec<String>,
        reason: String,
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
                password_changed: true,
                ..
            } => "user.password_changed",
            SecurityEvent::OtherSessionsEnded { .. } => "user.other_sessions_ended",
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
            | SecurityEvent::OtherSessionsEnded { user_id, .. } => user_id.clone(),
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
/// token issue times across nodes.
pub fn apply(
    conn: &mut DbConnection,
    realm: &Realm,
    event: &SecurityEvent,
    actor: &Actor,
    now_ms: i64,
) -> Result<Outcome, Error> {
    // Longest an access or ID token issued now could live, plus margin.
    let horizon =
        now_ms + realm.access_token_lifetime_s.max(realm.id_token_lifetime_s) * 1000 + MARGIN_MS;
    let mut outcome = Outcome::default();
    match event {
        SecurityEvent::AccessTokenRevoked {
            jti,
            exp_ms,
            client_row_id,
        } => {
            let concerns = Concerns {
                client_id: Some(client_row_id),
                ..Concerns::default()
            };
            record_about(
                conn,
                &realm.id,
                EventKind::Jti,
                jti,
                None,
                Some(exp_ms + MARGIN_MS),
                &concerns,
            )?;
            outcome.tokens_denied += 1;
        }
        SecurityEvent::RefreshFamilyRevoked { family_id } => {
            revoke_family(conn, realm, family_id, "revoked", now_ms, &mut outcome)?;
        }
        SecurityEvent::SessionEnded { sid, reason } => {
            end_session(conn, realm, sid, reason, now_ms, horizon, &mut outcome)?;
        }
        SecurityEvent::RefreshReuse { family_id, sid } => {
            revoke_family(
                conn,
                realm,
                family_id,
                "refresh token reuse",
                now_ms,
                &mut outcome,
            )?;
            end_session(
                conn,
                realm,
                sid,
                "refresh token reuse",
                now_ms,
                horizon,
                &mut outcome,
            )?;
        }
        SecurityEvent::CodeReplay {
            family_id,
            access_jti,
            access_exp_ms,
            client_row_id,
        } => {
            if let Some(family_id) = family_id {
                revoke_family(
                    conn,
                    realm,
                    family_id,
                    "authorization code replay",
                    now_ms,
                    &mut outcome,
                )?;
            }
            if let Some(jti) = access_jti {
                let concerns = Concerns {
                    client_id: Some(client_row_id),
                    ..Concerns::default()
                };
                record_about(
                    conn,
                    &realm.id,
                    EventKind::Jti,
                    jti,
                    None,
                    Some(access_exp_ms + MARGIN_MS),
                    &concerns,
                )?;
                outcome.tokens_denied += 1;
            }
        }
        SecurityEvent::UserLogoutAll { user_id } => cut_off_user(
            conn,
            realm,
            user_id,
            "logout everywhere",
            now_ms,
            horizon,
            &mut outcome,
        )?,
        SecurityEvent::PasswordReset { user_id } => cut_off_user(
            conn,
            realm,
            user_id,
            "password reset",
            now_ms,
            horizon,
            &mut outcome,
        )?,
        SecurityEvent::UserDisabled { user_id } => {
            store::users::set_enabled(conn, user_id, false)?;
            cut_off_user(
                conn,
                realm,
                user_id,
                "user disabled",
                now_ms,
                horizon,
                &mut outcome,
            )?;
        }
        SecurityEvent::OtherSessionsEnded {
            user_id,
            keep_sid,
            password_changed,
        } => {
            let reason = if *password_changed {
                "password changed on another device"
            } else {
                "signed out from another device"
            };
            for session in store::sessions::list_live(conn, &realm.id, Some(user_id), now_ms)? {
                if session.id != *keep_sid {
                    end_session(
                        conn,
                        realm,
                        &session.id,
                        reason,
                        now_ms,
                        horizon,
                        &mut outcome,
                    )?;
                }
            }
            for family in store::refresh::live_families_of_user(conn, user_id)? {
                if family.session_id != *keep_sid {
                    revoke_family(conn, realm, &family.id, reason, now_ms, &mut outcome)?;
                }
            }
        }
        SecurityEvent::RolesChanged { user_ids, reason } => {
            for user_id in user_ids {
                cut_off_user(conn, realm, user_id, reason, now_ms, horizon, &mut outcome)?;
            }
        }
        SecurityEvent::ClientCompromised {
            client_row_id,
            client_id,
        } => {
            for (sid, user_id) in store::sessions::live_with_client(conn, client_row_id, now_ms)? {
                outcome.notices_queued += store::outbox::enqueue_for_client(
                    conn,
                    &realm.id,
                    client_row_id,
                    &sid,
                    &user_id,
                    now_ms,
                )?;
            }
            cut_off_client(
                conn,
                realm,
                client_row_id,
                client_id,
                now_ms,
                horizon,
                &mut outcome,
            )?;
        }
        SecurityEvent::ClientTokensRevoked {
            client_row_id,
            client_id,
        } => cut_off_client(
            conn,
            realm,
            client_row_id,
            client_id,
            now_ms,
            horizon,
            &mut outcome,
        )?,
        SecurityEvent::RealmLogoutAll => {
            store::realms::set_not_before(conn, &realm.id, now_ms)?;
            for (sid, user_id) in
                store::sessions::end_all(conn, &realm.id, None, "realm logout", now_ms)?
            {
                outcome.sessions_ended += 1;
                outcome.notices_queued +=
                    store::outbox::enqueue_for_session(conn, &realm.id, &sid, &user_id, now_ms)?;
            }
            outcome.families_revoked += store::refresh::revoke_all(
                conn,
                FamilyScope::Realm(&realm.id),
                "realm logout",
                now_ms,
            )?;
            record_about(
                conn,
                &realm.id,
                EventKind::RealmCutoff,
                &realm.id,
                Some(now_ms),
                Some(horizon),
                &Concerns::default(),
            )?;
            record(conn, &realm.id, EventKind::Realm, "logout-all", None)?;
        }
        SecurityEvent::EmergencyKeyRotation { .. } => {}
    }
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
    Ok(outcome)
}

/// The client's cut-off moves to now: every token issued to it and every
/// refresh family it holds dies.
fn cut_off_client(
    conn: &mut DbConnection,
    realm: &Realm,
    client_row_id: &str,
    client_id: &str,
    now_ms: i64,
    horizon: i64,
    outcome: &mut Outcome,
) -> Result<(), Error> {
    store::clients::set_not_before(conn, client_row_id, now_ms)?;
    outcome.families_revoked += store::refresh::revoke_all(
        conn,
        FamilyScope::Client(client_row_id),
        "client tokens revoked",
        now_ms,
    )?;
    let concerns = Concerns {
        client_id: Some(client_row_id),
        ..Concerns::default()
    };
    record_about(
        conn,
        &realm.id,
        EventKind::ClientCutoff,
        client_id,
        Some(now_ms),
        Some(horizon),
        &concerns,
    )?;
    record(conn, &realm.id, EventKind::Client, client_id, None)?;
    Ok(())
}

/// A family dies, and the access tokens minted with it are denied.
fn revoke_family(
    conn: &mut DbConnection,
    realm: &Realm,
    family_id: &str,
    reason: &str,
    now_ms: i64,
    outcome: &mut Outcome,
) -> Result<(), Error> {
    if !store::refresh::revoke_family(conn, family_id, reason, now_ms)? {
        return Ok(());
    }
    outcome.families_revoked += 1;
    let family = store::refresh::find_family(conn, family_id)?;
    let concerns = Concerns {
        client_id: family.as_ref().map(|f| f.client_id.as_str()),
        user_id: family.as_ref().map(|f| f.user_id.as_str()),
        reason: Some(reason),
    };
    record_about(
        conn,
        &realm.id,
        EventKind::Family,
        family_id,
        None,
        None,
        &concerns,
    )?;
    for (jti, exp_ms) in store::refresh::live_access_tokens(conn, family_id, now_ms)? {
        record_about(
            conn,
            &realm.id,
            EventKind::Jti,
            &jti,
            None,
            Some(exp_ms + MARGIN_MS),
            &concerns,
        )?;
        outcome.tokens_denied += 1;
    }
    Ok(())
}

/// A session ends: every token carrying its sid dies, and so do its online
/// refresh families. Offline families outlive it (OIDC Core §11).
fn end_session(
    conn: &mut DbConnection,
    realm: &Realm,
    sid: &str,
    reason: &str,
    now_ms: i64,
    horizon: i64,
    outcome: &mut Outcome,
) -> Result<(), Error> {
    let session = store::sessions::find(conn, sid)?;
    if store::sessions::end(conn, sid, reason, now_ms)? {
        outcome.sessions_ended += 1;
        if let Some(session) = &session {
            outcome.notices_queued +=
                store::outbox::enqueue_for_session(conn, &realm.id, sid, &session.user_id, now_ms)?;
        }
    }
    outcome.families_revoked +=
        store::refresh::revoke_online_of_session(conn, sid, reason, now_ms)?;
    let concerns = Concerns {
        user_id: session.as_ref().map(|s| s.user_id.as_str()),
        reason: Some(reason),
        ..Concerns::default()
    };
    record_about(
        conn,
        &realm.id,
        EventKind::Session,
        sid,
        None,
        Some(horizon),
        &concerns,
    )?;
    Ok(())
}

/// The user's cut-off moves to now: every token, family (online and
/// offline) and session of theirs dies, on every device.
fn cut_off_user(
    conn: &mut DbConnection,
    realm: &Realm,
    user_id: &str,
    reason: &str,
    now_ms: i64,
    horizon: i64,
    outcome: &mut Outcome,
) -> Result<(), Error> {
    store::users::set_not_before(conn, user_id, now_ms)?;
    for (sid, _) in store::sessions::end_all(conn, &realm.id, Some(user_id), reason, now_ms)? {
        outcome.sessions_ended += 1;
        outcome.notices_queued +=
            store::outbox::enqueue_for_session(conn, &realm.id, &sid, user_id, now_ms)?;
    }
    outcome.families_revoked +=
        store::refresh::revoke_all(conn, FamilyScope::User(user_id), reason, now_ms)?;
    let concerns = Concerns {
        user_id: Some(user_id),
        reason: Some(reason),
        ..Concerns::default()
    };
    record_about(
        conn,
        &realm.id,
        EventKind::User,
        user_id,
        Some(now_ms),
        Some(horizon),
        &concerns,
    )?;
    Ok(())
}
