//! The token grants (RFC 6749 §4): what each checks and what it issues.
//! Errors are OAuth error codes (RFC 6749 §5.2); the web layer only maps
//! them to responses.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::claims::{self, Subject};
use super::{mint_access, mint_id, new_jti, AccessGrant, Audience, IdGrant, Scopes};
use crate::crypto;
use crate::directory::scopes::{Granted, Target};
use crate::directory::{Client, Directory, GrantType, RealmState};
use crate::error::Error;
use crate::login::session;
use crate::revocation::cascade::{self, Actor, SecurityEvent};
use crate::revocation::status_list::Position;
use crate::store::codes::CodeRow;
use crate::store::refresh::{FamilyRow, TokenRow};
use crate::store::users::User;
use crate::store::{self, DbConnection};

/// An OAuth error from a grant.
#[derive(Debug)]
pub struct GrantError {
    pub error: &'static str,
    pub description: String,
}

impl GrantError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        GrantError {
            error,
            description: description.into(),
        }
    }

    fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }
}

/// Internal failures surface as `server_error`; the cause is logged by the caller.
pub enum Failure {
    Grant(GrantError),
    Internal(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Internal(e)
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Self {
        Failure::Internal(e.into())
    }
}

impl From<diesel::result::Error> for Failure {
    fn from(e: diesel::result::Error) -> Self {
        Failure::Internal(e.into())
    }
}

impl From<GrantError> for Failure {
    fn from(e: GrantError) -> Self {
        Failure::Grant(e)
    }
}

/// The token response (RFC 6749 §5.1, OIDC Core §3.1.3.3).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_expires_in: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

/// What every grant works with.
pub struct Context<'a> {
    /// Status-list indices for new access tokens.
    pub status_lists: &'a Arc<crate::revocation::status_list::StatusLists>,
    pub directory: &'a Arc<Directory>,
    /// Applies committed revocations here and fans them out.
    pub follower: &'a crate::revocation::FollowerHandle,
    pub fanout: Option<&'a Arc<crate::revocation::fanout::Fanout>>,
    pub realm: &'a Arc<RealmState>,
    pub issuer: &'a str,
    pub now_ms: i64,
}

/// A `resource` (RFC 8707) must be an absolute URI without a fragment.
fn check_resource(resource: Option<&str>) -> Result<(), GrantError> {
    let ok = resource.is_none_or(|r| {
        url::Url::parse(r)
            .map(|u| u.fragment().is_none())
            .unwrap_or(false)
    });
    if ok {
        Ok(())
    } else {
        Err(GrantError::new(
            "invalid_target",
            "resource must be an absolute URI without a fragment",
        ))
    }
}

/// An access token's `aud` (RFC 9068 §3): the requested `resource` (checked
/// by `check_resource`), else what the granted scopes' audience mappers
/// give for the user's roles (`access`), else the client's default.
fn audience(
    client: &Client,
    granted: &Granted,
    resource: Option<&str>,
    access: Option<&store::roles::Effective>,
) -> Audience {
    if let Some(r) = resource {
        return Audience::One(r.to_string());
    }
    let mapped = claims::audiences(&granted.applied, access, &client.client_id);
    if !mapped.is_empty() {
        return Audience::of(mapped);
    }
    Audience::One(
        client
            .default_audience
            .clone()
            .unwrap_or_else(|| client.client_id.clone()),
    )
}

/// Resolves a requested scope against the client's client scopes.
fn grant_scopes(
    ctx: &Context<'_>,
    client: &Client,
    requested: &Scopes,
) -> Result<Granted, GrantError> {
    ctx.realm
        .scopes
        .resolve(&client.default_scopes, &client.optional_scopes, requested)
        .map_err(|bad| {
            GrantError::new(
                "invalid_scope",
                format!("scope `{bad}` is not offered to this client"),
            )
        })
}

fn parse_scopes(text: &str) -> Result<Scopes, GrantError> {
    Scopes::parse(text)
        .map_err(|bad| GrantError::new("invalid_scope", format!("scope `{bad}` is malformed")))
}

/// What the mappers read about a user besides the users row.
pub struct Facts {
    pub roles: store::roles::Effective,
    pub attributes: store::scopes::Attributes,
}

