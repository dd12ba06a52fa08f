//! The token grants (RFC 6749 §4), one per file: what each checks and what
//! it issues. A refusal is `Error::OAuth` with its RFC 6749 §5.2 code; any
//! other error is an internal failure. The error table (`Error::classify`)
//! decides the status, so the front doors only render.

mod authorization_code;
mod client_credentials;
mod password;
mod refresh;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::claims::{self, Subject};
use super::refresh_token::RefreshMinter;
use super::{mint_access, mint_id, AccessGrant, Audience, IdGrant, Scopes};
use crate::crypto;
use crate::directory::scopes::{Granted, Target};
use crate::directory::{Client, Directory, RealmState};
use crate::error::Error;
use crate::ids::ClientId;
use crate::login::session;
use crate::publish::status_list::{Position, StatusLists};
use crate::revocation::cascade::{self, Actor, SecurityEvent};
use crate::store::realms::Realm;
use crate::store::refresh::{FamilyRow, TokenRow};
use crate::store::users::User;
use crate::store::{self, DbConnection, StoreError};

pub use authorization_code::{authorization_code, CodeRedemption};
pub use client_credentials::client_credentials;
pub use password::password;
pub use refresh::refresh;

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
    /// Keycloak's name for the session the tokens belong to (their `sid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_state: Option<String>,
    /// Keycloak's realm not-before (seconds since the epoch; 0 when none).
    #[serde(rename = "not-before-policy", default)]
    pub not_before_policy: i64,
}

impl TokenResponse {
    /// A response with what every grant's answer carries.
    fn new(ctx: &Context<'_>, access_token: String, scope: String) -> TokenResponse {
        TokenResponse {
            access_token,
            token_type: "Bearer".into(),
            expires_in: ctx.realm.realm.access_token_lifetime_s,
            refresh_token: None,
            refresh_expires_in: None,
            id_token: None,
            scope,
            session_state: None,
            not_before_policy: ctx.realm.realm.not_before_ms.max(0) / 1000,
        }
    }
}

/// What every grant works with.
pub struct Context<'a> {
    /// Status-list indices for new access tokens.
    pub status_lists: &'a Arc<StatusLists>,
    pub directory: &'a Arc<Directory>,
    /// Applies committed revocations here and fans them out.
    pub follower: &'a crate::revocation::FollowerHandle,
    pub fanout: Option<&'a Arc<crate::revocation::fanout::Fanout>>,
    pub realm: &'a Arc<RealmState>,
    pub issuer: &'a str,
    pub now_ms: i64,
}

/// RFC 6749 §5.2: the grant is invalid, expired, revoked or not the
/// caller's.
fn invalid_grant(description: impl Into<String>) -> Error {
    Error::oauth("invalid_grant", description)
}

