//! The console's one form endpoint, `POST /admin/console/actions`: every
//! form names an `action`; destructive ones are shown a confirmation page
//! first (the same fields again, plus `confirm=yes`).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::pages::{respond, start, Nav};
use super::{api_error_page, error_page};
use crate::admin::{self, Admin};
use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::pages::first_party::see_other;
use crate::http::form::Params;
use crate::http::csrf;

#[derive(Template)]
#[template(path = "console/confirm.html")]
struct ConfirmPage {
    nav: Nav,
    title: String,
    warning: String,
    fields: Vec<(String, String)>,
    back: String,
}

#[derive(Template)]
#[template(path = "console/secret.html")]
struct SecretPage {
    nav: Nav,
    client_id: String,
    secret: String,
    message: &'static str,
    back: String,
}

/// What a confirmation page says before a destructive action.
fn confirmation(action: &str, realm: &str) -> Option<(&'static str, String)> {
    Some(match action {
        "end-session" => (
            "End session",
            "Its access, ID and refresh tokens are rejected everywhere within milliseconds, and its applications are told through back-channel logout.".into(),
        ),
        "logout-user" => (
            "Sign out everywhere",
            "Every session of this user ends and every token issued to them so far is rejected, on every device.".into(),
        ),
        "disable-user" => (
            "Disable user",
            "The user can no longer sign in, and every session and token of theirs is revoked.".into(),
        ),
        "delete-user" => (
            "Delete user",
            "The user is removed and every token issued to them is rejected. This cannot be undone.".into(),
        ),
        "revoke-client" => (
            "Revoke all tokens of this client",
            "Every access and refresh token issued to the client so far is rejected.".into(),
        ),
        "regenerate-secret" => (
            "Regenerate secret",
            "The current secret stops working at once; the client must be given the new one.".into(),
        ),
        "compromised-client" => (
            "Contain the compromised client",
            "Every token of the client is rejected, its secret is replaced at once (the old one stops working), and its back-channel is told to end every session it took part in.".into(),
        ),
        "delete-client" => (
            "Delete client",
            "The client is removed and every token it held is rejected.".into(),
        ),
        "emergency-rotate" => (
            "Emergency key rotation",
            format!("The signing keys of realm {realm} are retired now: every token they signed — every session's tokens, everywhere — is rejected. Use this after a key leak."),
        ),
        "logout-realm" => (
            "Log out the whole realm",
            format!("Every session of realm {realm} ends and every token it issued so far is rejected."),
        ),
        "delete-realm" => (
            "Delete realm",
            format!("Realm {realm}, its users, clients and keys are removed, and every token it issued is rejected. This cannot be undone."),
        ),
        _ => return None,
    })
}

enum Done {
    /// Back to a page, with a notice code.
    To(String, &'static str),
    /// A new secret, shown once.
    Secret {
        client_id: String,
        secret: String,
        message: &'static str,
        back: String,
    },
}

fn number(form: &Params, name: &'static str) -> Result<Option<i64>, ApiError> {
    match form.get(name).ok().flatten().filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::invalid_field(name, format!("`{v}` is not a number"))),
    }
}

