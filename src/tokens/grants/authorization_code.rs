//! The authorization code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636):
//! a code is redeemed once; a second redemption fails and revokes what the
//! first issued (RFC 6749 §4.1.2).

use std::sync::Arc;

use super::{
    apply_cascade, check_resource, grant_scopes, invalid_grant, open_family, refresh_lifetime_s,
    refresh_minter, respond, Context, Facts, FamilySeed, FirstRefresh, Issue, OpenedFamily,
    TokenResponse,
};
use crate::directory::{Client, GrantType};
use crate::error::Error;
use crate::ids::ClientId;
use crate::login::session;
use crate::revocation::cascade::SecurityEvent;
use crate::store::codes::CodeRow;
use crate::store::realms::Realm;
use crate::store::sessions::SessionRow;
use crate::store::users::User;
use crate::store::{self, DbConnection};
use crate::tokens::{new_jti, Scopes};

pub struct CodeRedemption<'a> {
    pub code: &'a str,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
    pub resource: Option<&'a str>,
}

const REPLAYED: &str = "the code was already used; the tokens issued with it are revoked";

/// Redeems a code once. A second redemption fails and revokes what the
/// first one issued (RFC 6749 §4.1.2).
pub async fn authorization_code(
    ctx: &Context<'_>,
    client: &Arc<Client>,
    r: CodeRedemption<'_>,
) -> Result<TokenResponse, Error> {
    let code_hash = ctx.directory.hash_token(r.code);
    let row = {
        let hash = code_hash.clone();
        ctx.directory
            .store()
            .run(move |conn| store::codes::find(conn, &hash))
            .await?
    }
    .ok_or_else(|| invalid_grant("the code is invalid or has expired"))?;
    check_code(&row, ctx, client, &r)?;
    let public_id = ClientId::from(client.client_id.as_str());
    if row.used_at_ms.is_some() {
        revoke_code_issue(ctx, row, &public_id).await?;
        return Err(invalid_grant(REPLAYED));
    }
    let granted = grant_scopes(ctx, client, &Scopes::parse(&row.scope).unwrap_or_default())?;
    check_resource(r.resource)?;
    let jti = new_jti();
    let redeem = Redeem {
        realm: ctx.realm.realm.clone(),
        code_hash,
        row: row.clone(),
        client_row_id: client.id.clone(),
        offline: granted.scope.contains("offline_access"),
        first: client
            .allows(GrantType::RefreshToken)
            .then(|| FirstRefresh {
                minter: refresh_minter(ctx, client),
                access_jti: jti.clone(),
            }),
        access_jti: jti.clone(),
        with_attributes: granted.reads_attributes(),
        now: ctx.now_ms,
    };
    let outcome = ctx
        .directory
        .store()
        .run(move |conn| store::write(conn, |conn| redeem.run(conn)))
        .await?;
    let (user, family, auth_time_s, facts) = match outcome {
        Redemption::Issued(issued) => *issued,
        Redemption::Replayed(used) => {
            revoke_code_issue(ctx, *used, &public_id).await?;
            return Err(invalid_grant(REPLAYED));
        }
    };
    let refresh = family.map(|opened| {
        let lifetime_s = refresh_lifetime_s(&ctx.realm.realm, &opened.family, ctx.now_ms);
        (opened.token, lifetime_s)
    });
    let issue = Issue {
        user: &user,
        granted: &granted,
        resource: r.resource,
        jti,
        sid: &row.session_id,
        nonce: row.nonce.as_deref(),
        auth_time_s,
        refresh,
        facts: &facts,
        acr: row.acr.as_deref().unwrap_or("1"),
    };
    respond(ctx, client, issue).await
}

/// The code belongs to this client and realm, is fresh, and is redeemed
/// with the request's redirect URI and PKCE verifier.
fn check_code(
    row: &CodeRow,
    ctx: &Context<'_>,
    client: &Client,
    r: &CodeRedemption<'_>,
) -> Result<(), Error> {
    if row.realm_id != ctx.realm.realm.id || row.client_id != client.id {
        return Err(invalid_grant("the code was issued to another client"));
    }
    if row.expires_at_ms <= ctx.now_ms {
        return Err(invalid_grant("the code has expired"));
    }
    if r.redirect_uri != Some(row.redirect_uri.as_str()) {
        return Err(invalid_grant(
            "redirect_uri does not match the authorization request",
        ));
    }
    check_verifier(row.code_challenge.as_deref(), r.code_verifier)
}