/// A `resource` (RFC 8707) must be an absolute URI without a fragment.
fn check_resource(resource: Option<&str>) -> Result<(), Error> {
    let ok = resource.is_none_or(|r| {
        url::Url::parse(r)
            .map(|u| u.fragment().is_none())
            .unwrap_or(false)
    });
    if ok {
        Ok(())
    } else {
        Err(Error::oauth(
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
fn grant_scopes(ctx: &Context<'_>, client: &Client, requested: &Scopes) -> Result<Granted, Error> {
    ctx.realm
        .scopes
        .resolve(&client.default_scopes, &client.optional_scopes, requested)
        .map_err(|bad| {
            Error::oauth(
                "invalid_scope",
                format!("scope `{bad}` is not offered to this client"),
            )
        })
}

fn parse_scopes(text: &str) -> Result<Scopes, Error> {
    Scopes::parse(text)
        .map_err(|bad| Error::oauth("invalid_scope", format!("scope `{bad}` is malformed")))
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
    ) -> Result<Facts, StoreError> {
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

/// A status-list index for the next access token, with its claim value.
async fn status_position(ctx: &Context<'_>) -> Result<(Position, serde_json::Value), Error> {
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

/// What a user-bound grant issues tokens for.
struct Issue<'a> {
    user: &'a User,
    granted: &'a Granted,
    resource: Option<&'a str>,
    jti: String,
    sid: &'a str,
    nonce: Option<&'a str>,
    auth_time_s: i64,
    /// The refresh token and its lifetime in seconds, when one is issued.
    refresh: Option<(String, i64)>,
    facts: &'a Facts,
    /// `acr` (see `login::second_factor::acr`); `amr` follows from it.
    acr: &'a str,
}

/// Adds `acr` and `amr` (RFC 8176) to a token's claims.
fn authentication_claims(mapped: &mut serde_json::Map<String, serde_json::Value>, acr: &str) {
    let amr = crate::login::second_factor::amr(crate::login::second_factor::methods_of_acr(acr));
    mapped.insert("acr".into(), acr.into());
    mapped.insert("amr".into(), amr.into());
}

/// Mints the access and ID tokens for a user and shapes the response.
async fn respond(
    ctx: &Context<'_>,
    client: &Client,
    issue: Issue<'_>,
) -> Result<TokenResponse, Error> {
    let status = status_position(ctx).await?;
    let subject = issue.facts.subject(issue.user);
    let mut mapped = claims::mapped(&issue.granted.applied, Target::Access, subject);
    // Keycloak's access tokens always name the user.
    mapped
        .entry("preferred_username")
        .or_insert_with(|| issue.user.username.clone().into());
    authentication_claims(&mut mapped, issue.acr);
    let roles = Some(&issue.facts.roles);
    let access = mint_access(
        ctx.realm,
        AccessGrant {
            issuer: ctx.issuer,
            subject: &issue.user.id,
            audience: audience(client, issue.granted, issue.resource, roles),
            client,
            scopes: &issue.granted.scope,
            sid: Some(issue.sid),
            jti: issue.jti,
            now_ms: ctx.now_ms,
            status: Some(status.1),
            mapped,
        },
    )?;
    ctx.status_lists
        .record(&ctx.realm.realm.id, status.0, &access.claims);
    let id_token = if issue.granted.scope.contains("openid") {
        Some(mint_id(
            ctx.realm,
            IdGrant {
                issuer: ctx.issuer,
                client,
                user: issue.user,
                mapped: {
                    let mut mapped = claims::mapped(&issue.granted.applied, Target::Id, subject);
                    authentication_claims(&mut mapped, issue.acr);
                    mapped
                },
                nonce: issue.nonce,
                auth_time_s: issue.auth_time_s,
                sid: issue.sid,
                access_token: &access.token,
                now_ms: ctx.now_ms,
            },
        )?)
    } else {
        None
    };
    let (refresh_token, refresh_expires_in) = issue.refresh.unzip();
    Ok(TokenResponse {
        refresh_token,
        refresh_expires_in,
        id_token,
        session_state: Some(issue.sid.to_string()),
        ..TokenResponse::new(ctx, access.token, issue.granted.scope.to_string())
    })
}

/// Runs a security event through the cascade as the client's doing,
/// committed (and announced) before returning.
async fn apply_cascade(
    ctx: &Context<'_>,
    event: SecurityEvent,
    client: &ClientId,
) -> Result<(), Error> {
    let realm = ctx.realm.realm.clone();
    let now = ctx.now_ms;
    let actor = Actor::Client {
        client_id: client.clone(),
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

/// Who may still use a refresh family: its user exists, is enabled and was
/// not cut off after the family began, and an online family's session
/// lives. The inner `Err` says why not.
pub fn family_holder(
    conn: &mut DbConnection,
    family: &FamilyRow,
    now: i64,
) -> Result<Result<User, &'static str>, StoreError> {
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

/// Who and what a new refresh family is for: one sign-in at one client.
struct FamilySeed<'a> {
    user_id: &'a str,
    session_id: &'a str,
    scope: &'a str,
    auth_time_s: i64,
    client_row_id: &'a str,
    /// `offline_access` was granted: the family outlives its session.
    offline: bool,
    session_expires_ms: i64,
    /// The sign-in's `acr`, which every token of the family carries.
    acr: Option<&'a str>,
}

/// The first refresh token of a new family (minted once the family is
/// known), and the access token issued beside it (revoked with it on a
/// code replay).
struct FirstRefresh {
    minter: RefreshMinter,
    access_jti: String,
}

/// Mints `client`'s refresh tokens (see `tokens::refresh_token`).
fn refresh_minter(ctx: &Context<'_>, client: &Client) -> RefreshMinter {
    RefreshMinter::new(ctx.directory, ctx.issuer, &client.client_id)
}

/// A new refresh family and its first token.
struct OpenedFamily {
    family: FamilyRow,
    token: String,
}

/// Opens a refresh family with its first token. An online family ends
/// with its session; an offline one lives for the realm's offline lifetime.
fn open_family(
    conn: &mut DbConnection,
    realm: &Realm,
    seed: FamilySeed<'_>,
    first: FirstRefresh,
    now: i64,
) -> Result<OpenedFamily, StoreError> {
    let expires_at_ms = if seed.offline {
        now + realm.offline_token_lifetime_s * 1000
    } else {
        seed.session_expires_ms
    };
    let family = FamilyRow {
        id: crypto::random_token::<16>(),
        realm_id: realm.id.clone(),
        client_id: seed.client_row_id.to_string(),
        user_id: seed.user_id.to_string(),
        session_id: seed.session_id.to_string(),
        offline: seed.offline,
        scope: seed.scope.to_string(),
        auth_time_s: seed.auth_time_s,
        created_at_ms: now,
        last_used_ms: now,
        expires_at_ms,
        revoked_at_ms: None,
        revoke_reason: None,
        acr: seed.acr.map(str::to_string),
    };
    store::refresh::insert_family(conn, &family)?;
    let expires_at_ms = refresh_expiry_ms(realm, &family, now);
    let minted = first.minter.mint(&family, expires_at_ms, now);
    let row = new_refresh_row(realm, &family, minted.hash, first.access_jti, now);
    store::refresh::insert_token(conn, &row)?;
    Ok(OpenedFamily {
        family,
        token: minted.token,
    })
}

/// One refresh token lives for the realm's refresh lifetime (offline: the
/// offline lifetime), never beyond its family. It remembers the access
/// token issued with it.
fn new_refresh_row(
    realm: &Realm,
    family: &FamilyRow,
    token_hash: String,
    access_jti: String,
    now: i64,
) -> TokenRow {
    TokenRow {
        token_hash,
        family_id: family.id.clone(),
        created_at_ms: now,
        expires_at_ms: refresh_expiry_ms(realm, family, now),
        rotated_at_ms: None,
        replay_response: None,
        access_jti: Some(access_jti),
        access_exp_ms: Some(now + realm.access_token_lifetime_s * 1000),
    }
}

/// When a refresh token issued now expires (see `new_refresh_row`).
fn refresh_expiry_ms(realm: &Realm, family: &FamilyRow, now: i64) -> i64 {
    let lifetime_ms = if family.offline {
        realm.offline_token_lifetime_s * 1000
    } else {
        realm.refresh_token_lifetime_s * 1000
    };
    (now + lifetime_ms).min(family.expires_at_ms)
}

/// `refresh_expires_in` of a refresh token issued now.
fn refresh_lifetime_s(realm: &Realm, family: &FamilyRow, now: i64) -> i64 {
    (refresh_expiry_ms(realm, family, now) - now) / 1000
}
