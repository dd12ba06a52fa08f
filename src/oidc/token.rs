//! The token endpoint (RFC 6749 §3.2).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use crate::http::errors::ApiError;
use crate::http::AppState;
use crate::tokens::grants::{self, CodeRedemption, Context, Failure};

fn failure(f: Failure) -> ApiError {
    match f {
        Failure::Grant(e) => ApiError::oauth(e.error, e.description),
        Failure::Internal(e) => e.into(),
    }
}

/// The password grant's user: the setting must allow the grant, and the
/// credentials go through the same check as the login form.
async fn password_user(
    state: &AppState,
    realm: &crate::directory::RealmState,
    params: &crate::http::form::Params,
) -> Result<crate::store::users::User, ApiError> {
    use crate::login::credentials::{self, CheckError};
    if !state.settings.password_grant {
        return Err(ApiError::oauth(
            "unsupported_grant_type",
            "the password grant is turned off on this server",
        ));
    }
    let username = params
        .get("username")?
        .ok_or_else(|| ApiError::invalid_request("username is required"))?;
    let password = params
        .get("password")?
        .ok_or_else(|| ApiError::invalid_request("password is required"))?;
    let checked = credentials::check(
        &state.password_pool,
        &state.directory,
        realm,
        username,
        password.to_string(),
    )
    .await
    .map_err(|e| match e {
        CheckError::Busy(busy) => ApiError::unavailable(busy.to_string()),
        CheckError::Internal(e) => e.into(),
    })?;
    checked.ok_or_else(|| ApiError::oauth("invalid_grant", "Invalid user credentials"))
}

/// `POST /realms/{realm}/protocol/openid-connect/token`
pub async fn token(
    state: web::Data<AppState>,
    path: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (realm, params, caller) = super::protocol_form(&state, &path, &req, body).await?;
    let grant_type = params
        .get("grant_type")?
        .ok_or_else(|| ApiError::invalid_request("grant_type is required"))?
        .to_string();
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
    let resource = params.get("resource")?;
    let response = match grant_type.as_str() {
        "authorization_code" => {
            grants::authorization_code(
                &ctx,
                &caller.client,
                CodeRedemption {
                    code: params
                        .get("code")?
                        .ok_or_else(|| ApiError::invalid_request("code is required"))?,
                    redirect_uri: params.get("redirect_uri")?,
                    code_verifier: params.get("code_verifier")?,
                    resource,
                },
            )
            .await
        }
        "refresh_token" => {
            let presented = params
                .get("refresh_token")?
                .ok_or_else(|| ApiError::invalid_request("refresh_token is required"))?;
            grants::refresh(
                &ctx,
                &caller.client,
                presented,
                params.get("scope")?,
                resource,
            )
            .await
        }
        "client_credentials" if caller.authenticated => {
            grants::client_credentials(&ctx, &caller.client, params.get("scope")?, resource).await
        }
        "client_credentials" => {
            return Err(ApiError::oauth(
                "unauthorized_client",
                "public clients cannot use client_credentials",
            ))
        }
        "password" => {
            let user = password_user(&state, &realm, &params).await?;
            let origin = crate::login::session::Origin::of(&req);
            grants::password(
                &ctx,
                &caller.client,
                user,
                origin,
                params.get("scope")?,
                resource,
            )
            .await
        }
        other => {
            return Err(ApiError::oauth(
                "unsupported_grant_type",
                format!(
                    "grant_type `{}` is not supported",
                    other.chars().take(64).collect::<String>()
                ),
            ))
        }
    }
    .map_err(failure)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(response))
}