impl Facts {
    /// The user's effective roles, and their attributes when a mapper of
    /// the grant reads them (`Granted::reads_attributes`).
    pub fn load(
        conn: &mut DbConnection,
        user_id: &str,
        with_attributes: bool,
    ) -> Result<Facts, crate::store::StoreError> {
        Ok(Facts {
            roles: store::roles::effective(conn, user_id)?,
            attributes: if with_attributes {
                store::scopes::attributes(conn, user_id)?
            } else {
                store::scopes::Attributes::new()
            },
        })
    }

    pub fn subject<'a>(&'a self, user: &'a User) -> Subject<'a> {
        Subject {
            user: Some(user),
            attributes: Some(&self.attributes),
            access: Some(&self.roles),
        }
    }
}

// ---- client_credentials -------------------------------------------------

pub async fn client_credentials(
    ctx: &Context<'_>,
    client: &Client,
    scope: Option<&str>,
    resource: Option<&str>,
) -> Result<TokenResponse, Failure> {
    if client.is_public() || !client.allows(GrantType::ClientCredentials) {
        return Err(GrantError::new(
            "unauthorized_client",
            "this client may not use the client_credentials grant",
        )
        .into());
    }
    let scopes = parse_scopes(scope.unwrap_or(""))?;
    if scopes.contains("openid") || scopes.contains("offline_access") {
        return Err(GrantError::new(
            "invalid_scope",
            "openid and offline_access need a user; client_credentials has none",
        )
        .into());
    }
    let granted = grant_scopes(ctx, client, &scopes)?;
    check_resource(resource)?;
    let aud = audience(client, &granted, resource, None);
    let status = status_position(ctx).await?;
    let minted = mint_access(
        ctx.realm,
        AccessGrant {
            issuer: ctx.issuer,
            subject: &client.client_id,
            audience: aud,
            client,
            scopes: &granted.scope,
            sid: None,
            jti: new_jti(),
            now_ms: ctx.now_ms,
            status: Some(status.1.clone()),
            mapped: claims::mapped(&granted.applied, Target::Access, Subject::default()),
        },
    )?;
    ctx.status_lists
        .record(&ctx.realm.realm.id, status.0, &minted.claims);
    Ok(TokenResponse {
        access_token: minted.token,
        token_type: "Bearer".into(),
        expires_in: ctx.realm.realm.access_token_lifetime_s,
        refresh_token: None,
        refresh_expires_in: None,
        id_token: None,
        scope: granted.scope.to_string(),
    })
}

/// A status-list index for the next access token, with its claim value.
async fn status_position(ctx: &Context<'_>) -> Result<(Position, serde_json::Value), Failure> {
    let position = ctx.status_lists.allocate(&ctx.realm.realm.id).await?;
    let uri = format!(
        "{}/protocol/openid-connect/status-list/{}",
        ctx.issuer, position.list_no
    );
    Ok((
        position,
        serde_json::json!({ "status_list": { "idx": position.idx, "uri": uri } }),
    ))
}

// ---- password (Keycloak compatibility) ---------------------------------

