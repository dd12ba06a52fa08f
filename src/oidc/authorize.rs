//! The authorization endpoint (OIDC Core §3.1.2, RFC 6749 §4.1, RFC 7636)
//! and the login and consent forms it leads through.
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
use crate::login::{csrf, session};
use crate::revocation::cascade::Actor;
use crate::store::sessions::SessionRow;
use crate::store::users::User;
use crate::store::{self, codes::CodeRow};
use crate::tokens::Scopes;

/// Authorization codes live 60 seconds (RFC 6749 §4.1.2 recommends at most 10 minutes).
pub const CODE_LIFETIME_MS: i64 = 60_000;

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

pub async fn validate(
    state: &Latch,
    realm: &RealmState,
    params: Params,
) -> Result<AuthRequest, Rejection> {
    let target = latch_protocol::authorize::target(&params).map_err(page_error)?;
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
    let redirect_uri = target.redirect_uri;
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
        nonce: parsed.nonce,
        login_hint: parsed.login_hint,
        response_mode: parsed.response_mode,
        client,
        redirect_uri,
        state: state_param.clone(),
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

fn reject(
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

pub(crate) fn cookie_path(realm: &RealmState) -> String {
    format!("/realms/{}/", realm.realm.name)
}

/// The browser's live session in this realm, if any.
pub(crate) async fn current_session(
    state: &Latch,
    realm: &RealmState,
    req: &HttpRequest,
) -> Result<Option<(SessionRow, User)>, PageError> {
    let Some(cookie) =
        crate::http::cookies::session(&realm.realm.name, state.secure_cookies()).read(req)
    else {
        return Ok(None);
    };
    let hash = state.directory.hash_token(&cookie);
    let realm_id = realm.realm.id.clone();
    let now = state.clock.now_ms();
    Ok(state
        .directory
        .store()
        .run(move |conn| session::find_live(conn, &realm_id, &hash, now))
        .await?)
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    realm: &'a str,
    client_id: &'a str,
    action: String,
    csrf_token: String,
    auth_request: String,
    username: &'a str,
    error: Option<&'a str>,
    remember_me: bool,
}

fn login_page(
    state: &Latch,
    realm: &RealmState,
    http: &HttpRequest,
    request: &AuthRequest,
    username: &str,
    error: Option<&str>,
) -> HttpResponse {
    let (csrf_token, cookie) = csrf::token(http, &cookie_path(realm), state.secure_cookies());
    let page = LoginPage {
        realm: &realm.realm.name,
        client_id: &request.client.client_id,
        action: format!("/realms/{}/login-actions/authenticate", realm.realm.name),
        csrf_token,
        auth_request: request.params.encode(),
        username,
        error,
        remember_me: realm.realm.remember_me,
    };
    let mut response = pages::render(StatusCode::OK, &page);
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    client_id: &'a str,
    scopes: Vec<String>,
    action: String,
    csrf_token: String,
    auth_request: String,
    username: &'a str,
}

fn consent_page(
    state: &Latch,
    realm: &RealmState,
    http: &HttpRequest,
    request: &AuthRequest,
    user: &User,
) -> HttpResponse {
    let (csrf_token, cookie) = csrf::token(http, &cookie_path(realm), state.secure_cookies());
    let page = ConsentPage {
        client_id: &request.client.client_id,
        scopes: std::iter::once("Sign you in with your account".to_string())
            .chain(request.consent_lines.iter().cloned())
            .collect(),
        action: format!("/realms/{}/login-actions/consent", realm.realm.name),
        csrf_token,
        auth_request: request.params.encode(),
        username: &user.username,
    };
    let mut response = pages::render(StatusCode::OK, &page);
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

/// Whether the user must be asked: the client demands consent, the request
/// does, or a scope (notably `offline_access`, OIDC Core §11) was never granted.
async fn needs_consent(
    state: &Latch,
    request: &AuthRequest,
    user: &User,
) -> Result<bool, PageError> {
    if request.prompt.consent {
        return Ok(true);
    }
    let asks_offline = request.scopes.contains("offline_access");
    if !request.client.consent_required && !asks_offline {
        return Ok(false);
    }
    let (user_id, client_id) = (user.id.clone(), request.client.id.clone());
    let granted = state
        .directory
        .store()
        .run(move |conn| store::consents::find(conn, &user_id, &client_id))
        .await?;
    let granted = granted
        .and_then(|g| Scopes::parse(&g).ok())
        .unwrap_or_default();
    let wanted = if request.client.consent_required {
        request.scopes.clone()
    } else {
        Scopes::parse("offline_access").unwrap_or_default()
    };
    Ok(!wanted.is_subset_of(&granted))
}

/// Issues the code and sends the browser back to the client.
async fn issue_code(
    state: &Latch,
    realm: &RealmState,
    request: &AuthRequest,
    session: &SessionRow,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let code = crate::crypto::random_token::<32>();
    let now = state.clock.now_ms();
    let row = CodeRow {
        code_hash: state.directory.hash_token(&code),
        realm_id: realm.realm.id.clone(),
        client_id: request.client.id.clone(),
        user_id: session.user_id.clone(),
        session_id: session.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scopes.to_string(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        auth_time_s: session.auth_time_s,
        created_at_ms: now,
        expires_at_ms: now + CODE_LIFETIME_MS,
        used_at_ms: None,
        family_id: None,
        access_jti: None,
    };
    let sid = session.id.clone();
    let idle = session::idle_ms(&realm.realm, session.remember_me);
    state
        .directory
        .store()
        .run(move |conn| -> Result<(), crate::error::Error> {
            store::codes::insert(conn, &row)?;
            store::sessions::touch(conn, &sid, now, idle)?;
            Ok(())
        })
        .await?;
    let mut pairs = vec![("code", code)];
    if let Some(s) = &request.state {
        pairs.push(("state", s.clone()));
    }
    // RFC 9207: name the issuer so the client can tell responses apart.
    pairs.push(("iss", state.issuer(&realm.realm.name)));
    Ok(respond_to_client(
        &request.redirect_uri,
        &pairs,
        request.response_mode,
        status,
    ))
}

/// After validation: sign in if needed, ask consent if needed, issue the code.
async fn proceed(
    state: &Latch,
    realm: &RealmState,
    http: &HttpRequest,
    request: AuthRequest,
    signed_in: Option<(SessionRow, User)>,
    just_authenticated: bool,
    status: StatusCode,
) -> Result<HttpResponse, Rejection> {
    let now_s = state.clock.now_ms() / 1000;
    let fail = |error: &'static str, description: &str| {
        Rejection::Redirect(ErrorRedirect {
            redirect_uri: request.redirect_uri.clone(),
            error,
            description: description.to_string(),
            state: request.state.clone(),
            mode: request.response_mode,
        })
    };
    let must_sign_in = match &signed_in {
        None => true,
        Some((s, _)) if !just_authenticated => {
            request.prompt.login
                || request
                    .max_age
                    .is_some_and(|max| now_s - s.auth_time_s > max)
        }
        Some(_) => false,
    };
    let Some((session, user)) = signed_in.filter(|_| !must_sign_in) else {
        if request.prompt.none {
            return Err(fail("login_required", "the user is not signed in"));
        }
        let hint = request.login_hint.clone().unwrap_or_default();
        return Ok(login_page(state, realm, http, &request, &hint, None));
    };
    if needs_consent(state, &request, &user).await? {
        if request.prompt.none {
            return Err(fail(
                "consent_required",
                "the user has not granted the requested access",
            ));
        }
        return Ok(consent_page(state, realm, http, &request, &user));
    }
    Ok(issue_code(state, realm, &request, &session, status).await?)
}

async fn authorize(
    state: web::Data<Latch>,
    realm_name: String,
    http: HttpRequest,
    params: Params,
) -> HttpResponse {
    let realm = match state.directory.realm(&realm_name).await {
        Ok(realm) => realm,
        Err(e) => return reject_page(e.into()),
    };
    let request = match validate(&state, &realm, params).await {
        Ok(request) => request,
        Err(rejection) => return reject(&state, &realm, rejection, StatusCode::FOUND),
    };
    let signed_in = match current_session(&state, &realm, &http).await {
        Ok(s) => s,
        Err(e) => return reject_page(e),
    };
    match proceed(
        &state,
        &realm,
        &http,
        request,
        signed_in,
        false,
        StatusCode::FOUND,
    )
    .await
    {
        Ok(response) => response,
        Err(rejection) => reject(&state, &realm, rejection, StatusCode::FOUND),
    }
}

fn reject_page(e: PageError) -> HttpResponse {
    use actix_web::ResponseError;
    e.error_response()
}

/// `GET /realms/{realm}/protocol/openid-connect/auth`
pub async fn authorize_get(
    state: web::Data<Latch>,
    path: web::Path<String>,
    http: HttpRequest,
) -> HttpResponse {
    match crate::http::form::from_query(&http) {
        Ok(params) => authorize(state, path.into_inner(), http, params).await,
        Err(e) => reject_page(e.into()),
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
        Err(e) => reject_page(e.into()),
    }
}

/// The fields every login-action form carries.
struct ActionForm {
    realm: Arc<RealmState>,
    form: Params,
    request: AuthRequest,
}

async fn read_action_form(
    state: &Latch,
    realm_name: &str,
    http: &HttpRequest,
    body: web::Payload,
) -> Result<ActionForm, HttpResponse> {
    let realm = state
        .directory
        .realm(realm_name)
        .await
        .map_err(|e| reject_page(e.into()))?;
    let form = crate::http::form::from_body(http, body)
        .await
        .map_err(|e| reject_page(e.into()))?;
    if let Err(e) = csrf::check(http, &form, state.secure_cookies()) {
        return Err(reject_page(e));
    }
    let raw = form.get("auth_request").ok().flatten().unwrap_or("");
    let original = Params::parse(raw.as_bytes()).map_err(|e| reject_page(e.into()))?;
    let request = validate(state, &realm, original)
        .await
        .map_err(|r| reject(state, &realm, r, StatusCode::SEE_OTHER))?;
    Ok(ActionForm {
        realm,
        form,
        request,
    })
}

/// `POST /realms/{realm}/login-actions/authenticate`: the login form.
pub async fn authenticate(
    state: web::Data<Latch>,
    path: web::Path<String>,
    http: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let ActionForm {
        realm,
        form,
        request,
    } = match read_action_form(&state, &path, &http, body).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    let username = form
        .get("username")
        .ok()
        .flatten()
        .unwrap_or("")
        .to_string();
    let password = form
        .get("password")
        .ok()
        .flatten()
        .unwrap_or("")
        .to_string();
    let ip = http
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    if let Err(wait) = state
        .defences
        .unauthenticated
        .take(&("form", ip), state.clock.now_ms())
    {
        return throttled_page(&state, &realm, &http, &request, &username, wait);
    }
    let user = match check_password(&state, &realm, &http, &request, &username, password).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            return login_page(
                &state,
                &realm,
                &http,
                &request,
                &username,
                Some("Wrong username or password."),
            )
        }
        Err(response) => return response,
    };
    if user.must_update_password() {
        return update_password_page(&state, &realm, &http, &request, &user, None);
    }
    let remember_me = form.get("remember_me").ok().flatten() == Some("on");
    signed_in_response(&state, &realm, &http, request, user, remember_me).await
}

/// Starts the session for a user who has just proved who they are, and
/// goes on with the authorization request (consent, then the code).
async fn signed_in_response(
    state: &web::Data<Latch>,
    realm: &Arc<RealmState>,
    http: &HttpRequest,
    request: AuthRequest,
    user: User,
    remember_me: bool,
) -> HttpResponse {
    let (state, realm, http) = (state.clone(), Arc::clone(realm), http.clone());
    let started = start_session(&state, &realm, &http, &user, remember_me).await;
    let (cookie_value, session_row) = match started {
        Ok(v) => v,
        Err(e) => return reject_page(e),
    };
    let mut cookie = crate::http::cookies::session(&realm.realm.name, state.secure_cookies())
        .build(cookie_value);
    if session_row.remember_me {
        // Remembered: the cookie outlives the browser, as long as the session.
        cookie.set_max_age(actix_web::cookie::time::Duration::seconds(
            realm.realm.remember_me_lifetime_s,
        ));
    }
    let mut response = match proceed(
        &state,
        &realm,
        &http,
        request,
        Some((session_row, user)),
        true,
        StatusCode::SEE_OTHER,
    )
    .await
    {
        Ok(response) => response,
        Err(rejection) => reject(&state, &realm, rejection, StatusCode::SEE_OTHER),
    };
    let _ = response.add_cookie(&cookie);
    response
}

/// How long the step after a temporary password may take.
const PENDING_LIFETIME_MS: i64 = 10 * 60 * 1000;
const PENDING_PURPOSE: &str = "pending required action";

/// Proof, carried by the form, that the user's password was checked.
#[derive(serde::Serialize, serde::Deserialize)]
struct Pending {
    user_id: String,
    expires_at_ms: i64,
}

#[derive(Template)]
#[template(path = "update_password.html")]
struct UpdatePasswordPage<'a> {
    username: &'a str,
    action: String,
    csrf_token: String,
    auth_request: String,
    pending: String,
    error: Option<&'a str>,
}

