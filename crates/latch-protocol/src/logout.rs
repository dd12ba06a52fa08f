//! RP-Initiated Logout 1.0 §2: the request's parameters.

use crate::{clip, Params};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
}

/// The parameters, or a message for the error page.
pub fn parse(params: &Params) -> Result<Request, String> {
    if let Some(name) = params.first_repeated() {
        return Err(format!("The parameter `{}` is repeated.", clip(name, 64)));
    }
    let get = |name: &str| {
        params
            .get(name)
            .map(|v| v.map(str::to_string))
            .map_err(|e| format!("The request is invalid: {e}."))
    };
    let request = Request {
        id_token_hint: get("id_token_hint")?,
        client_id: get("client_id")?,
        post_logout_redirect_uri: get("post_logout_redirect_uri")?,
        state: get("state")?,
    };
    if request.post_logout_redirect_uri.is_some()
        && request.client_id.is_none()
        && request.id_token_hint.is_none()
    {
        return Err("post_logout_redirect_uri needs client_id or id_token_hint.".into());
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_redirect_needs_someone_to_belong_to() {
        let p = |q: &str| Params::parse(q.as_bytes()).unwrap();
        assert!(parse(&p("post_logout_redirect_uri=https%3A%2F%2Fa.example%2F")).is_err());
        assert!(parse(&p(
            "client_id=a&post_logout_redirect_uri=https%3A%2F%2Fa.example%2F"
        ))
        .is_ok());
        assert!(parse(&p("state=1&state=2")).is_err());
    }
}