async fn execute(
    state: &Latch,
    admin: &Admin,
    action: &str,
    form: &Params,
) -> Result<Done, ApiError> {
    let field = |name: &str| form.get(name).ok().flatten().unwrap_or("").to_string();
    let optional = |name: &str| Some(field(name)).filter(|v| !v.is_empty());
    let checked = |name: &str| field(name) == "yes";
    let (realm, target) = (field("realm"), field("target"));
    let realm_page = |section: &str| format!("/admin/console/realms/{realm}{section}");
    Ok(match action {
        "create-realm" => {
            let rep = admin::realms::RealmRepresentation {
                realm: Some(field("name")),
                ..Default::default()
            };
            let created = admin::realms::create_realm(state, admin, rep).await?;
            Done::To(
                format!("/admin/console/realms/{}", created.name),
                "realm-created",
            )
        }
        "update-realm" => {
            let rep = admin::realms::RealmRepresentation {
                access_token_lifespan: number(form, "access")?,
                id_token_lifespan: number(form, "id_token")?,
                refresh_token_lifespan: number(form, "refresh")?,
                sso_session_max_lifespan: number(form, "session")?,
                offline_session_max_lifespan: number(form, "offline")?,
                key_rotation_interval: number(form, "rotation")?,
                ..Default::default()
            };
            admin::realms::update_realm(state, admin, realm.clone(), rep).await?;
            Done::To(realm_page(""), "realm-updated")
        }
        "logout-realm" => {
            admin::realms::run_event(state, admin, realm.clone(), |_, _| {
                Ok(crate::revocation::cascade::SecurityEvent::RealmLogoutAll)
            })
            .await?;
            Done::To(realm_page(""), "realm-logged-out")
        }
        "delete-realm" => {
            admin::realms::delete_realm(state, admin, realm.clone()).await?;
            Done::To("/admin/console".into(), "realm-deleted")
        }
        "create-user" => {
            let credentials = optional("password").map(|value| {
                vec![admin::users::CredentialRepresentation {
                    kind: Some("password".into()),
                    value: Some(value),
                    temporary: Some(checked("temporary")),
                }]
            });
            let rep = admin::users::UserRepresentation {
                username: Some(field("username")),
                email: optional("email"),
                first_name: optional("first_name"),
                last_name: optional("last_name"),
                credentials,
                ..Default::default()
            };
            let user = admin::users::create_user(state, admin, realm.clone(), rep).await?;
            Done::To(realm_page(&format!("/users/{}", user.id)), "user-created")
        }
        "set-password" => {
            let credential = admin::users::CredentialRepresentation {
                kind: Some("password".into()),
                value: Some(field("password")),
                temporary: Some(checked("temporary")),
            };
            admin::users::set_password(state, admin, realm.clone(), target.clone(), &credential)
                .await?;
            Done::To(realm_page(&format!("/users/{target}")), "password-set")
        }
        "logout-user" => {
            admin::users::logout_user(state, admin, realm.clone(), target.clone()).await?;
            Done::To(realm_page(&format!("/users/{target}")), "user-logged-out")
        }
        "disable-user" | "enable-user" => {
            let enabled = action == "enable-user";
            let rep = admin::users::UserRepresentation {
                enabled: Some(enabled),
                ..Default::default()
            };
            admin::users::update_user(state, admin, realm.clone(), target.clone(), rep).await?;
            let done = if enabled {
                "user-enabled"
            } else {
                "user-disabled"
            };
            Done::To(realm_page(&format!("/users/{target}")), done)
        }
        "clear-lockout" => {
            admin::users::clear_lockouts(state, admin, realm.clone(), Some(target.clone())).await?;
            Done::To(realm_page(&format!("/users/{target}")), "lockout-cleared")
        }
        "delete-user" => {
            admin::users::delete_user(state, admin, realm.clone(), target).await?;
            Done::To(realm_page("/users"), "user-deleted")
        }
        "end-session" => {
            admin::sessions::end_session(state, admin, realm.clone(), target).await?;
            let back = optional("back")
                .filter(|b| b.starts_with("/admin/console/"))
                .unwrap_or_else(|| realm_page("/sessions"));
            Done::To(back, "session-ended")
        }
        "create-client" => {
            let public = checked("public");
            let service = checked("service");
            let redirect = optional("redirect_uri");
            let rep = admin::clients::ClientRepresentation {
                client_id: Some(field("client_id")),
                public_client: Some(public),
                standard_flow_enabled: Some(redirect.is_some()),
                service_accounts_enabled: Some(service),
                redirect_uris: Some(redirect.into_iter().collect()),
                backchannel_logout_url: optional("backchannel"),
                ..Default::default()
            };
            let (client, secret) =
                admin::clients::create_client(state, admin, realm.clone(), rep).await?;
            match secret {
                Some(secret) => Done::Secret {
                    client_id: client.client_id,
                    secret,
                    message: "The client is registered. This is its secret.",
                    back: realm_page(&format!("/clients/{}", client.id)),
                },
                None => Done::To(
                    realm_page(&format!("/clients/{}", client.id)),
                    "client-created",
                ),
            }
        }
        "regenerate-secret" => {
            let client = admin::clients::read_client(state, realm.clone(), target.clone()).await?;
            let secret =
                admin::clients::new_secret(state, admin, realm.clone(), target.clone(), 0).await?;
            Done::Secret {
                client_id: client.client_id,
                secret,
                message: "The old secret no longer works. Give the client this one.",
                back: realm_page(&format!("/clients/{target}")),
            }
        }
        "revoke-client" => {
            admin::clients::revoke_client_tokens(state, admin, realm.clone(), target.clone())
                .await?;
            Done::To(realm_page(&format!("/clients/{target}")), "client-revoked")
        }
        "compromised-client" => {
            let client = admin::clients::read_client(state, realm.clone(), target.clone()).await?;
            let (_, secret) =
                admin::clients::compromised_client(state, admin, realm.clone(), target.clone())
                    .await?;
            match secret {
                Some(secret) => Done::Secret {
                    client_id: client.client_id,
                    secret,
                    message: "Every token of the client is revoked, the old secret no longer works and its back-channel has been told. This is the new secret.",
                    back: realm_page(&format!("/clients/{target}")),
                },
                None => Done::To(realm_page(&format!("/clients/{target}")), "client-revoked"),
            }
        }
        "delete-client" => {
            admin::clients::delete_client(state, admin, realm.clone(), target).await?;
            Done::To(realm_page("/clients"), "client-deleted")
        }
        "rotate-keys" | "emergency-rotate" => {
            let emergency = action == "emergency-rotate";
            let request = admin::keys::RotationRequest {
                emergency: Some(emergency),
                algorithm: None,
            };
            admin::keys::rotate_keys(state, admin, realm.clone(), request).await?;
            let done = if emergency {
                "keys-emergency"
            } else {
                "keys-rotated"
            };
            Done::To(realm_page("/keys"), done)
        }
        other => {
            return Err(ApiError::invalid_field(
                "action",
                format!(
                    "unknown action `{}`",
                    other.chars().take(40).collect::<String>()
                ),
            ))
        }
    })
}

