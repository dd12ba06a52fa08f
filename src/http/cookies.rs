//! The cookies Latch sets, named and scoped in one place. All are HttpOnly
//! and SameSite=Lax, but for the two that a third-party frame must see
//! (`Framed`). Under TLS they are also `Secure` and carry the `__Host-`
//! prefix (which demands `Path=/` and no `Domain`, so a sibling host cannot
//! plant or shadow them); a per-realm cookie then carries the realm in its
//! name instead of its path.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::HttpRequest;

/// One of Latch's cookies: its name and path on this server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub name: String,
    pub path: String,
    pub secure: bool,
}

impl Spec {
    /// `base` scoped to `path` over plain HTTP; `__Host-base[-scope]` at
    /// `/` under TLS.
    pub fn new(base: &str, scope: Option<&str>, path: &str, secure: bool) -> Spec {
        if secure {
            let suffix = scope.map(|s| format!("-{s}")).unwrap_or_default();
            Spec {
                name: format!("__Host-{base}{suffix}"),
                path: "/".into(),
                secure,
            }
        } else {
            Spec {
                name: base.to_string(),
                path: path.to_string(),
                secure,
            }
        }
    }

    pub fn build(&self, value: String) -> Cookie<'static> {
        Cookie::build(self.name.clone(), value)
            .path(self.path.clone())
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .finish()
    }

    /// A cookie that deletes this one.
    pub fn removal(&self) -> Cookie<'static> {
        let mut cookie = self.build(String::new());
        cookie.make_removal();
        cookie
    }

    pub fn read(&self, req: &HttpRequest) -> Option<String> {
        req.cookie(&self.name).map(|c| c.value().to_string())
    }
}

/// The browser session of a realm.
pub fn session(realm: &str, secure: bool) -> Spec {
    Spec::new(
        crate::login::session::COOKIE,
        Some(realm),
        &format!("/realms/{realm}/"),
        secure,
    )
}

/// A cookie that pages framed by other sites must see: `SameSite=None`
/// under TLS (which browsers allow only with `Secure`), `SameSite=Lax` over
/// plain HTTP — where only apps on Latch's own site see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Framed {
    pub spec: Spec,
    pub http_only: bool,
}

impl Framed {
    pub fn build(&self, value: String) -> Cookie<'static> {
        let same_site = if self.spec.secure {
            SameSite::None
        } else {
            SameSite::Lax
        };
        Cookie::build(self.spec.name.clone(), value)
            .path(self.spec.path.clone())
            .http_only(self.http_only)
            .secure(self.spec.secure)
            .same_site(same_site)
            .finish()
    }

    pub fn removal(&self) -> Cookie<'static> {
        let mut cookie = self.build(String::new());
        cookie.make_removal();
        cookie
    }

    pub fn read(&self, req: &HttpRequest) -> Option<String> {
        self.spec.read(req)
    }
}

/// The session's companion for the login-status iframe (OIDC Session
/// Management): readable by script, set and cleared with the session
/// cookie, holding only base64url(SHA-256(sid)) (`session_state_value`).
/// It proves nothing, and nothing accepts it as a credential.
pub fn session_state(realm: &str, secure: bool) -> Framed {
    Framed {
        spec: Spec::new(
            "LATCH_SESSION_STATE",
            Some(realm),
            &format!("/realms/{realm}/"),
            secure,
        ),
        http_only: false,
    }
}

/// What the login-status iframe compares with the `sid` an app sends.
pub fn session_state_value(sid: &str) -> String {
    crate::crypto::b64url(&crate::crypto::sha256(sid.as_bytes()))
}

/// The session cookie and its companion (`session_state`), for a session
/// that has just started; a remembered one outlives the browser.
pub fn session_started(
    realm: &str,
    secure: bool,
    secret: String,
    sid: &str,
    max_age_s: Option<i64>,
) -> [Cookie<'static>; 2] {
    let mut cookies = [
        session(realm, secure).build(secret),
        session_state(realm, secure).build(session_state_value(sid)),
    ];
    if let Some(seconds) = max_age_s {
        for cookie in &mut cookies {
            cookie.set_max_age(actix_web::cookie::time::Duration::seconds(seconds));
        }
    }
    cookies
}

/// Removes the session cookie and its companion.
pub fn session_ended(realm: &str, secure: bool) -> [Cookie<'static>; 2] {
    [
        session(realm, secure).removal(),
        session_state(realm, secure).removal(),
    ]
}

/// The third-party cookie check's test cookie (`3p-cookies/step1.html`
/// sets it, `step2.html` reads it): does this browser send a framed page
/// its cookies?
pub fn third_party_check(realm: &str, secure: bool) -> Framed {
    Framed {
        spec: Spec::new(
            "LATCH_3P_CHECK",
            Some(realm),
            &format!("/realms/{realm}/protocol/openid-connect/3p-cookies/"),
            secure,
        ),
        http_only: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_cookies_take_the_host_prefix_and_the_root_path() {
        let plain = session("demo", false);
        assert_eq!(
            (plain.name.as_str(), plain.path.as_str()),
            ("LATCH_SESSION", "/realms/demo/")
        );
        let tls = session("demo", true);
        assert_eq!(
            (tls.name.as_str(), tls.path.as_str()),
            ("__Host-LATCH_SESSION-demo", "/")
        );
        let cookie = tls.build("v".into()).to_string();
        assert!(
            cookie.contains("Secure")
                && cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Lax"),
            "{cookie}"
        );
    }

    #[test]
    fn the_session_state_cookie_is_readable_and_framed_under_tls_only() {
        let tls = session_state("demo", true).build("v".into()).to_string();
        assert!(
            tls.starts_with("__Host-LATCH_SESSION_STATE-demo=v"),
            "{tls}"
        );
        assert!(
            tls.contains("SameSite=None") && tls.contains("Secure") && !tls.contains("HttpOnly"),
            "{tls}"
        );
        let plain = session_state("demo", false).build("v".into()).to_string();
        assert!(
            plain.contains("SameSite=Lax") && plain.contains("Path=/realms/demo/"),
            "{plain}"
        );
        assert!(
            !plain.contains("Secure") && !plain.contains("HttpOnly"),
            "{plain}"
        );
        assert_eq!(
            session_state_value("abc"),
            "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0"
        );
    }
}
