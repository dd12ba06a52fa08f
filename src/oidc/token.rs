//! The token endpoint (RFC 6749 §3.2): parses the request, runs the grant,
//! renders the response. Grant refusals are domain errors (`Error::OAuth`)
//! that the error table turns into RFC 6749 §5.2 responses.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use latch_protocol::token::{Grant, Request as TokenRequest};

use crate::app::Latch;
use crate::directory::RealmState;
use crate::http::errors::ApiError;
use crate::http::peer;
use crate::operations::users::User;
use crate::tokens::grants::{self, CodeRedemption, Context, TokenResponse};

use super::client_auth::Caller;

/// `POST /realms/{realm}/protocol/openid-connect/token`
pub async fn token(
    state: web::Data<Latch>,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (realm, params, caller) = super::protocol_form(&state, &path, &req, body).await?;
    let request = latch_protocol::token::parse(&params)?;
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
    let response = grant(&state, &ctx, &req, &caller, &request).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}

/// Runs the requested grant for the authenticated caller.
async fn grant(
    state: &Latch,
    ctx: &Context<'_>,
    req: &HttpRequest,
    caller: &Caller,
    request: &TokenRequest,
) -> Result<TokenResponse, ApiError> {
    let resource = request.resource.as_deref();
    let client = &caller.client;
    let response = match &request.grant {
        Grant::AuthorizationCode {
            code,
            redirect_uri,
            code_verifier,
        } => {
            let redemption = CodeRedemption {
                code,
                redirect_uri: redirect_uri.as_deref(),
                code_verifier: code_verifier.as_deref(),
                resource,
            };
            grants::authorization_code(ctx, client, redemption).await
        }
        Grant::RefreshToken {
            refresh_token,
            scope,
        } => grants::refresh(ctx, client, refresh_token, scope.as_deref(), resource).await,
        Grant::ClientCredentials { scope } if caller.authenticated => {
            grants::client_credentials(ctx, client, scope.as_deref(), resource).await
        }
        Grant::ClientCredentials { .. } => {
            return Err(ApiError::oauth(
                "unauthorized_client",
                "public clients cannot use client_credentials",
            ))
        }
        Grant::Password {
            username,
            password,
            scope,
        } => {
            let origin = peer::origin(req);
            let ip = origin.ip.as_deref();
            let user = password_user(state, ctx.realm, username, password, ip).await?;
            grants::password(ctx, client, user, origin, scope.as_deref(), resource).await
        }
    };
    Ok(response?)
}

/// The password grant's user: the setting must allow the grant, and the
/// credentials go through the same check as the login form.
async fn password_user(
    state: &Latch,
    realm: &RealmState,
    username: &str,
    password: &str,
    ip: Option<&str>,
) -> Result<User, ApiError> {
    use crate::login::credentials::{CheckError, Verdict};
    if !state.settings.password_grant {
        return Err(ApiError::oauth(
            "unsupported_grant_type",
            "the password grant is turned off on this server",
        ));
    }
    match state
        .checker()
        .check(realm, username, password.to_string(), ip)
        .await
    {
        Ok(Verdict::Accepted(user)) => Ok(*user),
        Ok(Verdict::Refused) => Err(ApiError::oauth("invalid_grant", "Invalid user credentials")),
        Ok(Verdict::Throttled(wait)) => Err(ApiError::too_many(
            wait,
            "too many failed sign-ins from this address; try again later",
        )),
        Err(CheckError::Busy(busy)) => Err(ApiError::unavailable(busy.to_string())),
        Err(CheckError::Internal(e)) => Err(e.into()),
    }
}
