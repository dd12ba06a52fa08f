//! The parsers for everything a client sends Latch, with no I/O and no
//! crypto beyond hashing: form parameters, authorization, token and logout
//! requests, and the structure and header policy of compact JWS tokens.
//! Kept apart so it can be fuzzed quickly (`fuzz/`), and so the server
//! checks every request with the same code the fuzzer exercised.

pub mod authorize;
pub mod jws;
pub mod logout;
pub mod params;
pub mod pkce;
pub mod scope;
pub mod token;

pub use params::{ParamError, Params};
pub use scope::Scopes;

/// An OAuth error (RFC 6749 §4.1.2.1, §5.2): a registered code and a
/// description for the developer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> OAuthError {
        OAuthError {
            error,
            description: description.into(),
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> OAuthError {
        Self::new("invalid_request", description)
    }
}

impl std::fmt::Display for OAuthError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.description)
    }
}

/// At most `n` characters of `text`, for echoing client input in errors.
pub fn clip(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}
