//! The refresh token grant (RFC 6749 §6) with rotation (RFC 9700 §4.14.2):
//! each use yields a successor; presenting a rotated token is a theft
//! signal that ends the family and its session.

use std::sync::Arc;

use super::{
    apply_cascade, check_resource, family_holder, grant_scopes, invalid_grant, new_refresh_row,
    parse_scopes, refresh_expiry_ms, refresh_lifetime_s, refresh_minter, respond, Context, Facts,
    Issue, TokenResponse,
};
use crate::directory::scopes::Granted;
use crate::directory::Client;
use crate::error::Error;
use crate::ids::ClientId;
use crate::login::session;
use crate::revocation::cascade::SecurityEvent;
use crate::store::refresh::{FamilyRow, TokenRow};
use crate::store::users::User;
use crate::store::{self, DbConnection};
use crate::tokens::refresh_token::{self, Shape};
use crate::tokens::{new_jti, Scopes};

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
) -> Result<TokenResponse, Error> {
    // A forged JWT is turned away before the database; only the stored
    // hash decides whether a token that passes is one (refresh_token).
    if refresh_token::shape(ctx.directory.master(), presented) != Shape::Refresh {
        return Err(invalid_grant("the refresh token is invalid"));
    }
    let token_hash = ctx.directory.hash_token(presented);
    let (token, family) = find(ctx, &token_hash)
        .await?
        .ok_or_else(|| invalid_grant("the refresh token is invalid"))?;
    if family.realm_id != ctx.realm.realm.id || family.client_id != client.id {
        return Err(invalid_grant(
            "the refresh token was issued to another client",
        ));
    }
    if family.revoked_at_ms.is_some() {
        return Err(invalid_grant("the refresh token has been revoked"));
    }
    if let Some(rotated_at) = token.rotated_at_ms {
        return reuse(ctx, client, &token, &family, rotated_at).await;
    }
    check_alive(ctx, client, &token, &family).await?;
    let granted = grant_scopes(ctx, client, &narrowed(scope, &family)?)?;
    let (user, facts) = holder(ctx, &family, &granted).await?;
    check_resource(resource)?;
    let expires_at_ms = refresh_expiry_ms(&ctx.realm.realm, &family, ctx.now_ms);
    let successor = refresh_minter(ctx, client).mint(&family, expires_at_ms, ctx.now_ms);
    let jti = new_jti();
    let issue = Issue {
        user: &user,
        granted: &granted,
        resource,
        jti: jti.clone(),
        sid: &family.session_id,
        nonce: None,
        auth_time_s: family.auth_time_s,
        refresh: Some((
            successor.token,
            refresh_lifetime_s(&ctx.realm.realm, &family, ctx.now_ms),
        )),
        facts: &facts,
        acr: family.acr.as_deref().unwrap_or("1"),
    };
    let response = respond(ctx, client, issue).await?;
    let rotation = Rotation {
        old_hash: token_hash.clone(),
        replay: seal_replay(ctx, client, &token_hash, &response)?,
        successor: new_refresh_row(&ctx.realm.realm, &family, successor.hash, jti, ctx.now_ms),
        family_id: family.id.clone(),
        // An online refresh is a use of its session: it keeps it from idling out.
        session_touch: (!family.offline).then(|| family.session_id.clone()),
        realm: ctx.realm.realm.clone(),
        now: ctx.now_ms,
    };
    let rotated = ctx
        .directory
        .store()
        .run(move |conn| store::write(conn, |conn| rotation.run(conn)))
        .await?;
    if !rotated {
        return lost_race(ctx, client, &token_hash).await;
    }
    Ok(response)
}

/// The token and its family, by the token's hash.
async fn find(ctx: &Context<'_>, token_hash: &str) -> Result<Option<(TokenRow, FamilyRow)>, Error> {
    let hash = token_hash.to_string();
    Ok(ctx
        .directory
        .store()
        .run(move |conn| store::refresh::find_token(conn, &hash))
        .await?)
}

/// The token and its family have not expired, and an offline family has
/// not idled out (which revokes it).
async fn check_alive(
    ctx: &Context<'_>,
    client: &Client,
    token: &TokenRow,
    family: &FamilyRow,
) -> Result<(), Error> {
    if token.expires_at_ms <= ctx.now_ms || family.expires_at_ms <= ctx.now_ms {
        return Err(invalid_grant("the refresh token has expired"));
    }
    if family.offline && family.last_used_ms + ctx.realm.realm.offline_idle_s * 1000 <= ctx.now_ms {
        let event = SecurityEvent::RefreshFamilyRevoked {
            family_id: family.id.clone(),
        };
        apply_cascade(ctx, event, &ClientId::from(client.client_id.as_str())).await?;
        return Err(invalid_grant("the offline session was idle too long"));
    }
    Ok(())
}

