//! The console's one form endpoint, `POST /admin/console/actions`: every
//! form names an `action`; destructive ones are shown a confirmation page
//! first (the same fields again, plus `confirm=yes`).

use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;

use super::pages::{respond, start, Nav};
use super::{api_error_page, error_page};
use crate::admin::Admin;
use crate::app::Latch;
use crate::http::csrf;
use crate::http::errors::ApiError;
use crate::http::form::Params;
use crate::ids::{ClientId, ClientRowId, RealmName, Sid, UserId};
use crate::operations::clients::{self, ClientRef, Flows, NewClient, SecretChoice};
use crate::operations::credentials::{self, PasswordChange};
use crate::operations::keys::{self, Rotation};
use crate::operations::realms::{self, RealmSettings};
use crate::operations::sessions;
use crate::operations::users::{self, NewUser, UserChanges, UserRef};
use crate::operations::Actor;
use crate::pages::first_party::see_other;

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

/// The form's fields as the actions read them.
struct Fields<'a>(&'a Params);

impl Fields<'_> {
    fn text(&self, name: &str) -> String {
        self.0.get(name).ok().flatten().unwrap_or("").to_string()
    }

    fn optional(&self, name: &str) -> Option<String> {
        Some(self.text(name)).filter(|v| !v.is_empty())
    }

    fn checked(&self, name: &str) -> bool {
        self.text(name) == "yes"
    }

    fn number(&self, name: &'static str) -> Result<Option<i64>, ApiError> {
        match self.optional(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ApiError::invalid_field(name, format!("`{v}` is not a number"))),
        }
    }

    fn realm(&self) -> RealmName {
        RealmName(self.text("realm"))
    }

    /// What the action is about: a user, a session or a client (by id).
    fn target(&self) -> String {
        self.text("target")
    }

    fn user(&self) -> UserRef {
        UserRef::Id(UserId(self.target()))
    }

    fn client(&self) -> ClientRef {
        ClientRef::Row(ClientRowId(self.target()))
    }

    /// A page of the form's realm.
    fn page(&self, section: &str) -> String {
        format!("/admin/console/realms/{}{section}", self.text("realm"))
    }

    /// The page of the action's target in `section` (`/users`, `/clients`).
    fn target_page(&self, section: &str) -> String {
        self.page(&format!("{section}/{}", self.target()))
    }
}

async fn execute(
    state: &Latch,
    admin: &Admin,
    action: &str,
    form: &Params,
) -> Result<Done, ApiError> {
    let f = Fields(form);
    let actor = &admin.actor;
    match action {
        "create-realm" => create_realm(state, actor, &f).await,
        "update-realm" => update_realm(state, actor, &f).await,
        "logout-realm" => logout_realm(state, actor, &f).await,
        "delete-realm" => delete_realm(state, actor, &f).await,
        "create-user" => create_user(state, actor, &f).await,
        "set-password" => set_password(state, actor, &f).await,
        "logout-user" => logout_user(state, actor, &f).await,
        "disable-user" => enable_user(state, actor, &f, false).await,
        "enable-user" => enable_user(state, actor, &f, true).await,
        "clear-lockout" => clear_lockout(state, actor, &f).await,
        "delete-user" => delete_user(state, actor, &f).await,
        "end-session" => end_session(state, actor, &f).await,
        "create-client" => create_client(state, actor, &f).await,
        "regenerate-secret" => regenerate_secret(state, actor, &f).await,
        "revoke-client" => revoke_client(state, actor, &f).await,
        "compromised-client" => compromised_client(state, actor, &f).await,
        "delete-client" => delete_client(state, actor, &f).await,
        "rotate-keys" => rotate_keys(state, actor, &f, false).await,
        "emergency-rotate" => rotate_keys(state, actor, &f, true).await,
        other => Err(ApiError::invalid_field(
            "action",
            format!(
                "unknown action `{}`",
                other.chars().take(40).collect::<String>()
            ),
        )),
    }
}