/// RFC 6749 §4.3 for a user whose password the caller has already checked
/// (with the same lockout and limits as the login form). It starts a
/// session as a browser sign-in would, so every invalidation reaches it.
pub async fn password(
    ctx: &Context<'_>,
    client: &Client,
    user: User,
    origin: session::Origin,
    scope: Option<&str>,
    resource: Option<&str>,
) -> Result<TokenResponse, Failure> {
    if !client.allows(GrantType::Password) {
        return Err(GrantError::new(
            "unauthorized_client",
            "this client may not use the password grant",
        )
        .into());
    }
    if user.must_update_password() {
        return Err(GrantError::invalid_grant(
            "Account is not fully set up: the user must choose a new password in the browser",
        )
        .into());
    }
    let granted = grant_scopes(ctx, client, &parse_scopes(scope.unwrap_or("openid"))?)?;
    check_resource(resource)?;
    let jti = new_jti();
    let issues_refresh = client.allows(GrantType::RefreshToken);
    let refresh_value = crypto::random_token::<32>();
    let refresh_hash = ctx.directory.hash_token(&refresh_value);
    // The session has no browser cookie; its cookie hash is unguessable.
    let cookie_hash = ctx.directory.hash_token(&crypto::random_token::<32>());
    let (realm, now, client_row_id) = (ctx.realm.realm.clone(), ctx.now_ms, client.id.clone());
    let (jti_for_db, scope_text) = (jti.clone(), granted.scope.to_string());
    let with_attributes = granted.reads_attributes();
    let (user, session, family, facts) = ctx
        .directory
        .store()
        .run(move |conn| {
            store::write(conn, |conn| -> Result<_, Failure> {
                let session =
                    session::start(conn, &realm, &user, &cookie_hash, &origin, false, now)?;
                let family = if issues_refresh {
                    let seed = FamilySeed {
                        user_id: &user.id,
                        session_id: &session.id,
                        scope: &scope_text,
                        auth_time_s: session.auth_time_s,
                    };
                    let offline = scope_text.split(' ').any(|s| s == "offline_access");
                    let family = new_family(
                        &realm,
                        seed,
                        &client_row_id,
                        offline,
                        session.expires_at_ms,
                        now,
                    );
                    store::refresh::insert_family(conn, &family)?;
                    let mut first = new_refresh_row(&realm, &family, refresh_hash, now);
                    first.access_jti = Some(jti_for_db);
                    first.access_exp_ms = Some(now + realm.access_token_lifetime_s * 1000);
                    store::refresh::insert_token(conn, &first)?;
                    Some(family)
                } else {
                    None
                };
                store::sessions::add_client(conn, &session.id, &client_row_id, now)?;
                let facts = Facts::load(conn, &user.id, with_attributes)?;
                Ok((user, session, family, facts))
            })
        })
        .await?;
    let refresh = family.map(|f| (refresh_value, refresh_lifetime_s(&ctx.realm.realm, &f, now)));
    let status = status_position(ctx).await?;
    respond(
        ctx,
        client,
        &user,
        &granted,
        resource,
        jti,
        &session.id,
        None,
        session.auth_time_s,
        refresh,
        status,
        &facts,
    )
}

// ---- authorization_code -------------------------------------------------

pub struct CodeRedemption<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
    pub resource: Option<&'a str>,
}

