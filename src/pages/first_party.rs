//! Latch's own pages — the admin console and the account page — sign
//! people in the way any relying party does: an authorization code request
//! with PKCE to Latch's authorization endpoint, and the code redeemed at the
//! callback (in-process, through the same grant code the token endpoint
//! runs). The request's state and verifier wait in a sealed, short-lived
//! cookie.

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};

use crate::app::Latch;
use crate::crypto;
use crate::http::cookies::Spec;
use crate::http::pages::PageError;
use crate::tokens::grants::{self, CodeRedemption, Context, TokenResponse};

const PURPOSE: &str = "first-party sign-in";
const PENDING_LIFETIME_MS: i64 = 10 * 60 * 1000;

/// One of Latch's own clients.
pub struct FirstParty {
    pub realm: String,
    pub client_id: &'static str,
    pub redirect_uri: String,
    /// The cookie holding the pending request.
    pub cookie: &'static str,
    pub cookie_path: String,
}

#[derive(Serialize, Deserialize)]
struct Pending {
    state: String,
    verifier: String,
    return_to: String,
    expires_at_ms: i64,
}

/// Only a path on this server may be returned to (no open redirect).
fn local_path(path: &str) -> bool {
    path.starts_with('/') && !path.starts_with("//") && !path.contains('\\')
}

impl FirstParty {
    /// Sends the browser to the authorization endpoint.
    pub fn begin(&self, state: &Latch, return_to: &str) -> HttpResponse {
        self.begin_with(state, return_to, &[])
    }

    /// [`begin`](Self::begin) with more authorization parameters
    /// (`prompt=login` for a fresh sign-in).
    pub fn begin_with(
        &self,
        state: &Latch,
        return_to: &str,
        extra: &[(&str, &str)],
    ) -> HttpResponse {
        let verifier = crypto::random_token::<32>();
        let challenge = crypto::b64url(&crypto::sha256(verifier.as_bytes()));
        let pending = Pending {
            state: crypto::random_token::<16>(),
            verifier,
            return_to: if local_path(return_to) {
                return_to.to_string()
            } else {
                "/".to_string()
            },
            expires_at_ms: state.clock.now_ms() + PENDING_LIFETIME_MS,
        };
        let mut url = match url::Url::parse(&format!(
            "{}{}",
            state.issuer(&self.realm),
            crate::oidc::AUTH_PATH
        )) {
            Ok(url) => url,
            Err(_) => return HttpResponse::InternalServerError().finish(),
        };
        url.query_pairs_mut()
            .append_pair("client_id", self.client_id)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid")
            .append_pair("state", &pending.state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .extend_pairs(extra);
        let sealed =
            state
                .directory
                .master()
                .seal_value(PURPOSE, self.client_id.as_bytes(), &pending);
        let mut cookie = self.spec(state).build(sealed);
        cookie.set_max_age(CookieDuration::minutes(10));
        let mut response = HttpResponse::SeeOther()
            .insert_header((header::LOCATION, url.to_string()))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish();
        let _ = response.add_cookie(&cookie);
        response
    }

    /// At the callback: checks the state, redeems the code. Returns the
    /// tokens and where to go next.
    pub async fn finish(
        &self,
        state: &Latch,
        req: &HttpRequest,
    ) -> Result<(TokenResponse, String), PageError> {
        let params = crate::http::form::from_query(req)?;
        if let Some(error) = params.get("error")? {
            let error: String = error.chars().take(64).collect();
            return Err(PageError::new(
                StatusCode::FORBIDDEN,
                "sign_in_failed",
                format!("Signing in did not complete ({error})."),
            ));
        }
        let expired = || {
            PageError::bad_request(
                "sign_in_expired",
                "This sign-in has expired or was started elsewhere. Start again.",
            )
        };
        let pending: Pending = self
            .spec(state)
            .read(req)
            .and_then(|c| {
                state
                    .directory
                    .master()
                    .open_value(PURPOSE, self.client_id.as_bytes(), &c)
            })
            .filter(|p: &Pending| p.expires_at_ms > state.clock.now_ms())
            .ok_or_else(expired)?;
        let returned = params.get("state")?.unwrap_or("");
        if !crypto::constant_time_eq(returned.as_bytes(), pending.state.as_bytes()) {
            return Err(expired());
        }
        let code = params.get("code")?.ok_or_else(expired)?;
        let realm = state.directory.realm(&self.realm).await?;
        let client = state
            .directory
            .client(&realm, self.client_id)
            .await?
            .ok_or_else(|| {
                PageError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "A built-in client is missing; restart the server to restore it.",
                )
            })?;
        let issuer = state.issuer(&realm.realm.name);
        let ctx = Context {
            directory: &state.directory,
            follower: &state.follower,
            status_lists: &state.status_lists,
            fanout: state.fanout.as_ref(),
            realm: &realm,
            issuer: &issuer,
            now_ms: state.clock.now_ms(),
        };
        let redemption = CodeRedemption {
            code,
            redirect_uri: Some(&self.redirect_uri),
            code_verifier: Some(&pending.verifier),
            resource: None,
        };
        let tokens = grants::authorization_code(&ctx, &client, redemption)
            .await
            .map_err(|f| match f {
                crate::error::Error::OAuth { description, .. } => {
                    PageError::bad_request("sign_in_failed", description)
                }
                e => e.into(),
            })?;
        Ok((tokens, pending.return_to))
    }

    fn spec(&self, state: &Latch) -> Spec {
        Spec::new(
            self.cookie,
            Some(&self.realm),
            &self.cookie_path,
            state.secure_cookies(),
        )
    }

    /// Clears the pending-request cookie (on the callback's response).
    pub fn clear(&self, state: &Latch, response: &mut HttpResponse) {
        let _ = response.add_cookie(&self.spec(state).removal());
    }
}

/// A 303 to a local path.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}
