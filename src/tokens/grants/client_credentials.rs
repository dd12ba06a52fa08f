//! The client credentials grant (RFC 6749 §4.4): a confidential client
//! acting for itself. No user, so no ID token (even when `openid` is asked
//! for), no refresh token.

use super::{
    audience, check_resource, grant_scopes, parse_scopes, status_position, Context, TokenResponse,
};
use crate::directory::scopes::Target;
use crate::directory::{Client, GrantType};
use crate::error::Error;
use crate::tokens::claims::{self, Subject};
use crate::tokens::{mint_access, new_jti, AccessGrant};

pub async fn client_credentials(
    ctx: &Context<'_>,
    client: &Client,
    scope: Option<&str>,
    resource: Option<&str>,
) -> Result<TokenResponse, Error> {
    if client.is_public() || !client.allows(GrantType::ClientCredentials) {
        return Err(Error::oauth(
            "unauthorized_client",
            "this client may not use the client_credentials grant",
        ));
    }
    let scopes = parse_scopes(scope.unwrap_or(""))?;
    // `openid` is accepted, as Keycloak's clients send it by default, but
    // there is no user to describe: no ID token is issued.
    if scopes.contains("offline_access") {
        return Err(Error::oauth(
            "invalid_scope",
            "offline_access needs a user; client_credentials has none",
        ));
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
    Ok(TokenResponse::new(
        ctx,
        minted.token,
        granted.scope.to_string(),
    ))
}
