//! The cookies Latch sets, named and scoped in one place. All are HttpOnly
//! and SameSite=Lax. Under TLS they are also `Secure` and carry the
//! `__Host-` prefix (which demands `Path=/` and no `Domain`, so a sibling
//! host cannot plant or shadow them); a per-realm cookie then carries the
//! realm in its name instead of its path.

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
}