// ---- realms -------------------------------------------------------------------

async fn create_realm(state: &Latch, actor: &Actor, f: &Fields<'_>) -> Result<Done, ApiError> {
    let name = RealmName(f.text("name"));
    let created = realms::create(state, actor, name, RealmSettings::default()).await?;
    Ok(Done::To(
        format!("/admin/console/realms/{}", created.name),
        "realm-created",
    ))
}

async fn update_realm(state: &Latch, actor: &Actor, f: &Fields<'_>) -> Result<Done, ApiError> {
    let settings = RealmSettings {
        access_token_lifetime_s: f.number("access")?,
        id_token_lifetime_s: f.number("id_token")?,
        refresh_token_lifetime_s: f.number("refresh")?,
        session_lifetime_s: f.number("session")?,
        offline_token_lifetime_s: f.number("offline")?,
        key_rotation_interval_s: f.number("rotation")?,
        ..Default::default()
    };
    realms::update(state, actor, &f.realm(), settings).await?;
    Ok(Done::To(f.page(""), "realm-updated"))
}

async fn logout_realm(state: &Latch, actor: &Actor, f: &Fields<'_>) -> Result<Done, ApiError> {
    realms::logout_all(state, actor, &f.realm()).await?;
    Ok(Done::To(f.page(""), "realm-logged-out"))
}

async fn delete_realm(state: &Latch, actor: &Actor, f: &Fields<'_>) -> Result<Done, ApiError> {
    realms::delete(state, actor, &f.realm()).await?;
    Ok(Done::To("/admin/console".into(), "realm-deleted"))
}

// ---- users and sessions -------------------------------------------------------

async fn create_user(state: &Latch, actor: &Actor, f: &Fields<'_>) -> Result<Done, ApiError> {
    let new = NewUser {
        username: f.text("username"),
        email: f.optional("email"),
        first_name: f.optional("first_name"),
        last_name: f.optional("last_name"),
        enabled: true,
        password: f
            .optional("password")
            .map(|value| (value, f.checked("temporary"))),
        ..Default::default()
    };
    let user = users::create(state, actor, &f.realm(), new).await?;
    Ok(Done::To(
        f.page(&format!("/users/{}", user.id)),
        "user-created",
    ))
}

async fn set_password(state: &Latch, actor: &Actor, f: &Fields<'_>) -> Result<Done, ApiError> {
    let change = PasswordChange::Reset {
        temporary: f.checked("temporary"),
    };
    let (realm, user, password) = (f.realm(), f.user(), f.text("password"));
    credentials::set_password(state, actor, &realm, &user, password, change).await?;
    Ok(Done::To(f.target_page("/users"), "password-set"))
}

async fn logout_user(state: &Latch, actor: &Actor, f: &Fields<'_>) -> Result<Done, ApiError> {
    users::logout_all(state, actor, &f.realm(), &f.user()).await?;
    Ok(Done::To(f.target_page("/users"), "user-logged-out"))
}

async fn enable_user(
    state: &Latch,
    actor: &Actor,
    f: &Fields<'_>,
    enabled: bool,
) -> Result<Done, ApiError> {
    let changes = UserChanges {
        enabled: Some(enabled),
        ..Default::default()
    };
    users::update(state, actor, &f.realm(), &f.user(), changes).await?;
    let done = if enabled {
        "user-enabled"
    } else {
        "user-disabled"
    };
    Ok(Done::To(f.target_page("/users"), done))
}

async fn clear_lockout(state: &Latch, actor: &Actor, f: &Fields<'_>) -> Result<Done, ApiError> {
    users::clear_lockouts(state, actor, &f.realm(), Some(f.user())).await?;
    Ok(Done::To(f.target_page("/users"), "lockout-cleared"))
}

