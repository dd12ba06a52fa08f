//! Keycloak's shapes for users, credentials, searches and lockouts, and
//! their conversion to and from the operations' plain types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::admin::in_field;
use crate::http::errors::ApiError;
use crate::operations::users::{Attributes, NewUser, User, UserChanges, UserQuery};

/// A user, with Keycloak's field names.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    /// Whether the address is known to be the user's (the `email_verified`
    /// claim). An update that changes `email` without it clears it.
    pub email_verified: Option<bool>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub enabled: Option<bool>,
    /// Milliseconds since the epoch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_timestamp: Option<i64>,
    /// Steps due at the next sign-in, e.g. `UPDATE_PASSWORD`.
    pub required_actions: Option<Vec<String>>,
    /// Only on create: `[{"type": "password", "value": …, "temporary": …}]`.
    #[serde(skip_serializing)]
    pub credentials: Option<Vec<CredentialRepresentation>>,
    /// Free-form attributes (name → values) that attribute mappers put in
    /// tokens; an update replaces them all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attributes: Option<BTreeMap<String, Vec<String>>>,
}

impl From<&User> for UserRepresentation {
    fn from(u: &User) -> Self {
        UserRepresentation {
            id: Some(u.id.clone()),
            username: Some(u.username.clone()),
            email: u.email.clone(),
            email_verified: Some(u.email_verified),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            enabled: Some(u.enabled),
            created_timestamp: Some(u.created_at_ms),
            required_actions: Some(
                u.required_actions()
                    .into_iter()
                    .map(str::to_string)
                    .collect(),
            ),
            credentials: None,
            attributes: None,
        }
    }
}

impl UserRepresentation {
    /// The user to create; each problem names its field, as Keycloak's
    /// clients expect.
    pub fn into_new_user(self) -> Result<NewUser, ApiError> {
        use crate::operations::users::{check_email, check_required_actions};
        let username = self
            .username
            .filter(|u| !u.trim().is_empty())
            .ok_or_else(|| ApiError::invalid_field("username", "username is required"))?;
        crate::directory::users::normalize_username(&username).map_err(in_field("username"))?;
        check_email(self.email.as_deref()).map_err(in_field("email"))?;
        let password = match self.credentials.as_deref() {
            None | Some([]) => None,
            Some([one]) => Some(one.password("credentials")?),
            Some(_) => {
                return Err(ApiError::invalid_field(
                    "credentials",
                    "give at most one password credential",
                ))
            }
        };
        let required_actions = self.required_actions.unwrap_or_default();
        check_required_actions(&required_actions).map_err(in_field("requiredActions"))?;
        check_attributes_of(&self.attributes)?;
        Ok(NewUser {
            username,
            email: self.email,
            email_verified: self.email_verified.unwrap_or(false),
            first_name: self.first_name,
            last_name: self.last_name,
            enabled: self.enabled.unwrap_or(true),
            required_actions,
            attributes: self.attributes,
            password,
        })
    }

    /// The changes an update asks for: an absent field stays, an empty
    /// one is cleared.
    pub fn into_changes(self) -> Result<UserChanges, ApiError> {
        use crate::operations::users::{check_email, check_required_actions};
        check_email(self.email.as_deref()).map_err(in_field("email"))?;
        check_attributes_of(&self.attributes)?;
        if let Some(actions) = &self.required_actions {
            check_required_actions(actions).map_err(in_field("requiredActions"))?;
        }
        Ok(UserChanges {
            username: self.username,
            email: self.email.map(Some),
            email_verified: self.email_verified,
            first_name: self.first_name.map(Some),
            last_name: self.last_name.map(Some),
            enabled: self.enabled,
            required_actions: self.required_actions,
            attributes: self.attributes,
        })
    }
}

fn check_attributes_of(attributes: &Option<Attributes>) -> Result<(), ApiError> {
    match attributes {
        Some(attributes) => {
            crate::operations::users::check_attributes(attributes).map_err(in_field("attributes"))
        }
        None => Ok(()),
    }
}

/// A password credential.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct CredentialRepresentation {
    /// Only `password` is accepted.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub value: Option<String>,
    /// The user must choose a new password at the next sign-in.
    pub temporary: Option<bool>,
}

impl CredentialRepresentation {
    /// The password and whether it is temporary.
    pub fn password(&self, field: &'static str) -> Result<(String, bool), ApiError> {
        if self.kind.as_deref().unwrap_or("password") != "password" {
            return Err(ApiError::invalid_field(
                field,
                "only credentials of type `password` are accepted",
            ));
        }
        let value = self
            .value
            .clone()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::invalid_field(field, "the password must not be empty"))?;
        Ok((value, self.temporary.unwrap_or(false)))
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct UserSearch {
    /// Part of the username (the whole of it with `exact=true`).
    pub username: Option<String>,
    pub email: Option<String>,
    /// Part of the username, email, first or last name.
    pub search: Option<String>,
    #[serde(default, deserialize_with = "crate::http::query::optional_boolean")]
    pub exact: Option<bool>,
    pub first: Option<i64>,
    pub max: Option<i64>,
}

impl UserSearch {
    pub fn query(&self) -> UserQuery {
        UserQuery {
            username: self.username.clone(),
            email: self.email.clone(),
            search: self.search.clone().filter(|s| s != "*"),
            exact: self.exact.unwrap_or(false),
        }
    }
}

/// Brute-force state of a user, as Keycloak's attack detection reports it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LockoutRepresentation {
    /// Consecutive failed sign-ins since the last success or lockout.
    pub num_failures: i32,
    /// Locked now: even the right password is refused.
    pub disabled: bool,
    /// Until when (ms since the epoch); 0 when not locked.
    pub locked_until: i64,
    /// Lockouts so far (each doubles the next one's length).
    pub lockouts: i32,
    pub last_failure: i64,
    #[serde(rename = "lastIPFailure")]
    pub last_ip_failure: Option<String>,
}

impl LockoutRepresentation {
    /// The user's lockout as it stands at `now_ms`.
    pub fn of(user: User, now_ms: i64) -> LockoutRepresentation {
        let locked = user.locked_until_ms > now_ms;
        LockoutRepresentation {
            num_failures: user.failed_logins,
            disabled: locked,
            locked_until: if locked { user.locked_until_ms } else { 0 },
            lockouts: user.lockouts,
            last_failure: user.last_failure_ms,
            last_ip_failure: user.last_failure_ip,
        }
    }
}
