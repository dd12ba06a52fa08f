//! A realm's password policy, written in Keycloak's syntax so realm
//! settings move between the two unchanged: `length(N)`, `notUsername`,
//! `notCommon` (a bundled list of the most used passwords; Keycloak's
//! `passwordBlacklist` is read as it), `passwordHistory(N)`, joined by
//! `and`. Every path that sets a password checks it: user creation, an
//! administrator's reset, the temporary-password step and the account page.

use std::fmt;

const COMMON: &str = include_str!("common_passwords.txt");

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

/// Checks a new password for `user` of `realm` against the realm's policy
/// (history included, on the hashing pool) and returns its hash.
pub async fn hash_new_password(
    pool: &crate::login::password_pool::PasswordPool,
    directory: &crate::directory::Directory,
    realm: &crate::store::realms::Realm,
    user: &crate::store::users::User,
    password: String,
) -> Result<String, Refusal> {
    let policy = PasswordPolicy::parse(&realm.password_policy).unwrap_or_default();
    policy
        .check(&password, &user.username)
        .map_err(Refusal::Policy)?;
    if policy.history > 0 {
        let (user_id, n) = (user.id.clone(), policy.history);
        let recent = directory
            .store()
            .run(move |conn| crate::store::passwords::recent(conn, &user_id, n))
            .await
            .map_err(crate::error::Error::Store)?;
        let candidate = password.clone();
        let reused = pool
            .reserve()?
            .run(move || {
                recent
                    .iter()
                    .any(|hash| crate::login::password::verify(&candidate, hash))
            })
            .await?;
        if reused {
            return Err(Refusal::Policy(reused_message(policy.history)));
        }
    }
    let hash = pool
        .reserve()?
        .run(move || crate::login::password::hash(&password))
        .await??;
    Ok(hash)
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
}
