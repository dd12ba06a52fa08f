//! The resource owner password grant (RFC 6749 §4.3), kept for Keycloak
//! compatibility (`admin-cli`); the setting `password_grant` turns it off.

use super::{
    check_resource, grant_scopes, invalid_grant, open_family, parse_scopes, refresh_lifetime_s,
    refresh_minter, respond, Context, Facts, FamilySeed, FirstRefresh, Issue, OpenedFamily,
    TokenResponse,
};
use crate::crypto;
use crate::directory::{Client, GrantType};
use crate::error::Error;
use crate::login::session;
use crate::store::realms::Realm;
use crate::store::sessions::SessionRow;
use crate::store::users::User;
use crate::store::{self, DbConnection};
use crate::tokens::new_jti;

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
) -> Result<TokenResponse, Error> {
    if !client.allows(GrantType::Password) {
        return Err(Error::oauth(
            "unauthorized_client",
            "this client may not use the password grant",
        ));
    }
    if user.must_update_password() {
        return Err(invalid_grant(
            "Account is not fully set up: the user must choose a new password in the browser",
        ));
    }
    // A password alone is not enough for a user who has a second factor
    // (or must set one up): refused as Keycloak refuses it.
    crate::login::second_factor::password_alone(ctx.directory, ctx.realm, &user)
        .await?
        .map_err(invalid_grant)?;
    let granted = grant_scopes(ctx, client, &parse_scopes(scope.unwrap_or("openid"))?)?;
    check_resource(resource)?;
    let jti = new_jti();
    let start = SignIn {
        realm: ctx.realm.realm.clone(),
        user,
        origin,
        // The session has no browser cookie; its cookie hash is unguessable.
        cookie_hash: ctx.directory.hash_token(&crypto::random_token::<32>()),
        client_row_id: client.id.clone(),
        scope: granted.scope.to_string(),
        first: client
            .allows(GrantType::RefreshToken)
            .then(|| FirstRefresh {
                minter: refresh_minter(ctx, client),
                access_jti: jti.clone(),
            }),
        with_attributes: granted.reads_attributes(),
        now: ctx.now_ms,
    };
    let (user, session, family, facts) = ctx
        .directory
        .store()
        .run(move |conn| store::write(conn, |conn| start.run(conn)))
        .await?;
    let refresh = family.map(|opened| {
        let lifetime_s = refresh_lifetime_s(&ctx.realm.realm, &opened.family, ctx.now_ms);
        (opened.token, lifetime_s)
    });
    let issue = Issue {
        user: &user,
        granted: &granted,
        resource,
        jti,
        sid: &session.id,
        nonce: None,
        auth_time_s: session.auth_time_s,
        refresh,
        facts: &facts,
        acr: "1",
    };
    respond(ctx, client, issue).await
}

/// The sign-in a password grant records: a session, its refresh family
/// when the client may refresh, the client on the session.
struct SignIn {
    realm: Realm,
    user: User,
    origin: session::Origin,
    cookie_hash: String,
    client_row_id: String,
    scope: String,
    first: Option<FirstRefresh>,
    with_attributes: bool,
    now: i64,
}

impl SignIn {
    fn run(
        self,
        conn: &mut DbConnection,
    ) -> Result<(User, SessionRow, Option<OpenedFamily>, Facts), Error> {
        let SignIn {
            realm,
            user,
            origin,
            cookie_hash,
            client_row_id,
            scope,
            first,
            with_attributes,
            now,
        } = self;
        let session = session::start(conn, &realm, &user, &cookie_hash, &origin, false, now)?;
        let family = match first {
            Some(first) => {
                let seed = FamilySeed {
                    user_id: &user.id,
                    session_id: &session.id,
                    scope: &scope,
                    auth_time_s: session.auth_time_s,
                    client_row_id: &client_row_id,
                    offline: scope.split(' ').any(|s| s == "offline_access"),
                    session_expires_ms: session.expires_at_ms,
                    acr: Some("1"),
                };
                Some(open_family(conn, &realm, seed, first, now)?)
            }
            None => None,
        };
        store::sessions::add_client(conn, &session.id, &client_row_id, now)?;
        let facts = Facts::load(conn, &user.id, with_attributes)?;
        Ok((user, session, family, facts))
    }
}
