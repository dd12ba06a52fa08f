//! The authorization request (OIDC Core §3.1.2.1, RFC 6749 §4.1.1, RFC
//! 7636): what can be checked without looking anything up. The server
//! adds the checks that need the client (is it registered, is the redirect
//! URI one of its own, may it use the code flow, must it use PKCE).

use crate::{clip, OAuthError, Params, Scopes};

/// Who the request is for; until both are known to be valid, errors must
/// be shown to the user, never redirected (RFC 6749 §4.1.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub client_id: String,
    pub redirect_uri: String,
}

/// The client and redirect URI, or a message for an error page.
pub fn target(params: &Params) -> Result<Target, String> {
    let get = |name: &str| {
        params
            .get(name)
            .map_err(|e| format!("The request is invalid: {e}."))
    };
    let client_id = get("client_id")?.ok_or("The request names no client (client_id).")?;
    let redirect_uri = get("redirect_uri")?.ok_or("The request has no redirect_uri.")?;
    Ok(Target {
        client_id: client_id.to_string(),
        redirect_uri: redirect_uri.to_string(),
    })
}

/// How the response goes back to the client (OAuth 2.0 Multiple Response
/// Type Encoding Practices; Form Post Response Mode).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub enum ResponseMode {
    #[default]
    Query,
    Fragment,
    FormPost,
}