/// RFC 7636 §4.6: BASE64URL(SHA256(verifier)) must equal the challenge.
fn check_code(
    row: &CodeRow,
    ctx: &Context<'_>,
    client: &Client,
    r: &CodeRedemption<'_>,
) -> Result<(), GrantError> {
    if row.realm_id != ctx.realm.realm.id || row.client_id != client.id {
        return Err(GrantError::invalid_grant(
            "the code was issued to another client",
        ));
    }
    if row.expires_at_ms <= ctx.now_ms {
        return Err(GrantError::invalid_grant("the code has expired"));
    }
    if r.redirect_uri != Some(row.redirect_uri.as_str()) {
        return Err(GrantError::invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    match (&row.code_challenge, r.code_verifier) {
        (Some(challenge), Some(verifier))
            if latch_protocol::pkce::s256_matches(challenge, verifier) =>
        {
            Ok(())
        }
        (Some(_), Some(_)) => Err(GrantError::invalid_grant(
            "code_verifier does not match the code_challenge",
        )),
        (Some(_), None) => Err(GrantError::invalid_grant("code_verifier is required")),
        // RFC 9700 §4.8.2: a verifier without a challenge is a downgrade attempt.
        (None, Some(_)) => Err(GrantError::invalid_grant(
            "code_verifier sent but the request had no code_challenge",
        )),
        (None, None) => Ok(()),
    }
}

/// What a code's redemption transaction found.
enum Redemption {
    /// First use: the user, the new refresh family (if any), the auth
    /// time, the user's realm roles.
    Issued(Box<(User, Option<FamilyRow>, i64, Facts)>),
    /// The code had been used already.
    Replayed(Box<CodeRow>),
}

/// Redeems a code once. A second redemption fails and revokes what the
/// first one issued (RFC 6749 §4.1.2).
pub async fn authorization_code(
    ctx: &Context<'_>,
    client: &Arc<Client>,
    r: CodeRedemption<'_>,
) -> Result<TokenResponse, Failure> {
    let code_hash = ctx.directory.hash_token(r.code);
    let row = {
        let hash = code_hash.clone();
        ctx.directory
            .store()
            .run(move |conn| store::codes::find(conn, &hash))
            .await?
    }
    .ok_or_else(|| GrantError::invalid_grant("the code is invalid or has expired"))?;
    check_code(&row, ctx, client, &r)?;
    if row.used_at_ms.is_some() {
        revoke_code_issue(ctx, row).await?;
        return Err(GrantError::invalid_grant(
            "the code was already used; the tokens issued with it are revoked",
        )
        .into());
    }
    let granted = grant_scopes(ctx, client, &Scopes::parse(&row.scope).unwrap_or_default())?;
    check_resource(r.resource)?;
    let offline = granted.scope.contains("offline_access");
    let jti = new_jti();
    let issues_refresh = client.allows(GrantType::RefreshToken);
    let refresh_value = crypto::random_token::<32>();
    let refresh_hash = ctx.directory.hash_token(&refresh_value);
    let realm = ctx.realm.realm.clone();
    let now = ctx.now_ms;
    let client_row_id = client.id.clone();
    let jti_for_db = jti.clone();
    let code_row = row.clone();
    let with_attributes = granted.reads_attributes();
    let outcome = ctx
        .directory
        .store()
        .run(move |conn| {
            store::write(conn, |conn| -> Result<Redemption, Failure> {
                if !store::codes::mark_used(conn, &code_hash, now)? {
                    // A concurrent redemption won; treat this one as the replay.
                    let current = store::codes::find(conn, &code_hash)?;
                    return Ok(Redemption::Replayed(Box::new(current.unwrap_or(code_row))));
                }
                let row = code_row;
                let (session, user) = live_session(conn, &row.session_id, now)?;
                let facts = Facts::load(conn, &user.id, with_attributes)?;
                let family = if issues_refresh {
                    let family = new_family(
                        &realm,
                        FamilySeed::of_code(&row),
                        &client_row_id,
                        offline,
                        session.expires_at_ms,
                        now,
                    );
                    store::refresh::insert_family(conn, &family)?;
                    let mut first = new_refresh_row(&realm, &family, refresh_hash, now);
                    first.access_jti = Some(jti_for_db.clone());
                    first.access_exp_ms = Some(now + realm.access_token_lifetime_s * 1000);
                    store::refresh::insert_token(conn, &first)?;
                    Some(family)
                } else {
                    None
                };
                store::codes::record_issued(
                    conn,
                    &code_hash,
                    family.as_ref().map(|f| f.id.as_str()),
                    &jti_for_db,
                )?;
                store::sessions::add_client(conn, &session.id, &client_row_id, now)?;
                Ok(Redemption::Issued(Box::new((
                    user,
                    family,
                    session.auth_time_s,
                    facts,
                ))))
            })
        })
        .await?;
    let (user, family, auth_time_s, facts) = match outcome {
        Redemption::Issued(issued) => *issued,
        Redemption::Replayed(used) => {
            revoke_code_issue(ctx, *used).await?;
            return Err(GrantError::invalid_grant(
                "the code was already used; the tokens issued with it are revoked",
            )
            .into());
        }
    };
    let refresh = family.map(|f| (refresh_value, refresh_lifetime_s(&ctx.realm.realm, &f, now)));
    let status = status_position(ctx).await?;
    respond(
        ctx,
        client,
        &user,
        &granted,
        r.resource,
        jti,
        &row.session_id,
        row.nonce.as_deref(),
        auth_time_s,
        refresh,
        status,
        &facts,
    )
}

/// Revokes what a code's first redemption issued: its refresh family, and
/// its access token (through the revocation log).
async fn revoke_code_issue(ctx: &Context<'_>, row: CodeRow) -> Result<(), Failure> {
    let event = SecurityEvent::CodeReplay {
        family_id: row.family_id.clone(),
        access_jti: row.access_jti.clone(),
        access_exp_ms: row.expires_at_ms + ctx.realm.realm.access_token_lifetime_s * 1000,
        client_row_id: row.client_id.clone(),
    };
    apply_cascade(ctx, event, &row.client_id).await?;
    tracing::warn!(client = %row.client_id, "authorization code replayed; revoked what it issued");
    Ok(())
}

fn live_session(
    conn: &mut DbConnection,
    sid: &str,
    now: i64,
) -> Result<(store::sessions::SessionRow, User), Failure> {
    let ended = || GrantError::invalid_grant("the session has ended");
    let session = store::sessions::find(conn, sid)?.ok_or_else(ended)?;
    let user = store::users::find(conn, &session.user_id)?.ok_or_else(ended)?;
    if !session::is_live(&session, &user, now) {
        return Err(ended().into());
    }
    Ok((session, user))
}

/// Who may still use a refresh family: its user exists, is enabled and was
/// not cut off after the family began, and an online family's session
/// lives. The inner `Err` says why not.
pub fn family_holder(
    conn: &mut DbConnection,
    family: &FamilyRow,
    now: i64,
) -> Result<Result<User, &'static str>, crate::store::StoreError> {
    let user = store::users::find(conn, &family.user_id)?
        .filter(|u| u.enabled && u.survives_cut_off(family.created_at_ms));
    let Some(user) = user else {
        return Ok(Err("the user can no longer sign in"));
    };
    if !family.offline {
        let live = store::sessions::find(conn, &family.session_id)?
            .is_some_and(|s| session::is_live(&s, &user, now));
        if !live {
            return Ok(Err("the session has ended"));
        }
    }
    Ok(Ok(user))
}

/// Who and what a new refresh family is for.
struct FamilySeed<'a> {
    user_id: &'a str,
    session_id: &'a str,
    scope: &'a str,
    auth_time_s: i64,
}

