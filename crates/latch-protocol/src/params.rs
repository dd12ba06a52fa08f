//! Request parameters from a query string or a form body, kept as a list so
//! a repeated parameter is seen (RFC 6749 §3.1: parameters must not repeat),
//! refusing invalid UTF-8, NUL characters and more than `MAX_FIELDS`.

/// Largest form body accepted by the protocol and login endpoints.
pub const MAX_FORM_BYTES: usize = 16 * 1024;
/// Most parameters one request may carry.
pub const MAX_FIELDS: usize = 64;
/// Longest query string accepted.
pub const MAX_QUERY_BYTES: usize = 8 * 1024;

#[derive(Debug, Clone, Default)]
pub struct Params(Vec<(String, String)>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamError {
    /// The parameter appears more than once.
    Repeated(String),
    TooLarge,
    QueryTooLong,
    TooMany,
    NotUtf8,
    WrongContentType,
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParamError::Repeated(name) => write!(f, "parameter `{name}` is repeated"),
            ParamError::TooLarge => write!(f, "request body is larger than {MAX_FORM_BYTES} bytes"),
            ParamError::QueryTooLong => {
                write!(f, "the query string is longer than {MAX_QUERY_BYTES} bytes")
            }
            ParamError::TooMany => write!(f, "more than {MAX_FIELDS} parameters"),
            ParamError::NotUtf8 => write!(f, "parameters must be UTF-8 without NUL characters"),
            ParamError::WrongContentType => {
                write!(f, "the body must be application/x-www-form-urlencoded")
            }
        }
    }
}

impl Params {
    pub fn parse(encoded: &[u8]) -> Result<Params, ParamError> {
        let mut pairs = Vec::new();
        for (name, value) in form_urlencoded::parse(encoded) {
            // form_urlencoded replaces invalid UTF-8 with U+FFFD: refuse it.
            if name.contains(['\u{FFFD}', '\0']) || value.contains(['\u{FFFD}', '\0']) {
                return Err(ParamError::NotUtf8);
            }
            pairs.push((name.into_owned(), value.into_owned()));
            if pairs.len() > MAX_FIELDS {
                return Err(ParamError::TooMany);
            }
        }
        Ok(Params(pairs))
    }

    /// The single value of `name`, `None` when absent or empty (RFC 6749
    /// §3.1: a parameter sent without a value is treated as omitted).
    pub fn get(&self, name: &str) -> Result<Option<&str>, ParamError> {
        let mut found = None;
        for (n, v) in &self.0 {
            if n == name {
                if found.is_some() {
                    return Err(ParamError::Repeated(name.to_string()));
                }
                found = Some(v.as_str());
            }
        }
        Ok(found.filter(|v| !v.is_empty()))
    }

    /// The first repeated parameter, if any.
    pub fn first_repeated(&self) -> Option<&str> {
        self.0
            .iter()
            .enumerate()
            .find(|(i, (name, _))| self.0[..*i].iter().any(|(n, _)| n == name))
            .map(|(_, (name, _))| name.as_str())
    }

    /// Every name and value, in order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    pub fn encode(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.0.iter())
            .finish()
    }

    pub fn without(&self, name: &str) -> Params {
        Params(self.0.iter().filter(|(n, _)| n != name).cloned().collect())
    }
}
