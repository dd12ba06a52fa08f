//! OAuth scopes (RFC 6749 §3.3): a space-separated set of tokens.

use std::fmt;

/// At most this many scopes in one request.
pub const MAX_SCOPES: usize = 64;
/// At most this long, one scope.
pub const MAX_SCOPE_LEN: usize = 128;

/// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ).
fn is_scope_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(Vec<String>);

impl Scopes {
    /// Parses a scope string by the syntax of RFC 6749 §3.3; `Err` names
    /// the first scope that breaks it. Which scopes a client may have is
    /// the server's decision, not the parser's.
    pub fn parse(text: &str) -> Result<Scopes, String> {
        let mut scopes: Vec<String> = Vec::new();
        for scope in text.split(' ').filter(|s| !s.is_empty()) {
            if scope.len() > MAX_SCOPE_LEN
                || !scope.chars().all(is_scope_char)
                || scopes.len() >= MAX_SCOPES
            {
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
    fn parses_dedupes_and_refuses_malformed_scopes() {
        let s = Scopes::parse("openid  email openid").unwrap();
        assert_eq!(s.to_string(), "openid email");
        assert_eq!(Scopes::parse("openid ad\"min").unwrap_err(), "ad\"min");
        assert_eq!(Scopes::parse("a\\b").unwrap_err(), "a\\b");
        assert!(Scopes::parse(&"x".repeat(129)).is_err());
        assert!(Scopes::parse("urn:example:read api.write").is_ok());
        assert!(Scopes::parse("email").unwrap().is_subset_of(&s));
    }
}