impl<'a> FamilySeed<'a> {
    fn of_code(code: &'a CodeRow) -> Self {
        FamilySeed {
            user_id: &code.user_id,
            session_id: &code.session_id,
            scope: &code.scope,
            auth_time_s: code.auth_time_s,
        }
    }
}

fn new_family(
    realm: &crate::store::realms::Realm,
    seed: FamilySeed<'_>,
    client_row_id: &str,
    offline: bool,
    session_expires_ms: i64,
    now: i64,
) -> FamilyRow {
    let expires_at_ms = if offline {
        now + realm.offline_token_lifetime_s * 1000
    } else {
        session_expires_ms
    };
    FamilyRow {
        id: crypto::random_token::<16>(),
        realm_id: realm.id.clone(),
        client_id: client_row_id.to_string(),
        user_id: seed.user_id.to_string(),
        session_id: seed.session_id.to_string(),
        offline,
        scope: seed.scope.to_string(),
        auth_time_s: seed.auth_time_s,
        created_at_ms: now,
        last_used_ms: now,
        expires_at_ms,
        revoked_at_ms: None,
        revoke_reason: None,
    }
}

/// One refresh token lives for the realm's refresh lifetime (offline: the
/// offline lifetime), never beyond its family.
fn new_refresh_row(
    realm: &crate::store::realms::Realm,
    family: &FamilyRow,
    token_hash: String,
    now: i64,
) -> TokenRow {
    let lifetime_ms = if family.offline {
        realm.offline_token_lifetime_s * 1000
    } else {
        realm.refresh_token_lifetime_s * 1000
    };
    TokenRow {
        token_hash,
        family_id: family.id.clone(),
        created_at_ms: now,
        expires_at_ms: (now + lifetime_ms).min(family.expires_at_ms),
        rotated_at_ms: None,
        replay_response: None,
        access_jti: None,
        access_exp_ms: None,
    }
}

fn refresh_lifetime_s(realm: &crate::store::realms::Realm, family: &FamilyRow, now: i64) -> i64 {
    let lifetime_ms = if family.offline {
        realm.offline_token_lifetime_s * 1000
    } else {
        realm.refresh_token_lifetime_s * 1000
    };
    ((now + lifetime_ms).min(family.expires_at_ms) - now) / 1000
}

