//! A realm's password policy, written in Keycloak's syntax so realm
//! settings move between the two unchanged: `length(N)`, `notUsername`,
//! `notCommon` (a bundled list of the most used passwords; Keycloak's
//! `passwordBlacklist` is read as it), `passwordHistory(N)`, joined by
//! `and`. Every path that sets a password checks it, through one
//! `Screening` run on the hashing pool (`operations::credentials`): user
//! creation, an administrator's reset, the CLI, the temporary-password step
//! and the account page.

use std::fmt;

const COMMON: &str = include_str!("common_passwords.txt");

/// The policies Latch knows, as Keycloak describes them to an admin
/// console: id, display name, configuration type, default value.
pub const POLICY_TYPES: [(&str, &str, &str, &str); 4] = [
    ("length", "Minimum length", "int", "8"),
    ("notUsername", "Not username", "", ""),
    ("notCommon", "Not recently used (common passwords)", "", ""),
    ("passwordHistory", "Not recently used", "int", "3"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub not_username: bool,
    pub not_common: bool,
    /// How many recent passwords (the current one included) may not return.
    pub history: usize,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy {
            min_length: 8,
            not_username: true,
            not_common: true,
            history: 0,
        }
    }
}

fn argument(term: &str, name: &str) -> Result<Option<usize>, String> {
    let Some(rest) = term.strip_prefix(name) else {
        return Ok(None);
    };
    let rest = rest.trim();
    if rest.is_empty() {
        return Ok(Some(0));
    }
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| format!("`{term}`: write {name}(N)"))?
        .trim();
    if inner.is_empty() || inner == "undefined" {
        return Ok(Some(0));
    }
    inner
        .parse::<usize>()
        .map(Some)
        .map_err(|_| format!("`{term}`: {inner} is not a number"))
}

impl PasswordPolicy {
    /// Parses Keycloak's policy syntax; an empty string is no policy.
    pub fn parse(text: &str) -> Result<PasswordPolicy, String> {
        let mut policy = PasswordPolicy {
            min_length: 0,
            not_username: false,
            not_common: false,
            history: 0,
        };
        for term in text.split(" and ").map(str::trim).filter(|t| !t.is_empty()) {
            if let Some(n) = argument(term, "length")? {
                if n > 256 {
                    return Err("length must be at most 256".into());
                }
                policy.min_length = if n == 0 { 8 } else { n };
            } else if argument(term, "notUsername")?.is_some() {
                policy.not_username = true;
            } else if argument(term, "notCommon")?.is_some()
                || term.starts_with("passwordBlacklist")
            {
                policy.not_common = true;
            } else if let Some(n) = argument(term, "passwordHistory")? {
                policy.history = n.min(24);
            } else {
                return Err(format!(
                    "unknown policy `{}` (length, notUsername, notCommon, passwordHistory)",
                    term.chars().take(40).collect::<String>()
                ));
            }
        }
        Ok(policy)
    }

    /// The checks that need no stored hashes; `Err` says, in words a user
    /// understands, what to change.
    pub fn check(&self, password: &str, username: &str) -> Result<(), String> {
        let length = password.chars().count();
        if length < self.min_length {
            return Err(format!(
                "Use at least {} characters (this one has {length}).",
                self.min_length
            ));
        }
        if self.not_username && password.trim().eq_ignore_ascii_case(username.trim()) {
            return Err("Do not use your username as your password.".into());
        }
        if self.not_common && is_common(password) {
            return Err(
                "That password is one of the most used, and the first an attacker tries. Choose another."
                    .into(),
            );
        }
        Ok(())
    }
}

fn is_common(password: &str) -> bool {
    let candidate = password.trim().to_lowercase();
    COMMON
        .lines()
        .map(str::trim)
        .any(|common| !common.is_empty() && common.to_lowercase() == candidate)
}

impl fmt::Display for PasswordPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut terms = Vec::new();
        if self.min_length > 0 {
            terms.push(format!("length({})", self.min_length));
        }
        if self.not_username {
            terms.push("notUsername".into());
        }
        if self.not_common {
            terms.push("notCommon".into());
        }
        if self.history > 0 {
            terms.push(format!("passwordHistory({})", self.history));
        }
        f.write_str(&terms.join(" and "))
    }
}

