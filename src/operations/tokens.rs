//! What a client does with the tokens it holds: revoke one (RFC 7009),
//! end the sign-in a refresh token belongs to (Keycloak's non-browser
//! logout), learn whether a refresh token is active (RFC 7662), and what the
//! userinfo endpoint reads about the user an access token names.

use super::Actor;
use crate::app::Latch;
use crate::directory::{Client, RealmState};
use crate::error::Error;
use crate::revocation::cascade::{self, EndReason, SecurityEvent};
use crate::store;
use crate::store::refresh::FamilyRow;
use crate::store::users::User;
use crate::tokens::grants::{family_holder, Facts};
use crate::tokens::refresh_token::{self, Shape};
use crate::tokens::AccessClaims;

/// Anything longer is not a refresh token, and is not worth a hash and a
/// query.
const MAX_REFRESH_TOKEN_LEN: usize = refresh_token::MAX_LEN;

/// What a presented token turned out to be.
enum Presented {
    Access(AccessClaims),
    Refresh(FamilyRow),
    /// Unknown, malformed, expired or already dead: RFC 7009 §2.2 says 200.
    Nothing,
}

/// RFC 7009 §2.1: the `token_type_hint` only orders the search, and the
/// two kinds are told apart without it: a refresh token by its MAC (both
/// are JWTs), or as an opaque one of the earlier kind. A live access token
/// is found in memory (the access check); a refresh token in the database.
async fn identify(latch: &Latch, realm: &RealmState, token: &str) -> Result<Presented, Error> {
    match refresh_token::shape(latch.directory.master(), token) {
        Shape::Refresh => {}
        Shape::Jws => {
            return Ok(match latch.access.check(realm, token) {
                Ok(claims) => Presented::Access(claims),
                Err(_) => Presented::Nothing,
            })
        }
        Shape::Unknown => return Ok(Presented::Nothing),
    }
    let hash = latch.directory.hash_token(token);
    let found = latch
        .directory
        .store()
        .run(move |conn| store::refresh::find_token(conn, &hash))
        .await?;
    Ok(match found {
        Some((_, family))
            if family.realm_id == realm.realm.id && family.revoked_at_ms.is_none() =>
        {
            Presented::Refresh(family)
        }
        _ => Presented::Nothing,
    })
}

fn other_client() -> Error {
    Error::oauth(
        "unauthorized_client",
        "the token was issued to another client",
    )
}

/// Revokes `token` for `caller`, the client it was issued to (RFC 7009
/// §2.1). The cascade runs through the committer, which applies it on this
/// node and publishes it before returning: the token is refused from then
/// on.
pub async fn revoke(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmState,
    caller: &Client,
    token: &str,
) -> Result<(), Error> {
    let event = match identify(latch, realm, token).await? {
        Presented::Access(claims) if claims.client_id != caller.client_id => {
            return Err(other_client())
        }
        Presented::Access(claims) => SecurityEvent::AccessTokenRevoked {
            jti: claims.jti,
            exp_ms: claims.exp * 1000,
            client_row_id: caller.id.clone(),
        },
        Presented::Refresh(family) if family.client_id != caller.id => return Err(other_client()),
        Presented::Refresh(family) => SecurityEvent::RefreshFamilyRevoked {
            family_id: family.id,
        },
        Presented::Nothing => return Ok(()),
    };
    let (realm_row, actor, now) = (realm.realm.clone(), actor.clone(), latch.clock.now_ms());
    latch
        .committer
        .submit(move |conn| cascade::apply(conn, &realm_row, &event, &actor, now).map(|_| ()))
        .await
}

