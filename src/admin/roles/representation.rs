//! Roles, groups and role mappings with Keycloak's field names, and their
//! conversion to and from the operations' types.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::operations::groups::Group;
use crate::operations::roles::{Mappings, Role, RoleRef};

/// A role, with Keycloak's field names.
#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoleRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub composite: bool,
    #[serde(default)]
    pub client_role: bool,
    /// The realm's or the client's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container_id: Option<String>,
}

impl From<Role> for RoleRepresentation {
    fn from(role: Role) -> Self {
        RoleRepresentation {
            id: Some(role.id),
            name: Some(role.name),
            description: role.description,
            composite: role.composite,
            client_role: role.client_role,
            container_id: Some(role.container_id),
        }
    }
}

impl RoleRepresentation {
    /// The role a request names: by id when given, else by name.
    pub fn reference(&self) -> RoleRef {
        RoleRef {
            id: self.id.clone(),
            name: self.name.clone(),
        }
    }
}

/// The roles a request body names.
pub fn references(body: Vec<RoleRepresentation>) -> Vec<RoleRef> {
    body.iter().map(RoleRepresentation::reference).collect()
}

/// Representations of roles.
pub fn roles(roles: Vec<Role>) -> Vec<RoleRepresentation> {
    roles.into_iter().map(Into::into).collect()
}

/// A group, with Keycloak's field names.
#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// How many direct subgroups it has.
    #[serde(skip_deserializing)]
    pub sub_group_count: i64,
    #[serde(default)]
    #[schema(no_recursion)]
    pub sub_groups: Vec<GroupRepresentation>,
    /// The realm roles mapped to it (in full representations only).
    #[serde(skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub realm_roles: Option<Vec<String>>,
    /// The client roles mapped to it, by client id (in full
    /// representations only).
    #[serde(skip_serializing_if = "Option::is_none", skip_deserializing)]
    pub client_roles: Option<BTreeMap<String, Vec<String>>>,
}

impl From<Group> for GroupRepresentation {
    fn from(group: Group) -> Self {
        let (realm_roles, client_roles) = match group.roles {
            Some(roles) => (Some(roles.realm), Some(roles.clients)),
            None => (None, None),
        };
        GroupRepresentation {
            id: Some(group.id),
            name: Some(group.name),
            path: Some(group.path),
            sub_group_count: group.sub_group_count,
            sub_groups: group.sub_groups.into_iter().map(Into::into).collect(),
            realm_roles,
            client_roles,
        }
    }
}

/// Representations of groups.
pub fn groups(groups: Vec<Group>) -> Vec<GroupRepresentation> {
    groups.into_iter().map(Into::into).collect()
}

/// A client's roles in a user's mappings.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClientMappingsRepresentation {
    pub id: String,
    pub client: String,
    pub mappings: Vec<RoleRepresentation>,
}

/// A user's direct role mappings (Keycloak's `MappingsRepresentation`).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MappingsRepresentation {
    pub realm_mappings: Vec<RoleRepresentation>,
    pub client_mappings: BTreeMap<String, ClientMappingsRepresentation>,
}

impl From<Mappings> for MappingsRepresentation {
    fn from(mappings: Mappings) -> Self {
        MappingsRepresentation {
            realm_mappings: roles(mappings.realm),
            client_mappings: mappings
                .clients
                .into_iter()
                .map(|c| {
                    let client = c.client_id.into_string();
                    let rep = ClientMappingsRepresentation {
                        id: c.client_row_id.into_string(),
                        client: client.clone(),
                        mappings: roles(c.roles),
                    };
                    (client, rep)
                })
                .collect(),
        }
    }
}