/// The requested response mode; `Err` for one Latch does not offer (the
/// error itself then goes back in the query).
pub fn response_mode(params: &Params) -> Result<ResponseMode, OAuthError> {
    match params.get("response_mode").ok().flatten() {
        None | Some("query") => Ok(ResponseMode::Query),
        Some("fragment") => Ok(ResponseMode::Fragment),
        Some("form_post") => Ok(ResponseMode::FormPost),
        Some(other) => Err(OAuthError::invalid_request(format!(
            "response_mode `{}` is not supported (query, fragment, form_post)",
            clip(other, 32)
        ))),
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Prompt {
    pub none: bool,
    pub login: bool,
    pub consent: bool,
}

/// Everything else the request says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub scopes: Scopes,
    pub response_mode: ResponseMode,
    /// An S256 code challenge, when given.
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub nonce: Option<String>,
    pub login_hint: Option<String>,
}

/// The parts that go back to the client as an error redirect once the
/// target is trusted.
pub fn parse(params: &Params) -> Result<Request, OAuthError> {
    if let Some(name) = params.first_repeated() {
        return Err(OAuthError::new(
            "invalid_request",
            format!("parameter `{}` is repeated", clip(name, 64)),
        ));
    }
    let one = |name: &str| params.get(name).ok().flatten();
    refuse_unsupported(&one)?;
    let response_mode = response_mode(params)?;
    let scopes = Scopes::parse(one("scope").unwrap_or("openid"))
        .map_err(|bad| OAuthError::new("invalid_scope", format!("scope `{bad}` is malformed")))?;
    Ok(Request {
        scopes,
        response_mode,
        code_challenge: code_challenge(one("code_challenge"), one("code_challenge_method"))?,
        prompt: prompt(one("prompt").unwrap_or(""))?,
        max_age: max_age(one("max_age"))?,
        nonce: one("nonce").map(str::to_string),
        login_hint: one("login_hint").map(|h| clip(h, 255)),
    })
}

/// Request objects (OIDC Core §6) and any response type but `code`.
fn refuse_unsupported<'a>(one: &impl Fn(&str) -> Option<&'a str>) -> Result<(), OAuthError> {
    if one("request").is_some() {
        return Err(OAuthError::new(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if one("request_uri").is_some() {
        return Err(OAuthError::new(
            "request_uri_not_supported",
            "request_uri is not supported",
        ));
    }
    match one("response_type") {
        None => Err(OAuthError::new(
            "invalid_request",
            "response_type is required",
        )),
        Some("code") => Ok(()),
        Some(_) => Err(OAuthError::new(
            "unsupported_response_type",
            "only response_type=code is supported",
        )),
    }
}

/// RFC 7636 §4.3, with `plain` refused (RFC 9700 §2.1.1: S256 only).
fn code_challenge(
    challenge: Option<&str>,
    method: Option<&str>,
) -> Result<Option<String>, OAuthError> {
    let refuse = |description: &str| Err(OAuthError::new("invalid_request", description));
    match (challenge, method) {
        (None, None) => Ok(None),
        (Some(challenge), Some("S256")) if crate::pkce::valid_value(challenge) => {
            Ok(Some(challenge.to_string()))
        }
        (Some(_), Some("S256")) => refuse("code_challenge is malformed"),
        (Some(_), None) | (Some(_), Some("plain")) => {
            refuse("PKCE method `plain` is not allowed; use S256")
        }
        (None, Some(_)) => refuse("code_challenge_method without code_challenge"),
        (Some(_), Some(_)) => refuse("unsupported code_challenge_method; use S256"),
    }
}

/// OIDC Core §3.1.2.1: space-separated; `none` stands alone.
fn prompt(values: &str) -> Result<Prompt, OAuthError> {
    let mut prompt = Prompt::default();
    for value in values.split(' ').filter(|v| !v.is_empty()) {
        match value {
            "none" => prompt.none = true,
            "login" => prompt.login = true,
            "consent" => prompt.consent = true,
            "select_account" => {}
            _ => {
                return Err(OAuthError::new(
                    "invalid_request",
                    format!("unknown prompt value `{}`", clip(value, 32)),
                ))
            }
        }
    }
    if prompt.none && (prompt.login || prompt.consent) {
        return Err(OAuthError::new(
            "invalid_request",
            "prompt=none cannot be combined with other values",
        ));
    }
    Ok(prompt)
}

fn max_age(value: Option<&str>) -> Result<Option<i64>, OAuthError> {
    value
        .map(|v| {
            v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
                OAuthError::new("invalid_request", "max_age must be a non-negative integer")
            })
        })
        .transpose()
}

/// RFC 8252 §7.3: a native app's loopback redirect may use any port;
/// scheme, host, path and query must match, with no fragment or userinfo.
pub fn loopback_matches(registered: &str, presented: &str) -> bool {
    let (Ok(r), Ok(p)) = (url::Url::parse(registered), url::Url::parse(presented)) else {
        return false;
    };
    let loopback = matches!(r.host_str(), Some("127.0.0.1") | Some("[::1]"));
    loopback
        && r.scheme() == "http"
        && p.scheme() == "http"
        && r.host_str() == p.host_str()
        && r.path() == p.path()
        && r.query() == p.query()
        && p.fragment().is_none()
        && p.username().is_empty()
        && p.password().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(q: &str) -> Params {
        Params::parse(q.as_bytes()).unwrap()
    }

    #[test]
    fn a_plain_code_request_parses() {
        let r = parse(&params(
            "response_type=code&scope=openid%20email&nonce=n&prompt=login&max_age=60",
        ))
        .unwrap();
        assert_eq!(r.scopes.to_string(), "openid email");
        assert!(r.prompt.login && !r.prompt.none);
        assert_eq!(r.max_age, Some(60));
    }

    #[test]
    fn downgrades_and_oddities_are_refused() {
        let cases = [
            ("response_type=token", "unsupported_response_type"),
            (
                "response_type=code&code_challenge=abc&code_challenge_method=plain",
                "invalid_request",
            ),
            ("response_type=code&response_mode=jwt", "invalid_request"),
            ("response_type=code&prompt=none%20login", "invalid_request"),
            ("response_type=code&scope=ad%22min", "invalid_scope"),
            ("response_type=code&response_type=code", "invalid_request"),
            ("response_type=code&request=x", "request_not_supported"),
            ("response_type=code&max_age=-1", "invalid_request"),
        ];
        for (q, error) in cases {
            assert_eq!(parse(&params(q)).unwrap_err().error, error, "{q}");
        }
    }

    #[test]
    fn loopback_redirects_may_use_any_port_but_nothing_else_changes() {
        assert!(loopback_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:51234/cb"
        ));
        assert!(loopback_matches(
            "http://[::1]:80/cb",
            "http://[::1]:9000/cb"
        ));
        assert!(!loopback_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:5/other"
        ));
        assert!(!loopback_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1.evil.com/cb"
        ));
        assert!(!loopback_matches(
            "http://localhost/cb",
            "http://localhost:8/cb"
        ));
        assert!(!loopback_matches(
            "https://127.0.0.1/cb",
            "https://127.0.0.1:8/cb"
        ));
    }
}
