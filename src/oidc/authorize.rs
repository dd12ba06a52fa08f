//! The authorization endpoint (OIDC Core §3.1.2, RFC 6749 §4.1, RFC 7636):
//! the request is validated here, the browser goes through the sign-in
//! pages (`crate::pages`) as needed, and the response — a code or an error
//! — goes back to the client from here.
//!
//! Until the client and its redirect URI are validated, errors are shown
//! as a page and never redirect (RFC 6749 §4.1.2.1); after that they go
//! back to the client.

use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use crate::app::Latch;
use crate::directory::{Client, GrantType, RealmState};
use crate::http::form::Params;
use crate::http::pages::{self, PageError};
use crate::login::session::SessionRow;
use crate::operations::signin;
use crate::tokens::codes::CodeGrant;
use crate::tokens::Scopes;

pub use latch_protocol::authorize::{Prompt, ResponseMode};

/// A validated authorization request.
pub struct AuthRequest {
    pub client: Arc<Client>,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    /// The granted scope: `openid`, what was asked, the client's defaults.
    pub scopes: Scopes,
    /// What the consent screen lists, one line per client scope.
    pub consent_lines: Vec<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    pub response_mode: ResponseMode,
    /// The request as received, carried through the login and consent forms.
    pub params: Params,
}

/// An error to send back to the client's redirect URI.
pub struct ErrorRedirect {
    redirect_uri: String,
    error: &'static str,
    description: String,
    state: Option<String>,
    mode: ResponseMode,
}

pub enum Rejection {
    Page(PageError),
    Redirect(ErrorRedirect),
}

impl From<PageError> for Rejection {
    fn from(e: PageError) -> Self {
        Rejection::Page(e)
    }
}

impl From<crate::error::Error> for Rejection {
    fn from(e: crate::error::Error) -> Self {
        Rejection::Page(e.into())
    }
}

impl AuthRequest {
    /// An error for the client (RFC 6749 §4.1.2.1), in its response mode.
    pub fn refuse(&self, error: &'static str, description: &str) -> Rejection {
        Rejection::Redirect(ErrorRedirect {
            redirect_uri: self.redirect_uri.clone(),
            error,
            description: description.to_string(),
            state: self.state.clone(),
            mode: self.response_mode,
        })
    }
}

fn page_error(message: impl Into<String>) -> Rejection {
    Rejection::Page(PageError::bad_request("invalid_request", message))
}

pub fn redirect_uri_allowed(client: &Client, presented: &str) -> bool {
    client.redirect_uris.iter().any(|r| r == presented)
        || (client.is_public()
            && client
                .redirect_uris
                .iter()
                .any(|r| latch_protocol::authorize::loopback_matches(r, presented)))
}

/// The client and its redirect URI: until both are known, errors are pages.
async fn target(
    state: &Latch,
    realm: &RealmState,
    params: &Params,
) -> Result<(Arc<Client>, String), Rejection> {
    let target = latch_protocol::authorize::target(params).map_err(page_error)?;
    let client = state
        .directory
        .client(realm, &target.client_id)
        .await
        .map_err(PageError::from)?
        .filter(|c| c.enabled)
        .ok_or_else(|| page_error("The application is not registered with this realm."))?;
    if !redirect_uri_allowed(&client, &target.redirect_uri) {
        return Err(page_error(
            "The redirect URI does not match one registered for this application.",
        ));
    }
    Ok((client, target.redirect_uri))
}

pub async fn validate(
    state: &Latch,
    realm: &RealmState,
    params: Params,
) -> Result<AuthRequest, Rejection> {
    let (client, redirect_uri) = target(state, realm, &params).await?;
    // From here on, errors go back to the client.
    let state_param = params.get("state").ok().flatten().map(str::to_string);
    let mode = latch_protocol::authorize::response_mode(&params).unwrap_or_default();
    let fail = |error: &'static str, description: &str| {
        Rejection::Redirect(ErrorRedirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description: description.to_string(),
            state: state_param.clone(),
            mode,
        })
    };
    let parsed =
        latch_protocol::authorize::parse(&params).map_err(|e| fail(e.error, &e.description))?;
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(fail(
            "unauthorized_client",
            "this client may not use the authorization code flow",
        ));
    }
    if client.is_public() && parsed.code_challenge.is_none() {
        return Err(fail(
            "invalid_request",
            "PKCE (code_challenge with S256) is required for public clients",
        ));
    }
    let granted = realm
        .scopes
        .resolve(
            &client.default_scopes,
            &client.optional_scopes,
            &parsed.scopes,
        )
        .map_err(|bad| {
            fail(
                "invalid_scope",
                &format!("scope `{bad}` is not offered to this client"),
            )
        })?;
    Ok(AuthRequest {
        state: state_param.clone(),
        nonce: parsed.nonce,
        login_hint: parsed.login_hint,
        response_mode: parsed.response_mode,
        client,
        redirect_uri,
        scopes: granted.scope,
        consent_lines: granted.applied.iter().map(|s| s.consent_line()).collect(),
        code_challenge: parsed.code_challenge,
        prompt: parsed.prompt,
        max_age: parsed.max_age,
        params,
    })
}

impl ErrorRedirect {
    fn response(&self, issuer: &str, status: StatusCode) -> HttpResponse {
        let mut pairs = vec![
            ("error", self.error.to_string()),
            ("error_description", self.description.clone()),
        ];
        if let Some(state) = &self.state {
            pairs.push(("state", state.clone()));
        }
        pairs.push(("iss", issuer.to_string()));
        respond_to_client(&self.redirect_uri, &pairs, self.mode, status)
    }
}
/// The script that submits a form_post response; the page's CSP allows
/// exactly this script by its hash, nothing else.
const FORM_POST_SCRIPT: &str = "document.forms[0].submit()";