/// Mints the access and ID tokens for a user and shapes the response.
#[allow(clippy::too_many_arguments)]
fn respond(
    ctx: &Context<'_>,
    client: &Client,
    user: &User,
    granted: &Granted,
    resource: Option<&str>,
    jti: String,
    sid: &str,
    nonce: Option<&str>,
    auth_time_s: i64,
    refresh: Option<(String, i64)>,
    status: (Position, serde_json::Value),
    facts: &Facts,
) -> Result<TokenResponse, Failure> {
    let subject = facts.subject(user);
    let mut mapped = claims::mapped(&granted.applied, Target::Access, subject);
    // Keycloak's access tokens always name the user.
    mapped
        .entry("preferred_username")
        .or_insert_with(|| user.username.clone().into());
    let access = mint_access(
        ctx.realm,
        AccessGrant {
            issuer: ctx.issuer,
            subject: &user.id,
            audience: audience(client, granted, resource, Some(&facts.roles)),
            client,
            scopes: &granted.scope,
            sid: Some(sid),
            jti,
            now_ms: ctx.now_ms,
            status: Some(status.1),
            mapped,
        },
    )?;
    ctx.status_lists
        .record(&ctx.realm.realm.id, status.0, &access.claims);
    let id_token = if granted.scope.contains("openid") {
        Some(mint_id(
            ctx.realm,
            IdGrant {
                issuer: ctx.issuer,
                client,
                user,
                mapped: claims::mapped(&granted.applied, Target::Id, subject),
                nonce,
                auth_time_s,
                sid,
                access_token: &access.token,
                now_ms: ctx.now_ms,
            },
        )?)
    } else {
        None
    };
    let (refresh_token, refresh_expires_in) = match refresh {
        Some((token, expires_in)) => (Some(token), Some(expires_in)),
        None => (None, None),
    };
    Ok(TokenResponse {
        access_token: access.token,
        token_type: "Bearer".into(),
        expires_in: ctx.realm.realm.access_token_lifetime_s,
        refresh_token,
        refresh_expires_in,
        id_token,
        scope: granted.scope.to_string(),
    })
}

/// Runs a security event through the cascade, committed before returning.
async fn apply_cascade(
    ctx: &Context<'_>,
    event: SecurityEvent,
    client: &str,
) -> Result<(), Failure> {
    let realm = ctx.realm.realm.clone();
    let now = ctx.now_ms;
    let actor = Actor::Client {
        client_id: client.to_string().into(),
        ip: None,
    };
    ctx.directory
        .store()
        .run(move |conn| {
            store::write(conn, |conn| {
                cascade::apply(conn, &realm, &event, &actor, now)
            })
        })
        .await?;
    crate::revocation::announce(ctx.follower, ctx.fanout).await?;
    Ok(())
}

// ---- refresh_token ------------------------------------------------------

const REPLAY_PURPOSE: &str = "refresh replay";