async fn delete_user(state: &Latch, actor: &Actor, f: &Fields<'_>) -> Result<Done, ApiError> {
    users::delete(state, actor, &f.realm(), &f.user()).await?;
    Ok(Done::To(f.page("/users"), "user-deleted"))
}

async fn end_session(state: &Latch, actor: &Actor, f: &Fields<'_>) -> Result<Done, ApiError> {
    sessions::end(state, actor, &f.realm(), &Sid(f.target())).await?;
    let back = f
        .optional("back")
        .filter(|b| b.starts_with("/admin/console/"))
        .unwrap_or_else(|| f.page("/sessions"));
    Ok(Done::To(back, "session-ended"))
}

// ---- clients and keys ---------------------------------------------------------

async fn create_client(state: &Latch, actor: &Actor, f: &Fields<'_>) -> Result<Done, ApiError> {
    let redirect = f.optional("redirect_uri");
    let flows = Flows {
        authorization_code: Some(redirect.is_some()),
        client_credentials: Some(f.checked("service")),
        ..Default::default()
    };
    let secret = match f.checked("public") {
        true => SecretChoice::Public,
        false => SecretChoice::GenerateSecret,
    };
    let new = NewClient {
        grant_types: flows.grant_types(&[]),
        redirect_uris: redirect.into_iter().collect(),
        backchannel_logout_uri: f.optional("backchannel"),
        ..NewClient::new(ClientId(f.text("client_id")), secret)
    };
    let (client, secret) = clients::create(state, actor, &f.realm(), new).await?;
    let back = f.page(&format!("/clients/{}", client.id));
    Ok(match secret {
        Some(secret) => Done::Secret {
            client_id: client.client_id,
            secret,
            message: "The client is registered. This is its secret.",
            back,
        },
        None => Done::To(back, "client-created"),
    })
}

async fn regenerate_secret(state: &Latch, actor: &Actor, f: &Fields<'_>) -> Result<Done, ApiError> {
    let client = clients::find(state, &f.realm(), &f.client()).await?;
    let secret = clients::new_secret(state, actor, &f.realm(), &f.client(), 0).await?;
    Ok(Done::Secret {
        client_id: client.client_id,
        secret,
        message: "The old secret no longer works. Give the client this one.",
        back: f.target_page("/clients"),
    })
}

async fn revoke_client(state: &Latch, actor: &Actor, f: &Fields<'_>) -> Result<Done, ApiError> {
    clients::revoke_tokens(state, actor, &f.realm(), &f.client()).await?;
    Ok(Done::To(f.target_page("/clients"), "client-revoked"))
}

async fn compromised_client(
    state: &Latch,
    actor: &Actor,
    f: &Fields<'_>,
) -> Result<Done, ApiError> {
    let client = clients::find(state, &f.realm(), &f.client()).await?;
    let contained = clients::compromised(state, actor, &f.realm(), &f.client()).await?;
    Ok(match contained.secret {
        Some(secret) => Done::Secret {
            client_id: client.client_id,
            secret,
            message: "Every token of the client is revoked, the old secret no longer works and its back-channel has been told. This is the new secret.",
            back: f.target_page("/clients"),
        },
        None => Done::To(f.target_page("/clients"), "client-revoked"),
    })
}

async fn delete_client(state: &Latch, actor: &Actor, f: &Fields<'_>) -> Result<Done, ApiError> {
    clients::delete(state, actor, &f.realm(), &f.client()).await?;
    Ok(Done::To(f.page("/clients"), "client-deleted"))
}

async fn rotate_keys(
    state: &Latch,
    actor: &Actor,
    f: &Fields<'_>,
    emergency: bool,
) -> Result<Done, ApiError> {
    let rotation = Rotation {
        alg: None,
        emergency,
    };
    keys::rotate(state, actor, &f.realm(), rotation).await?;
    let done = if emergency {
        "keys-emergency"
    } else {
        "keys-rotated"
    };
    Ok(Done::To(f.page("/keys"), done))
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