#[derive(Template)]
#[template(path = "form_post.html")]
struct FormPostPage<'a> {
    action: &'a str,
    fields: &'a [(&'a str, String)],
    script: &'static str,
}

/// The authorization response in the client's response mode: the query
/// (default), the fragment, or an auto-submitting form (form_post).
fn respond_to_client(
    uri: &str,
    pairs: &[(&str, String)],
    mode: ResponseMode,
    status: StatusCode,
) -> HttpResponse {
    match mode {
        ResponseMode::Query => redirect(uri, pairs, status),
        ResponseMode::Fragment => {
            let mut encoded = url::form_urlencoded::Serializer::new(String::new());
            for (k, v) in pairs {
                encoded.append_pair(k, v);
            }
            let location = format!("{uri}#{}", encoded.finish());
            HttpResponse::build(status)
                .insert_header((header::LOCATION, location))
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish()
        }
        ResponseMode::FormPost => {
            use base64::Engine;
            use sha2::Digest;
            let hash = base64::engine::general_purpose::STANDARD
                .encode(sha2::Sha256::digest(FORM_POST_SCRIPT.as_bytes()));
            let target = url::Url::parse(uri)
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_else(|_| "'none'".into());
            let csp = format!(
                "default-src 'none'; script-src 'sha256-{hash}'; form-action {target}; \
                 frame-ancestors 'none'; base-uri 'none'"
            );
            let page = FormPostPage {
                action: uri,
                fields: pairs,
                script: FORM_POST_SCRIPT,
            };
            pages::render_with_csp(StatusCode::OK, &page, &csp)
        }
    }
}

/// Appends parameters to the redirect URI, keeping its own query.
fn redirect(uri: &str, pairs: &[(&str, String)], status: StatusCode) -> HttpResponse {
    let location = match url::Url::parse(uri) {
        Ok(mut url) => {
            {
                let mut query = url.query_pairs_mut();
                for (k, v) in pairs {
                    query.append_pair(k, v);
                }
            }
            url.to_string()
        }
        Err(_) => uri.to_string(),
    };
    HttpResponse::build(status)
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The response to a refused request: a page, or an error for the client.
pub fn reject(
    state: &Latch,
    realm: &RealmState,
    rejection: Rejection,
    status: StatusCode,
) -> HttpResponse {
    use actix_web::ResponseError;
    match rejection {
        Rejection::Page(page) => page.error_response(),
        Rejection::Redirect(r) => r.response(&state.issuer(&realm.realm.name), status),
    }
}

/// The successful response (RFC 6749 §4.1.2): a code for the signed-in
/// session, sent back to the client.
pub async fn issue_code(
    state: &Latch,
    realm: &RealmState,
    request: &AuthRequest,
    session: &SessionRow,
    status: StatusCode,
    fresh: bool,
) -> Result<HttpResponse, PageError> {
    let grant = CodeGrant {
        realm_id: realm.realm.id.clone(),
        client_row_id: request.client.id.clone(),
        user_id: session.user_id.clone(),
        session_id: session.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scopes.to_string(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        auth_time_s: session.auth_time_s,
        acr: crate::login::second_factor::acr(session.acr_level, fresh).to_string(),
    };
    let code = signin::issue_code(state, realm, session, grant).await?;
    let mut pairs = vec![("code", code)];
    if let Some(s) = &request.state {
        pairs.push(("state", s.clone()));
    }
    // Keycloak names the session in every authorization response (OIDC
    // Session Management's `session_state`); Latch's is the session id.
    pairs.push(("session_state", session.id.clone()));
    // RFC 9207: name the issuer so the client can tell responses apart.
    pairs.push(("iss", state.issuer(&realm.realm.name)));
    Ok(respond_to_client(
        &request.redirect_uri,
        &pairs,
        request.response_mode,
        status,
    ))
}

async fn authorize(
    state: web::Data<Latch>,
    realm_name: String,
    http: HttpRequest,
    params: Params,
) -> HttpResponse {
    let realm = match state.directory.realm(&realm_name).await {
        Ok(realm) => realm,
        Err(e) => return crate::pages::error_page(e.into()),
    };
    let request = match validate(&state, &realm, params).await {
        Ok(request) => request,
        Err(rejection) => return reject(&state, &realm, rejection, StatusCode::FOUND),
    };
    let signed_in = match crate::pages::current_session(&state, &realm, &http).await {
        Ok(s) => s,
        Err(e) => return crate::pages::error_page(e),
    };
    let next = crate::pages::Next {
        signed_in,
        just_authenticated: false,
        status: StatusCode::FOUND,
    };
    match crate::pages::proceed(&state, &realm, &http, request, next).await {
        Ok(response) => response,
        Err(rejection) => reject(&state, &realm, rejection, StatusCode::FOUND),
    }
}

/// `GET /realms/{realm}/protocol/openid-connect/auth`
pub async fn authorize_get(
    state: web::Data<Latch>,
    path: web::Path<String>,
    http: HttpRequest,
) -> HttpResponse {
    match crate::http::form::from_query(&http) {
        Ok(params) => authorize(state, path.into_inner(), http, params).await,
        Err(e) => crate::pages::error_page(e.into()),
    }
}

/// `POST /realms/{realm}/protocol/openid-connect/auth` (form-encoded, OIDC Core §3.1.2.1)
pub async fn authorize_post(
    state: web::Data<Latch>,
    path: web::Path<String>,
    http: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    match crate::http::form::from_body(&http, body).await {
        Ok(params) => authorize(state, path.into_inner(), http, params).await,
        Err(e) => crate::pages::error_page(e.into()),
    }
}
