//! OAuth scopes (RFC 6749 §3.3): a space-separated set of tokens.

use std::fmt;

/// The scopes Latch understands today.
pub const KNOWN: [&str; 4] = ["openid", "profile", "email", "offline_access"];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Parses a scope string; `Err` names the first scope Latch does not offer.
    pub fn parse(text: &str) -> Result<Scopes, String> {
        let mut scopes: Vec<String> = Vec::new();
        for scope in text.split(' ').filter(|s| !s.is_empty()) {
            if !KNOWN.contains(&scope) {
                return Err(scope.chars().take(64).collect());
            }
            if !scopes.iter().any(|s| s == scope) {
                scopes.push(scope.to_string());
            }
        }
        Ok(Scopes(scopes))
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.iter().any(|s| s == scope)
    }

    pub fn is_subset_of(&self, other: &Scopes) -> bool {
        self.0.iter().all(|s| other.contains(s))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    pub fn without(&self, scope: &str) -> Scopes {
        Scopes(self.0.iter().filter(|s| *s != scope).cloned().collect())
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

#[cfg(test)]
mod tests {
    use super::Scopes;

    #[test]
    fn parses_dedupes_and_refuses_unknown_scopes() {
        let s = Scopes::parse("openid  email openid").unwrap();
        assert_eq!(s.to_string(), "openid email");
        assert_eq!(Scopes::parse("openid admin").unwrap_err(), "admin");
        assert!(Scopes::parse("email").unwrap().is_subset_of(&s));
    }
}