/// Keycloak's non-browser logout: `caller` presents a refresh token of its
/// own, and the sign-in it belongs to ends — the whole session for an
/// online token (every token of the session dies, offline families
/// survive), that family alone for an offline one. A token that is not an
/// active refresh token of `caller` is `invalid_grant` (RFC 6749 §5.2).
pub async fn logout(
    latch: &Latch,
    actor: &Actor,
    realm: &RealmState,
    caller: &Client,
    presented: &str,
) -> Result<(), Error> {
    let invalid = |why: &str| Error::oauth("invalid_grant", why.to_string());
    if presented.is_empty() || presented.len() > MAX_REFRESH_TOKEN_LEN {
        return Err(invalid("Invalid refresh token"));
    }
    let hash = latch.directory.hash_token(presented);
    let (realm_id, now) = (realm.realm.id.clone(), latch.clock.now_ms());
    let found = latch
        .directory
        .store()
        .run(move |conn| store::refresh::find_token(conn, &hash))
        .await?;
    let family = match found {
        Some((token, family))
            if family.realm_id == realm_id
                && family.revoked_at_ms.is_none()
                && token.rotated_at_ms.is_none()
                && token.expires_at_ms > now
                && family.expires_at_ms > now =>
        {
            family
        }
        _ => return Err(invalid("Invalid refresh token")),
    };
    if family.client_id != caller.id {
        return Err(invalid("the refresh token was issued to another client"));
    }
    let event = if family.offline {
        SecurityEvent::RefreshFamilyRevoked {
            family_id: family.id,
        }
    } else {
        SecurityEvent::SessionEnded {
            sid: family.session_id,
            reason: EndReason::Logout,
        }
    };
    let (realm_row, actor) = (realm.realm.clone(), actor.clone());
    latch
        .committer
        .submit(move |conn| cascade::apply(conn, &realm_row, &event, &actor, now).map(|_| ()))
        .await
}

/// An active refresh token, as introspection describes it.
pub struct ActiveRefresh {
    pub scope: String,
    pub expires_at_ms: i64,
    pub issued_at_ms: i64,
    pub user_id: String,
    pub username: String,
    pub sid: String,
}

/// Whether `token` is an active refresh token of `caller`: its family
/// lives, it has not been rotated, and (online) its session lives. Only
/// its own client may ask; to anyone else it is simply not active.
pub async fn active_refresh(
    latch: &Latch,
    realm: &RealmState,
    caller: &Client,
    token: &str,
) -> Result<Option<ActiveRefresh>, Error> {
    let hash = latch.directory.hash_token(token);
    let (realm_id, client_row) = (realm.realm.id.clone(), caller.id.clone());
    let now = latch.clock.now_ms();
    latch
        .directory
        .store()
        .run(move |conn| -> Result<Option<ActiveRefresh>, Error> {
            let Some((token, family)) = store::refresh::find_token(conn, &hash)? else {
                return Ok(None);
            };
            let usable = family.realm_id == realm_id
                && family.client_id == client_row
                && family.revoked_at_ms.is_none()
                && token.rotated_at_ms.is_none()
                && token.expires_at_ms > now
                && family.expires_at_ms > now;
            if !usable {
                return Ok(None);
            }
            let Ok(user) = family_holder(conn, &family, now)? else {
                return Ok(None);
            };
            Ok(Some(ActiveRefresh {
                scope: family.scope,
                expires_at_ms: token.expires_at_ms,
                issued_at_ms: family.created_at_ms,
                user_id: user.id,
                username: user.username,
                sid: family.session_id,
            }))
        })
        .await
}

/// The enabled user an access token names, with what the claim mappers
/// read about them (attributes only when a granted scope maps one).
pub async fn token_subject(
    latch: &Latch,
    user_id: &str,
    with_attributes: bool,
) -> Result<Option<(User, Facts)>, Error> {
    let user_id = user_id.to_string();
    latch
        .directory
        .store()
        .run(move |conn| -> Result<_, Error> {
            let Some(user) = store::users::find(conn, &user_id)?.filter(|u| u.enabled) else {
                return Ok(None);
            };
            let facts = Facts::load(conn, &user.id, with_attributes)?;
            Ok(Some((user, facts)))
        })
        .await
}
