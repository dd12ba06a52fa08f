//! Client scopes and protocol mappers as Keycloak represents them, in the
//! admin API and in realm files, and their conversion to and from Latch's
//! own types.

use std::collections::BTreeMap;

use super::changes::{new_mapper_row, MapperDetails, MapperFields, ScopeDetails, ScopeFields};
use crate::error::Error;
use crate::store::realms::Realm;
use crate::store::scopes::{MapperRow, ScopeRow};
use crate::store::DbConnection;

/// A client scope as Keycloak represents it (admin API and realm files).
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClientScopeRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// Always `openid-connect`.
    pub protocol: Option<String>,
    /// `include.in.token.scope` (`"true"`/`"false"`), `consent.screen.text`.
    pub attributes: Option<BTreeMap<String, String>>,
    pub protocol_mappers: Option<Vec<ProtocolMapperRepresentation>>,
}

/// A protocol mapper as Keycloak represents it.
#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProtocolMapperRepresentation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub name: Option<String>,
    /// Always `openid-connect`.
    pub protocol: Option<String>,
    /// The mapper type, e.g. `oidc-usermodel-attribute-mapper`.
    pub protocol_mapper: Option<String>,
    pub config: Option<BTreeMap<String, String>>,
}

const INCLUDE_ATTR: &str = "include.in.token.scope";
const CONSENT_ATTR: &str = "consent.screen.text";
const PROTOCOL: &str = "openid-connect";

fn check_protocol(protocol: &Option<String>) -> Result<(), Error> {
    match protocol.as_deref() {
        None | Some(PROTOCOL) => Ok(()),
        Some(other) => Err(Error::Invalid(format!(
            "protocol `{other}` is not supported (only openid-connect)"
        ))),
    }
}

impl ClientScopeRepresentation {
    /// What the representation sets; only OpenID Connect scopes are Latch's.
    pub fn fields(&self) -> Result<ScopeFields, Error> {
        check_protocol(&self.protocol)?;
        let attribute = |key: &str| self.attributes.as_ref().and_then(|a| a.get(key));
        Ok(ScopeFields {
            name: self.name.clone(),
            description: self.description.clone(),
            include_in_token_scope: attribute(INCLUDE_ATTR).map(|v| v.eq_ignore_ascii_case("true")),
            consent_text: attribute(CONSENT_ATTR).cloned(),
        })
    }

    /// The mappers it carries.
    pub fn mapper_fields(&self) -> Result<Vec<MapperFields>, Error> {
        self.protocol_mappers
            .iter()
            .flatten()
            .map(ProtocolMapperRepresentation::fields)
            .collect()
    }
}

impl ProtocolMapperRepresentation {
    pub fn fields(&self) -> Result<MapperFields, Error> {
        check_protocol(&self.protocol)?;
        Ok(MapperFields {
            id: self.id.clone(),
            name: self.name.clone(),
            mapper_type: self.protocol_mapper.clone(),
            config: self.config.clone(),
        })
    }
}

impl From<&MapperDetails> for ProtocolMapperRepresentation {
    fn from(m: &MapperDetails) -> Self {
        ProtocolMapperRepresentation {
            id: Some(m.id.clone()),
            name: Some(m.name.clone()),
            protocol: Some(PROTOCOL.into()),
            protocol_mapper: Some(m.mapper_type.clone()),
            config: m.config.clone(),
        }
    }
}

impl From<&ScopeDetails> for ClientScopeRepresentation {
    fn from(scope: &ScopeDetails) -> Self {
        let mut attributes = BTreeMap::new();
        attributes.insert(
            INCLUDE_ATTR.to_string(),
            scope.include_in_token_scope.to_string(),
        );
        if let Some(text) = &scope.consent_text {
            attributes.insert(CONSENT_ATTR.to_string(), text.clone());
        }
        ClientScopeRepresentation {
            id: Some(scope.id.clone()),
            name: Some(scope.name.clone()),
            description: Some(scope.description.clone()),
            protocol: Some(PROTOCOL.into()),
            attributes: Some(attributes),
            protocol_mappers: Some(scope.mappers.iter().map(Into::into).collect()),
        }
    }
}

/// The representation of a stored scope (realm files).
pub fn representation(row: &ScopeRow, mappers: &[MapperRow]) -> ClientScopeRepresentation {
    (&ScopeDetails::from_rows(row, mappers)).into()
}

/// Checks a mapper representation and makes its row for `scope_id`.
pub fn mapper_row(
    scope_id: &str,
    rep: &ProtocolMapperRepresentation,
    now: i64,
) -> Result<MapperRow, Error> {
    new_mapper_row(scope_id, &rep.fields()?, now)
}

/// Creates a realm file's client scope with its mappers, in the caller's
/// transaction.
pub fn create_scope(
    conn: &mut DbConnection,
    realm: &Realm,
    rep: &ClientScopeRepresentation,
) -> Result<ScopeRow, Error> {
    let fields = rep.fields()?;
    super::create(conn, realm, &fields, &rep.mapper_fields()?)
}