/// The scope asked for: the family's by default; a narrower one may be
/// asked, never a wider one (RFC 6749 §6).
fn narrowed(scope: Option<&str>, family: &FamilyRow) -> Result<Scopes, Error> {
    let earlier = Scopes::parse(&family.scope).unwrap_or_default();
    let Some(asked) = scope else {
        return Ok(earlier);
    };
    let asked = parse_scopes(asked)?;
    if !asked.is_subset_of(&earlier) {
        return Err(Error::oauth(
            "invalid_scope",
            "a refresh cannot widen the granted scope",
        ));
    }
    Ok(asked)
}

/// The family's user, still allowed to use it, and what the mappers read.
async fn holder(
    ctx: &Context<'_>,
    family: &FamilyRow,
    granted: &Granted,
) -> Result<(User, Facts), Error> {
    let (family, now) = (family.clone(), ctx.now_ms);
    let with_attributes = granted.reads_attributes();
    ctx.directory
        .store()
        .run(move |conn| -> Result<(User, Facts), Error> {
            let user = family_holder(conn, &family, now)?.map_err(invalid_grant)?;
            let facts = Facts::load(conn, &user.id, with_attributes)?;
            Ok((user, facts))
        })
        .await
}

/// The response sealed for a retry within the grace window (confidential
/// clients only: a public client cannot prove the retry is its own).
fn seal_replay(
    ctx: &Context<'_>,
    client: &Client,
    token_hash: &str,
    response: &TokenResponse,
) -> Result<Option<Vec<u8>>, Error> {
    if ctx.realm.realm.refresh_grace_ms <= 0 || client.is_public() {
        return Ok(None);
    }
    let json = serde_json::to_vec(response).map_err(|e| Error::Key(e.to_string()))?;
    Ok(Some(ctx.directory.master().seal(
        REPLAY_PURPOSE,
        token_hash.as_bytes(),
        &json,
    )))
}

/// One rotation's writes: the presented token marked rotated (only if it
/// was not already), its successor, the family and session touched.
struct Rotation {
    old_hash: String,
    replay: Option<Vec<u8>>,
    successor: TokenRow,
    family_id: String,
    session_touch: Option<String>,
    realm: crate::store::realms::Realm,
    now: i64,
}

impl Rotation {
    /// False when another request rotated the token first.
    fn run(self, conn: &mut DbConnection) -> Result<bool, Error> {
        let now = self.now;
        if !store::refresh::mark_rotated(conn, &self.old_hash, now, self.replay)? {
            return Ok(false);
        }
        store::refresh::insert_token(conn, &self.successor)?;
        store::refresh::touch_family(conn, &self.family_id, now)?;
        if let Some(sid) = &self.session_touch {
            if let Some(current) = store::sessions::find(conn, sid)? {
                let idle = session::idle_ms(&self.realm, current.remember_me);
                store::sessions::touch(conn, sid, now, idle)?;
            }
        }
        Ok(true)
    }
}

/// Another request rotated the token between our read and our write: this
/// one is a reuse (or a retry within the grace window).
async fn lost_race(
    ctx: &Context<'_>,
    client: &Client,
    token_hash: &str,
) -> Result<TokenResponse, Error> {
    match find(ctx, token_hash).await? {
        Some((token, family)) => {
            let rotated_at = token.rotated_at_ms.unwrap_or(ctx.now_ms);
            reuse(ctx, client, &token, &family, rotated_at).await
        }
        None => Err(invalid_grant("the refresh token is invalid")),
    }
}

/// A rotated token presented again: the grace window's identical response,
/// or the family revoked and its session ended.
async fn reuse(
    ctx: &Context<'_>,
    client: &Client,
    token: &TokenRow,
    family: &FamilyRow,
    rotated_at: i64,
) -> Result<TokenResponse, Error> {
    let grace = ctx.realm.realm.refresh_grace_ms;
    if grace > 0 && !client.is_public() && ctx.now_ms - rotated_at <= grace {
        if let Some(response) = opened_replay(ctx, token) {
            return Ok(response);
        }
    }
    let event = SecurityEvent::RefreshReuse {
        family_id: family.id.clone(),
        sid: family.session_id.clone(),
    };
    apply_cascade(ctx, event, &ClientId::from(client.client_id.as_str())).await?;
    tracing::warn!(client = %client.client_id, family = %family.id, "refresh token reused; family revoked and session ended");
    Err(invalid_grant(
        "the refresh token was already used; its session has been revoked",
    ))
}

/// The response sealed at rotation, if it still opens.
fn opened_replay(ctx: &Context<'_>, token: &TokenRow) -> Option<TokenResponse> {
    let sealed = token.replay_response.as_ref()?;
    let json = ctx
        .directory
        .master()
        .open(REPLAY_PURPOSE, token.token_hash.as_bytes(), sealed)
        .ok()?;
    serde_json::from_slice(&json).ok()
}