/// RFC 7636 §4.6: BASE64URL(SHA256(verifier)) must equal the challenge.
fn check_verifier(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), Error> {
    match (challenge, verifier) {
        (Some(challenge), Some(verifier))
            if latch_protocol::pkce::s256_matches(challenge, verifier) =>
        {
            Ok(())
        }
        (Some(_), Some(_)) => Err(invalid_grant(
            "code_verifier does not match the code_challenge",
        )),
        (Some(_), None) => Err(invalid_grant("code_verifier is required")),
        // RFC 9700 §4.8.2: a verifier without a challenge is a downgrade attempt.
        (None, Some(_)) => Err(invalid_grant(
            "code_verifier sent but the request had no code_challenge",
        )),
        (None, None) => Ok(()),
    }
}

/// What a code's redemption transaction found.
enum Redemption {
    /// First use: the user, the new refresh family and its first token
    /// (if any), the auth time, what the mappers read about the user.
    Issued(Box<(User, Option<OpenedFamily>, i64, Facts)>),
    /// The code had been used already.
    Replayed(Box<CodeRow>),
}

/// One redemption's writes: the code marked used, the refresh family, the
/// code's record of what it issued, the client on the session.
struct Redeem {
    realm: Realm,
    code_hash: String,
    row: CodeRow,
    client_row_id: String,
    offline: bool,
    first: Option<FirstRefresh>,
    access_jti: String,
    with_attributes: bool,
    now: i64,
}

impl Redeem {
    fn run(self, conn: &mut DbConnection) -> Result<Redemption, Error> {
        let Redeem {
            realm,
            code_hash,
            row,
            client_row_id,
            offline,
            first,
            access_jti,
            with_attributes,
            now,
        } = self;
        if !store::codes::mark_used(conn, &code_hash, now)? {
            // A concurrent redemption won; treat this one as the replay.
            let current = store::codes::find(conn, &code_hash)?;
            return Ok(Redemption::Replayed(Box::new(current.unwrap_or(row))));
        }
        let (session, user) = live_session(conn, &row.session_id, now)?;
        let facts = Facts::load(conn, &user.id, with_attributes)?;
        let family = match first {
            Some(first) => {
                let seed = FamilySeed {
                    user_id: &row.user_id,
                    session_id: &row.session_id,
                    scope: &row.scope,
                    auth_time_s: row.auth_time_s,
                    client_row_id: &client_row_id,
                    offline,
                    session_expires_ms: session.expires_at_ms,
                    acr: row.acr.as_deref(),
                };
                Some(open_family(conn, &realm, seed, first, now)?)
            }
            None => None,
        };
        let family_id = family.as_ref().map(|opened| opened.family.id.as_str());
        store::codes::record_issued(conn, &code_hash, family_id, &access_jti)?;
        store::sessions::add_client(conn, &session.id, &client_row_id, now)?;
        let issued = (user, family, session.auth_time_s, facts);
        Ok(Redemption::Issued(Box::new(issued)))
    }
}

/// The code's session, still live, with its user.
fn live_session(conn: &mut DbConnection, sid: &str, now: i64) -> Result<(SessionRow, User), Error> {
    let ended = || invalid_grant("the session has ended");
    let session = store::sessions::find(conn, sid)?.ok_or_else(ended)?;
    let user = store::users::find(conn, &session.user_id)?.ok_or_else(ended)?;
    if !session::is_live(&session, &user, now) {
        return Err(ended());
    }
    Ok((session, user))
}

/// Revokes what a code's first redemption issued: its refresh family, and
/// its access token (through the revocation log).
async fn revoke_code_issue(
    ctx: &Context<'_>,
    row: CodeRow,
    client: &ClientId,
) -> Result<(), Error> {
    let event = SecurityEvent::CodeReplay {
        family_id: row.family_id.clone(),
        access_jti: row.access_jti.clone(),
        access_exp_ms: row.expires_at_ms + ctx.realm.realm.access_token_lifetime_s * 1000,
        client_row_id: row.client_id.clone(),
    };
    apply_cascade(ctx, event, client).await?;
    tracing::warn!(client = %client, "authorization code replayed; revoked what it issued");
    Ok(())
}