/// `POST /admin/console/actions`
pub async fn act(state: web::Data<Latch>, req: HttpRequest, body: web::Payload) -> HttpResponse {
    let form = match crate::http::form::from_body(&req, body).await {
        Ok(form) => form,
        Err(e) => return error_page(e.into()),
    };
    if let Err(e) = csrf::check(&req, &form, state.secure_cookies()) {
        return error_page(e);
    }
    let realm = form.get("realm").ok().flatten().map(str::to_string);
    let (admin, nav, cookies) = match start(&state, &req, realm.clone(), "confirm").await {
        Ok(parts) => parts,
        Err(response) => return response,
    };
    let action = form.get("action").ok().flatten().unwrap_or("").to_string();
    let confirmed = form.get("confirm").ok().flatten() == Some("yes");
    if let Some((title, warning)) = confirmation(&action, realm.as_deref().unwrap_or("")) {
        if !confirmed {
            let back = req
                .headers()
                .get(actix_web::http::header::REFERER)
                .and_then(|r| r.to_str().ok())
                .and_then(|r| r.find("/admin/console").map(|i| r[i..].to_string()))
                .unwrap_or_else(|| super::PATH.to_string());
            let fields = form
                .pairs()
                .iter()
                .filter(|(name, _)| name != "confirm" && name != "password")
                .cloned()
                .collect();
            let page = ConfirmPage {
                nav,
                title: title.to_string(),
                warning,
                fields,
                back,
            };
            return respond(&page, cookies);
        }
    }
    match execute(&state, &admin, &action, &form).await {
        Ok(Done::To(path, code)) => {
            let separator = if path.contains('?') { '&' } else { '?' };
            let mut response = see_other(&format!("{path}{separator}done={code}"));
            for cookie in cookies {
                let _ = response.add_cookie(&cookie);
            }
            response
        }
        Ok(Done::Secret {
            client_id,
            secret,
            message,
            back,
        }) => respond(
            &SecretPage {
                nav,
                client_id,
                secret,
                message,
                back,
            },
            cookies,
        ),
        Err(e) => api_error_page(e),
    }
}