/// Why a new password was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    /// The policy's words for the user.
    #[error("{0}")]
    Policy(String),
    #[error(transparent)]
    Busy(#[from] crate::login::password_pool::Busy),
    #[error(transparent)]
    Internal(#[from] crate::error::Error),
}

/// What a user is told when the password is one of their last `history`.
pub fn reused_message(history: usize) -> String {
    format!(
        "You used this password recently. Choose one you have not used for your last {history} changes."
    )
}

/// What a user is told when the current password they gave is wrong.
pub const WRONG_CURRENT: &str = "The current password is wrong.";

/// What a user is told when the new password is the temporary one again.
pub const SAME_AS_TEMPORARY: &str = "Choose a password different from the temporary one.";

/// What the person setting the password must show first.
#[derive(Debug, Clone)]
pub enum Proof {
    /// Nothing: an administrator, the operator, a new user.
    None,
    /// The current password (the account page).
    Knows(String),
    /// Nothing, but the new password must not be the current (temporary)
    /// one (the required action after a temporary password).
    Differs,
}

/// Everything a new password is checked against, read beforehand so the
/// whole check — proof, policy, history — and the hashing run as one job
/// on the hashing pool, whichever front door asked.
#[derive(Debug, Clone)]
pub struct Screening {
    pub policy: PasswordPolicy,
    pub username: String,
    /// The user's current hash, when they have one.
    pub current: Option<String>,
    /// The current hash and the earlier ones the history keeps, newest first.
    pub recent: Vec<String>,
    pub proof: Proof,
}

impl Screening {
    /// Checks `password` in the order a user fixes problems — proof, the
    /// cheap policy terms, then history (one argon2 check per kept hash) —
    /// and returns its hash. Blocking: run it on the hashing pool.
    fn run(&self, password: &str) -> Result<String, Refusal> {
        use crate::login::password;
        let is_current = |p: &str| {
            self.current
                .as_deref()
                .is_some_and(|h| password::verify(p, h))
        };
        match &self.proof {
            Proof::Knows(presented) if !is_current(presented) => {
                return Err(Refusal::Policy(WRONG_CURRENT.into()))
            }
            Proof::Differs if is_current(password) => {
                return Err(Refusal::Policy(SAME_AS_TEMPORARY.into()))
            }
            _ => {}
        }
        self.policy
            .check(password, &self.username)
            .map_err(Refusal::Policy)?;
        if self.policy.history > 0 && self.recent.iter().any(|h| password::verify(password, h)) {
            return Err(Refusal::Policy(reused_message(self.policy.history)));
        }
        Ok(password::hash(password)?)
    }
}

/// Screens `password` and hashes it, on the hashing pool.
pub async fn screen(
    pool: &crate::login::password_pool::PasswordPool,
    screening: Screening,
    password: String,
) -> Result<String, Refusal> {
    pool.reserve()?
        .run(move || screening.run(&password))
        .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keycloak_syntax_round_trips() {
        let p =
            PasswordPolicy::parse("length(12) and notUsername(undefined) and passwordHistory(3)")
                .unwrap();
        assert_eq!(p.min_length, 12);
        assert!(p.not_username && !p.not_common);
        assert_eq!(p.history, 3);
        assert_eq!(PasswordPolicy::parse(&p.to_string()).unwrap(), p);
        assert!(PasswordPolicy::parse("upperCase(1)").is_err());
        assert_eq!(PasswordPolicy::parse("").unwrap().min_length, 0);
    }

    #[test]
    fn checks_explain_themselves() {
        let p = PasswordPolicy::default();
        assert!(p.check("short", "bob").unwrap_err().contains("at least 8"));
        assert!(p
            .check("Bobbybobby", "bobbybobby")
            .unwrap_err()
            .contains("username"));
        assert!(p
            .check("Password123", "bob")
            .unwrap_err()
            .contains("most used"));
        assert!(p.check("correct horse battery", "bob").is_ok());
    }

    fn screening(history: usize, current: &str, earlier: &[&str], proof: Proof) -> Screening {
        let hash = |p: &str| crate::login::password::hash(p).unwrap();
        let current = hash(current);
        let mut recent = vec![current.clone()];
        recent.extend(earlier.iter().map(|p| hash(p)));
        Screening {
            policy: PasswordPolicy {
                history,
                ..PasswordPolicy::default()
            },
            username: "bob".into(),
            current: Some(current),
            recent,
            proof,
        }
    }

    fn refusal(result: Result<String, Refusal>) -> String {
        match result {
            Err(Refusal::Policy(words)) => words,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn a_recent_password_is_refused_and_an_old_one_returns() {
        let s = screening(2, "second sound one", &["first sound one"], Proof::None);
        assert_eq!(refusal(s.run("first sound one")), reused_message(2));
        assert_eq!(refusal(s.run("second sound one")), reused_message(2));
        let none = screening(0, "second sound one", &[], Proof::None);
        assert!(none
            .run("second sound one")
            .unwrap()
            .starts_with("$argon2id$"));
    }

    #[test]
    fn the_proof_comes_first() {
        let own = screening(
            0,
            "current sound one",
            &[],
            Proof::Knows("a wrong guess".into()),
        );
        assert_eq!(refusal(own.run("Password123")), WRONG_CURRENT);
        let temporary = screening(0, "helpdesk gave this", &[], Proof::Differs);
        assert_eq!(
            refusal(temporary.run("helpdesk gave this")),
            SAME_AS_TEMPORARY
        );
        assert!(refusal(temporary.run("short")).contains("at least 8"));
    }
}