/// Rotates a refresh token. Presenting one that was already rotated is a
/// theft signal: the family dies and its session ends — except for a retry
/// by the same confidential client within the realm's grace window, which
/// gets the identical response again (never a second successor).
pub async fn refresh(
    ctx: &Context<'_>,
    client: &Arc<Client>,
    presented: &str,
    scope: Option<&str>,
    resource: Option<&str>,
) -> Result<TokenResponse, Failure> {
    let token_hash = ctx.directory.hash_token(presented);
    let found = {
        let hash = token_hash.clone();
        ctx.directory
            .store()
            .run(move |conn| store::refresh::find_token(conn, &hash))
            .await?
    };
    let (token, family) =
        found.ok_or_else(|| GrantError::invalid_grant("the refresh token is invalid"))?;
    if family.realm_id != ctx.realm.realm.id || family.client_id != client.id {
        return Err(
            GrantError::invalid_grant("the refresh token was issued to another client").into(),
        );
    }
    if family.revoked_at_ms.is_some() {
        return Err(GrantError::invalid_grant("the refresh token has been revoked").into());
    }
    if let Some(rotated_at) = token.rotated_at_ms {
        return reuse(ctx, client, &token, &family, rotated_at).await;
    }
    if token.expires_at_ms <= ctx.now_ms || family.expires_at_ms <= ctx.now_ms {
        return Err(GrantError::invalid_grant("the refresh token has expired").into());
    }
    if family.offline && family.last_used_ms + ctx.realm.realm.offline_idle_s * 1000 <= ctx.now_ms {
        let event = SecurityEvent::RefreshFamilyRevoked {
            family_id: family.id.clone(),
        };
        apply_cascade(ctx, event, &client.client_id).await?;
        return Err(GrantError::invalid_grant("the offline session was idle too long").into());
    }
    let earlier = Scopes::parse(&family.scope).unwrap_or_default();
    let scopes = match scope {
        None => earlier.clone(),
        Some(s) => {
            let asked = parse_scopes(s)?;
            if !asked.is_subset_of(&earlier) {
                return Err(GrantError::new(
                    "invalid_scope",
                    "a refresh cannot widen the granted scope",
                )
                .into());
            }
            asked
        }
    };
    let granted = grant_scopes(ctx, client, &scopes)?;
    let (user, auth_time_s, facts) = {
        let (family, now) = (family.clone(), ctx.now_ms);
        let with_attributes = granted.reads_attributes();
        ctx.directory
            .store()
            .run(move |conn| -> Result<(User, i64, Facts), Failure> {
                let user = family_holder(conn, &family, now)?.map_err(GrantError::invalid_grant)?;
                let facts = Facts::load(conn, &user.id, with_attributes)?;
                Ok((user, family.auth_time_s, facts))
            })
            .await?
    };
    check_resource(resource)?;
    let successor = crypto::random_token::<32>();
    let jti = new_jti();
    let status = status_position(ctx).await?;
    let response = respond(
        ctx,
        client,
        &user,
        &granted,
        resource,
        jti.clone(),
        &family.session_id,
        None,
        auth_time_s,
        Some((
            successor.clone(),
            refresh_lifetime_s(&ctx.realm.realm, &family, ctx.now_ms),
        )),
        status,
        &facts,
    )?;
    let grace = ctx.realm.realm.refresh_grace_ms;
    let replay = if grace > 0 && !client.is_public() {
        let json = serde_json::to_vec(&response).map_err(|e| Error::Key(e.to_string()))?;
        Some(
            ctx.directory
                .master()
                .seal(REPLAY_PURPOSE, token_hash.as_bytes(), &json),
        )
    } else {
        None
    };
    let mut successor_row = new_refresh_row(
        &ctx.realm.realm,
        &family,
        ctx.directory.hash_token(&successor),
        ctx.now_ms,
    );
    successor_row.access_jti = Some(jti);
    successor_row.access_exp_ms = Some(ctx.now_ms + ctx.realm.realm.access_token_lifetime_s * 1000);
    let now = ctx.now_ms;
    let (old_hash, family_id) = (token_hash.clone(), family.id.clone());
    // An online refresh is a use of its session: it keeps it from idling out.
    let session_touch = (!family.offline).then(|| family.session_id.clone());
    let realm_row = ctx.realm.realm.clone();
    let rotated = ctx
        .directory
        .store()
        .run(move |conn| {
            store::write(conn, |conn| -> Result<bool, Error> {
                if !store::refresh::mark_rotated(conn, &old_hash, now, replay)? {
                    return Ok(false);
                }
                store::refresh::insert_token(conn, &successor_row)?;
                store::refresh::touch_family(conn, &family_id, now)?;
                if let Some(sid) = &session_touch {
                    if let Some(current) = store::sessions::find(conn, sid)? {
                        let idle = session::idle_ms(&realm_row, current.remember_me);
                        store::sessions::touch(conn, sid, now, idle)?;
                    }
                }
                Ok(true)
            })
        })
        .await?;
    if !rotated {
        // Another request rotated it between our read and our write.
        let hash = token_hash.clone();
        let again = ctx
            .directory
            .store()
            .run(move |conn| store::refresh::find_token(conn, &hash))
            .await?;
        if let Some((token, family)) = again {
            let rotated_at = token.rotated_at_ms.unwrap_or(now);
            return reuse(ctx, client, &token, &family, rotated_at).await;
        }
        return Err(GrantError::invalid_grant("the refresh token is invalid").into());
    }
    Ok(response)
}

async fn reuse(
    ctx: &Context<'_>,
    client: &Client,
    token: &TokenRow,
    family: &FamilyRow,
    rotated_at: i64,
) -> Result<TokenResponse, Failure> {
    let grace = ctx.realm.realm.refresh_grace_ms;
    if grace > 0 && !client.is_public() && ctx.now_ms - rotated_at <= grace {
        if let Some(sealed) = &token.replay_response {
            if let Ok(json) =
                ctx.directory
                    .master()
                    .open(REPLAY_PURPOSE, token.token_hash.as_bytes(), sealed)
            {
                if let Ok(response) = serde_json::from_slice::<TokenResponse>(&json) {
                    return Ok(response);
                }
            }
        }
    }
    let event = SecurityEvent::RefreshReuse {
        family_id: family.id.clone(),
        sid: family.session_id.clone(),
    };
    apply_cascade(ctx, event, &client.client_id).await?;
    tracing::warn!(client = %client.client_id, family = %family.id, "refresh token reused; family revoked and session ended");
    Err(GrantError::invalid_grant(
        "the refresh token was already used; its session has been revoked",
    )
    .into())
}