/// The required action after a temporary password: choose a new one.
fn update_password_page(
    state: &Latch,
    realm: &RealmState,
    http: &HttpRequest,
    request: &AuthRequest,
    user: &User,
    error: Option<&str>,
) -> HttpResponse {
    let (csrf_token, cookie) = csrf::token(http, &cookie_path(realm), state.secure_cookies());
    let pending = Pending {
        user_id: user.id.clone(),
        expires_at_ms: state.clock.now_ms() + PENDING_LIFETIME_MS,
    };
    let page = UpdatePasswordPage {
        username: &user.username,
        action: format!("/realms/{}/login-actions/required-action", realm.realm.name),
        csrf_token,
        auth_request: request.params.encode(),
        pending: state.directory.master().seal_value(
            PENDING_PURPOSE,
            realm.realm.id.as_bytes(),
            &pending,
        ),
        error,
    };
    let mut response = pages::render(StatusCode::OK, &page);
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

/// `POST /realms/{realm}/login-actions/required-action`: the new password
/// replacing a temporary one.
pub async fn required_action(
    state: web::Data<Latch>,
    path: web::Path<String>,
    http: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let ActionForm {
        realm,
        form,
        request,
    } = match read_action_form(&state, &path, &http, body).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    let expired = || {
        reject_page(PageError::bad_request(
            "expired",
            "This step has expired. Start signing in again.",
        ))
    };
    let pending: Option<Pending> = form.get("pending").ok().flatten().and_then(|p| {
        state
            .directory
            .master()
            .open_value(PENDING_PURPOSE, realm.realm.id.as_bytes(), p)
    });
    let Some(pending) = pending.filter(|p| p.expires_at_ms > state.clock.now_ms()) else {
        return expired();
    };
    let user_id = pending.user_id.clone();
    let user = match state
        .directory
        .store()
        .run(move |conn| store::users::find(conn, &user_id))
        .await
    {
        Ok(Some(user)) if user.enabled && user.must_update_password() => user,
        Ok(_) => return expired(),
        Err(e) => return reject_page(crate::error::Error::Store(e).into()),
    };
    let new = form
        .get("password-new")
        .ok()
        .flatten()
        .unwrap_or("")
        .to_string();
    let confirm = form.get("password-confirm").ok().flatten().unwrap_or("");
    let problem = if new.is_empty() {
        Some("Enter a new password.")
    } else if new != confirm {
        Some("The two passwords do not match.")
    } else {
        None
    };
    if let Some(problem) = problem {
        return update_password_page(&state, &realm, &http, &request, &user, Some(problem));
    }
    let same =
        crate::login::credentials::check_user(&state.password_pool, &user, new.clone()).await;
    match same {
        Ok(true) => {
            return update_password_page(
                &state,
                &realm,
                &http,
                &request,
                &user,
                Some("Choose a password different from the temporary one."),
            )
        }
        Ok(false) => {}
        Err(_) => {
            return reject_page(PageError::unavailable(
                "Too many sign-ins at once; try again in a moment.",
            ))
        }
    }
    use crate::login::policy::{hash_new_password, Refusal};
    let hash = match hash_new_password(
        &state.password_pool,
        &state.directory,
        &realm.realm,
        &user,
        new,
    )
    .await
    {
        Ok(hash) => hash,
        Err(Refusal::Policy(message)) => {
            return update_password_page(&state, &realm, &http, &request, &user, Some(&message))
        }
        Err(Refusal::Busy(busy)) => return reject_page(PageError::unavailable(busy.to_string())),
        Err(Refusal::Internal(e)) => return reject_page(e.into()),
    };
    let user_id = user.id.clone();
    let updated = state
        .directory
        .store()
        .run(move |conn| -> Result<Option<User>, crate::error::Error> {
            store::write(conn, |conn| {
                let now = store::meta::database_now_ms(conn)?;
                store::passwords::replace(conn, &user_id, &hash, now)?;
                let user = store::users::find(conn, &user_id)?;
                if let Some(user) = &user {
                    let rest: Vec<&str> = user
                        .required_actions()
                        .into_iter()
                        .filter(|a| *a != store::users::UPDATE_PASSWORD)
                        .collect();
                    store::users::set_required_actions(conn, &user.id, &rest)?;
                }
                Ok(store::users::find(conn, &user_id)?)
            })
        })
        .await;
    match updated {
        Ok(Some(user)) => signed_in_response(&state, &realm, &http, request, user, false).await,
        Ok(None) => expired(),
        Err(e) => reject_page(e.into()),
    }
}

/// Verifies the password through the shared credential check. `Ok(None)`
/// is a wrong username or password (or a locked account), which the page
/// does not tell apart; a throttled IP gets a 429 page.
async fn check_password(
    state: &Latch,
    realm: &RealmState,
    http: &HttpRequest,
    request: &AuthRequest,
    username: &str,
    password: String,
) -> Result<Option<User>, HttpResponse> {
    use crate::login::credentials::{CheckError, Verdict};
    let ip = http.peer_addr().map(|a| a.ip().to_string());
    match state
        .checker()
        .check(realm, username, password, ip.as_deref())
        .await
    {
        Ok(Verdict::Accepted(user)) => Ok(Some(*user)),
        Ok(Verdict::Refused) => Ok(None),
        Ok(Verdict::Throttled(wait)) => {
            Err(throttled_page(state, realm, http, request, username, wait))
        }
        Err(CheckError::Busy(busy)) => {
            let mut response = reject_page(PageError::unavailable(busy.to_string()));
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
            Err(response)
        }
        Err(CheckError::Internal(e)) => Err(reject_page(e.into())),
    }
}

/// The login page again, with 429 and Retry-After.
fn throttled_page(
    state: &Latch,
    realm: &RealmState,
    http: &HttpRequest,
    request: &AuthRequest,
    username: &str,
    wait: crate::limits::RetryAfter,
) -> HttpResponse {
    let message = format!(
        "Too many attempts from your network. Try again in {} seconds.",
        wait.0
    );
    let mut response = login_page(state, realm, http, request, username, Some(&message));
    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    if let Ok(value) = header::HeaderValue::from_str(&wait.0.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Starts a new browser session, ending the one this browser had.
async fn start_session(
    state: &Latch,
    realm: &RealmState,
    http: &HttpRequest,
    user: &User,
    remember_me: bool,
) -> Result<(String, SessionRow), PageError> {
    let cookie_value = crate::crypto::random_token::<32>();
    let cookie_hash = state.directory.hash_token(&cookie_value);
    let previous = crate::http::cookies::session(&realm.realm.name, state.secure_cookies())
        .read(http)
        .map(|c| state.directory.hash_token(&c));
    let (realm_row, user, origin, now) = (
        realm.realm.clone(),
        user.clone(),
        session::Origin::of(http),
        state.clock.now_ms(),
    );
    let row = state
        .directory
        .store()
        .run(move |conn| -> Result<SessionRow, crate::error::Error> {
            if let Some(previous) = previous {
                if let Some(old) = store::sessions::find_by_cookie(conn, &previous)? {
                    let actor = Actor::User {
                        user_id: old.user_id.clone().into(),
                        sid: Some(old.id.clone().into()),
                        ip: None,
                    };
                    session::end(
                        conn,
                        &realm_row,
                        &old.id,
                        "replaced by a new sign-in",
                        &actor,
                        now,
                    )?;
                }
            }
            session::start(
                conn,
                &realm_row,
                &user,
                &cookie_hash,
                &origin,
                remember_me,
                now,
            )
        })
        .await?;
    Ok((cookie_value, row))
}

/// `POST /realms/{realm}/login-actions/consent`: the consent form.
pub async fn consent(
    state: web::Data<Latch>,
    path: web::Path<String>,
    http: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let ActionForm {
        realm,
        form,
        request,
    } = match read_action_form(&state, &path, &http, body).await {
        Ok(f) => f,
        Err(response) => return response,
    };
    let (session_row, user) = match current_session(&state, &realm, &http).await {
        Ok(Some(s)) => s,
        Ok(None) => return login_page(&state, &realm, &http, &request, "", None),
        Err(e) => return reject_page(e),
    };
    if form.get("decision").ok().flatten() != Some("allow") {
        let denied = Rejection::Redirect(ErrorRedirect {
            redirect_uri: request.redirect_uri.clone(),
            error: "access_denied",
            description: "the user denied the request".into(),
            state: request.state.clone(),
            mode: request.response_mode,
        });
        return reject(&state, &realm, denied, StatusCode::SEE_OTHER);
    }
    let (user_id, client_id, scope, now) = (
        user.id.clone(),
        request.client.id.clone(),
        request.scopes.to_string(),
        state.clock.now_ms(),
    );
    if let Err(e) = state
        .directory
        .store()
        .run(move |conn| store::consents::grant(conn, &user_id, &client_id, &scope, now))
        .await
    {
        return reject_page(crate::error::Error::Store(e).into());
    }
    match issue_code(
        &state,
        &realm,
        &request,
        &session_row,
        StatusCode::SEE_OTHER,
    )
    .await
    {
        Ok(response) => response,
        Err(e) => reject_page(e),
    }
}
