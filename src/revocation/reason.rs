//! Why something was taken back, as types: the cause a security event
//! carries, and the one the log stores beside each consequence. Renderers
//! (back-channel logout, the event stream, a Shared Signals stream) map
//! these variants; they never read prose. The log keeps `Reason::code`, a
//! stable token; the sessions and refresh tables keep `Reason::describe`,
//! for people reading them.

/// Why a session was ended by someone or something outside the cascade.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// RP-initiated logout at the end-session endpoint.
    Logout,
    /// An administrator ended it (admin API, console or command line).
    Admin,
    /// The user signed out from their account page.
    Account,
    /// A new sign-in in the same browser took its place.
    Replaced,
    /// Unused for longer than the realm's idle timeout.
    IdleTimeout,
    /// Older than the realm's maximum session lifetime.
    LifetimeReached,
}

/// Which grant of access was taken away from the users it concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChange {
    /// A role mapping, a role, or a role of a group was removed.
    RolesTaken,
    /// The users left a group (or the group was deleted).
    LeftGroup,
}

/// Which kind of credential changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Password,
    /// An authenticator app (Keycloak's `otp`).
    Otp,
    /// Single-use recovery codes (Keycloak's `recovery-authn-codes`).
    RecoveryCodes,
}

/// How a credential changed, and so who initiated it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    /// An administrator (or the operator) set it: every session ends.
    Reset,
    /// The user changed it in one session: the others end.
    Changed,
    /// It was removed (by an administrator, the operator or the user): the
    /// sessions whose sign-in used it end.
    Removed,
    /// A single-use credential was spent: the sessions that used it end.
    Used,
}

/// One credential of a user changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CredentialChange {
    pub credential: Credential,
    pub kind: ChangeKind,
}

impl CredentialChange {
    pub const PASSWORD_RESET: CredentialChange = CredentialChange {
        credential: Credential::Password,
        kind: ChangeKind::Reset,
    };
    pub const PASSWORD_CHANGED: CredentialChange = CredentialChange {
        credential: Credential::Password,
        kind: ChangeKind::Changed,
    };
    pub const OTP_REMOVED: CredentialChange = CredentialChange {
        credential: Credential::Otp,
        kind: ChangeKind::Removed,
    };
    pub const RECOVERY_CODES_REMOVED: CredentialChange = CredentialChange {
        credential: Credential::RecoveryCodes,
        kind: ChangeKind::Removed,
    };
    pub const RECOVERY_CODE_USED: CredentialChange = CredentialChange {
        credential: Credential::RecoveryCodes,
        kind: ChangeKind::Used,
    };
}

impl CredentialChange {
    /// The stable token the log stores: never reword.
    fn code(self) -> &'static str {
        match (self.credential, self.kind) {
            (Credential::Password, ChangeKind::Reset) => "credential.password.reset",
            (Credential::Password, ChangeKind::Changed) => "credential.password.changed",
            (Credential::Password, ChangeKind::Removed) => "credential.password.removed",
            (Credential::Password, ChangeKind::Used) => "credential.password.used",
            (Credential::Otp, ChangeKind::Reset) => "credential.otp.reset",
            (Credential::Otp, ChangeKind::Changed) => "credential.otp.changed",
            (Credential::Otp, ChangeKind::Removed) => "credential.otp.removed",
            (Credential::Otp, ChangeKind::Used) => "credential.otp.used",
            (Credential::RecoveryCodes, ChangeKind::Reset) => "credential.recovery-codes.reset",
            (Credential::RecoveryCodes, ChangeKind::Changed) => "credential.recovery-codes.changed",
            (Credential::RecoveryCodes, ChangeKind::Removed) => "credential.recovery-codes.removed",
            (Credential::RecoveryCodes, ChangeKind::Used) => "credential.recovery-codes.used",
        }
    }

    /// Words for people.
    fn describe(self) -> &'static str {
        match (self.credential, self.kind) {
            (Credential::Password, ChangeKind::Reset) => "password reset",
            (Credential::Password, ChangeKind::Changed) => "password changed on another device",
            (Credential::Password, ChangeKind::Removed) => "password removed",
            (Credential::Password, ChangeKind::Used) => "password used",
            (Credential::Otp, ChangeKind::Reset) => "authenticator app reset",
            (Credential::Otp, ChangeKind::Changed) => "authenticator app changed",
            (Credential::Otp, ChangeKind::Removed) => "authenticator app removed",
            (Credential::Otp, ChangeKind::Used) => "authenticator app used",
            (Credential::RecoveryCodes, ChangeKind::Reset) => "recovery codes reset",
            (Credential::RecoveryCodes, ChangeKind::Changed) => "recovery codes changed",
            (Credential::RecoveryCodes, ChangeKind::Removed) => "recovery codes removed",
            (Credential::RecoveryCodes, ChangeKind::Used) => "recovery code used",
        }
    }
}

/// The cause a log event records: every reason the cascade knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    Session(EndReason),
    /// A refresh token was revoked (RFC 7009) or an offline family idled out.
    Revoked,
    /// A rotated refresh token was presented again (theft signal).
    RefreshReuse,
    /// An authorization code was redeemed twice.
    CodeReplay,
    /// The user signed out everywhere but in one session.
    SignedOutElsewhere,
    Credential(CredentialChange),
    LogoutEverywhere,
    UserDisabled,
    Roles(RoleChange),
    ClientTokensRevoked,
    ClientCompromised,
    RealmLogout,
    /// The realm's signing keys were retired at once.
    EmergencyRotation,
}

