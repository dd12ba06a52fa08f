//! The token request (RFC 6749 §3.2, §4): which grant, its fields, and the
//! client's credentials (§2.3.1: `client_secret_basic` or
//! `client_secret_post`, never both).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::{clip, OAuthError, Params};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    AuthorizationCode {
        code: String,
        redirect_uri: Option<String>,
        code_verifier: Option<String>,
    },
    RefreshToken {
        refresh_token: String,
        scope: Option<String>,
    },
    ClientCredentials {
        scope: Option<String>,
    },
    Password {
        username: String,
        password: String,
        scope: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub grant: Grant,
    /// RFC 8707: the API the token is for.
    pub resource: Option<String>,
}

/// The grant and its fields.
pub fn parse(params: &Params) -> Result<Request, OAuthError> {
    if let Some(name) = params.first_repeated() {
        return Err(OAuthError::invalid_request(format!(
            "parameter `{}` is repeated",
            clip(name, 64)
        )));
    }
    let get = |name: &str| -> Result<Option<String>, OAuthError> {
        params
            .get(name)
            .map(|v| v.map(str::to_string))
            .map_err(|e| OAuthError::invalid_request(e.to_string()))
    };
    let need = |name: &'static str| -> Result<String, OAuthError> {
        get(name)?.ok_or_else(|| OAuthError::invalid_request(format!("{name} is required")))
    };
    let grant_type = need("grant_type")?;
    let grant = match grant_type.as_str() {
        "authorization_code" => Grant::AuthorizationCode {
            code: need("code")?,
            redirect_uri: get("redirect_uri")?,
            code_verifier: get("code_verifier")?,
        },
        "refresh_token" => Grant::RefreshToken {
            refresh_token: need("refresh_token")?,
            scope: get("scope")?,
        },
        "client_credentials" => Grant::ClientCredentials {
            scope: get("scope")?,
        },
        "password" => Grant::Password {
            username: need("username")?,
            password: need("password")?,
            scope: get("scope")?,
        },
        other => {
            return Err(OAuthError::new(
                "unsupported_grant_type",
                format!("grant_type `{}` is not supported", clip(other, 64)),
            ))
        }
    };
    Ok(Request {
        grant,
        resource: get("resource")?,
    })
}

/// `Authorization: Basic …` decoded into (client id, secret); `None` when
/// there is no such header. Errors are `invalid_client`.
pub fn basic_credentials(header: Option<&str>) -> Result<Option<(String, String)>, OAuthError> {
    let Some(value) = header else {
        return Ok(None);
    };
    let malformed = || OAuthError::new("invalid_client", "the Authorization header is malformed");
    let Some(encoded) = value
        .get(..6)
        .filter(|scheme| scheme.eq_ignore_ascii_case("basic "))
        .map(|_| value[6..].trim())
    else {
        return Err(OAuthError::new(
            "invalid_client",
            "use HTTP Basic client authentication",
        ));
    };
    let decoded = STANDARD.decode(encoded).map_err(|_| malformed())?;
    let text = String::from_utf8(decoded).map_err(|_| malformed())?;
    let (id, secret) = text.split_once(':').ok_or_else(malformed)?;
    // §2.3.1: both parts are form-urlencoded before encoding.
    let decode = |s: &str| -> Result<String, OAuthError> {
        let value = form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .ok_or_else(malformed)?;
        if value.contains(['\u{FFFD}', '\0']) {
            return Err(malformed());
        }
        Ok(value)
    };
    Ok(Some((decode(id)?, decode(secret)?)))
}

/// Who claims to be calling: (client id, secret if any), from the Basic
/// header or the form, refusing both at once or a mismatch.
pub fn client_credentials(
    basic: Option<(String, String)>,
    params: &Params,
) -> Result<(String, Option<String>), OAuthError> {
    let form_id = params
        .get("client_id")
        .map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    let form_secret = params
        .get("client_secret")
        .map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    match (basic, form_id, form_secret) {
        (Some(_), _, Some(_)) => Err(OAuthError::invalid_request(
            "use one client authentication method, not two",
        )),
        (Some((id, _)), Some(form), None) if form != id => Err(OAuthError::invalid_request(
            "client_id differs from the authenticated client",
        )),
        (Some((id, secret)), _, None) => Ok((id, Some(secret))),
        (None, Some(id), secret) => Ok((id.to_string(), secret.map(str::to_string))),
        (None, None, _) => Err(OAuthError::new(
            "invalid_client",
            "client authentication is required",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(q: &str) -> Params {
        Params::parse(q.as_bytes()).unwrap()
    }

    #[test]
    fn grants_and_their_fields() {
        let r = parse(&p("grant_type=authorization_code&code=c&code_verifier=v")).unwrap();
        assert!(matches!(r.grant, Grant::AuthorizationCode { .. }));
        assert_eq!(
            parse(&p("grant_type=refresh_token")).unwrap_err().error,
            "invalid_request"
        );
        assert_eq!(
            parse(&p("grant_type=implicit")).unwrap_err().error,
            "unsupported_grant_type"
        );
        assert_eq!(
            parse(&p("grant_type=password&grant_type=password"))
                .unwrap_err()
                .error,
            "invalid_request"
        );
    }

    #[test]
    fn basic_credentials_are_decoded_and_checked() {
        let header = format!("Basic {}", STANDARD.encode("my%20app:s%3Acret"));
        let (id, secret) = basic_credentials(Some(&header)).unwrap().unwrap();
        assert_eq!((id.as_str(), secret.as_str()), ("my app", "s:cret"));
        assert!(basic_credentials(Some("Bearer x")).is_err());
        assert!(basic_credentials(Some("Basic !!!")).is_err());
        let both = client_credentials(Some(("a".into(), "s".into())), &p("client_secret=s"));
        assert_eq!(both.unwrap_err().error, "invalid_request");
    }
}