impl From<EndReason> for Reason {
    fn from(end: EndReason) -> Reason {
        Reason::Session(end)
    }
}

impl From<RoleChange> for Reason {
    fn from(change: RoleChange) -> Reason {
        Reason::Roles(change)
    }
}

impl From<CredentialChange> for Reason {
    fn from(change: CredentialChange) -> Reason {
        Reason::Credential(change)
    }
}

/// Every reason, for parsing.
const ALL: &[Reason] = &[
    Reason::Session(EndReason::Logout),
    Reason::Session(EndReason::Admin),
    Reason::Session(EndReason::Account),
    Reason::Session(EndReason::Replaced),
    Reason::Session(EndReason::IdleTimeout),
    Reason::Session(EndReason::LifetimeReached),
    Reason::Revoked,
    Reason::RefreshReuse,
    Reason::CodeReplay,
    Reason::SignedOutElsewhere,
    Reason::Credential(CredentialChange::PASSWORD_RESET),
    Reason::Credential(CredentialChange::PASSWORD_CHANGED),
    Reason::Credential(CredentialChange::OTP_REMOVED),
    Reason::Credential(CredentialChange::RECOVERY_CODES_REMOVED),
    Reason::Credential(CredentialChange::RECOVERY_CODE_USED),
    Reason::LogoutEverywhere,
    Reason::UserDisabled,
    Reason::Roles(RoleChange::RolesTaken),
    Reason::Roles(RoleChange::LeftGroup),
    Reason::ClientTokensRevoked,
    Reason::ClientCompromised,
    Reason::RealmLogout,
    Reason::EmergencyRotation,
];

impl Reason {
    /// The stable token the log stores (and Redis carries): never reword.
    pub fn code(self) -> &'static str {
        match self {
            Reason::Session(EndReason::Logout) => "logout",
            Reason::Session(EndReason::Admin) => "admin",
            Reason::Session(EndReason::Account) => "account",
            Reason::Session(EndReason::Replaced) => "replaced",
            Reason::Session(EndReason::IdleTimeout) => "idle",
            Reason::Session(EndReason::LifetimeReached) => "lifetime",
            Reason::Revoked => "revoked",
            Reason::RefreshReuse => "refresh_reuse",
            Reason::CodeReplay => "code_replay",
            Reason::SignedOutElsewhere => "signed_out_elsewhere",
            Reason::Credential(change) => change.code(),
            Reason::LogoutEverywhere => "logout_all",
            Reason::UserDisabled => "user_disabled",
            Reason::Roles(RoleChange::RolesTaken) => "roles_taken",
            Reason::Roles(RoleChange::LeftGroup) => "left_group",
            Reason::ClientTokensRevoked => "client_tokens_revoked",
            Reason::ClientCompromised => "client_compromised",
            Reason::RealmLogout => "realm_logout",
            Reason::EmergencyRotation => "emergency",
        }
    }

    /// Words for people, kept in the sessions' and families' rows.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::Session(EndReason::Logout) => "logout",
            Reason::Session(EndReason::Admin) => "ended by an administrator",
            Reason::Session(EndReason::Account) => "signed out from the account page",
            Reason::Session(EndReason::Replaced) => "replaced by a new sign-in",
            Reason::Session(EndReason::IdleTimeout) => "idle timeout",
            Reason::Session(EndReason::LifetimeReached) => "session lifetime reached",
            Reason::Revoked => "revoked",
            Reason::RefreshReuse => "refresh token reuse",
            Reason::CodeReplay => "authorization code replay",
            Reason::SignedOutElsewhere => "signed out from another device",
            Reason::Credential(change) => change.describe(),
            Reason::LogoutEverywhere => "logout everywhere",
            Reason::UserDisabled => "user disabled",
            Reason::Roles(RoleChange::RolesTaken) => "roles changed",
            Reason::Roles(RoleChange::LeftGroup) => "left a group",
            Reason::ClientTokensRevoked => "client tokens revoked",
            Reason::ClientCompromised => "client compromised",
            Reason::RealmLogout => "realm logout",
            Reason::EmergencyRotation => "emergency key rotation",
        }
    }

    /// Reads a stored reason. Log rows written before reasons had codes
    /// carry the words instead; they read the same.
    pub fn parse(stored: &str) -> Option<Reason> {
        ALL.iter()
            .copied()
            .find(|r| r.code() == stored || r.describe() == stored)
    }

    /// The credential change behind it, if one is.
    pub fn credential_change(self) -> Option<CredentialChange> {
        match self {
            Reason::Credential(change) => Some(change),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_reads_back_from_its_code_and_its_words() {
        for reason in ALL {
            assert_eq!(Reason::parse(reason.code()), Some(*reason));
            assert_eq!(Reason::parse(reason.describe()), Some(*reason));
        }
        assert_eq!(Reason::parse("something else"), None);
    }

    #[test]
    fn codes_are_unique() {
        let mut codes: Vec<_> = ALL.iter().map(|r| r.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ALL.len());
    }
}
