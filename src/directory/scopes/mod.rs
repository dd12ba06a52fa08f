//! Client scopes (Keycloak's model): named sets of protocol mappers. A
//! client has default scopes, applied to every token it gets, and optional
//! ones, applied when its request names them. Mappers decide which claims
//! tokens, ID tokens and userinfo carry; audience mappers add to `aud`.

mod builtin;
mod changes;
mod mappers;
mod representation;

use std::sync::Arc;

use crate::error::Error;
use crate::revocation::{self, EventKind};
use crate::store::scopes as rows;
use crate::store::{self, DbConnection};
use latch_protocol::Scopes;

pub use builtin::{mappers as builtin_mappers, seed, BuiltinMapper};
pub use changes::{
    add_mapper, create, delete, delete_mapper, details, find_scope, mappers_of, set_realm_default,
    update, update_mapper, MapperDetails, MapperFields, ScopeDetails, ScopeFields,
};
pub use mappers::{
    claim_path, described as mapper_types, Config, JsonType, Mapper, MapperType, Property, Source,
    Target, MAPPER_TYPES, RESERVED_CLAIMS,
};
pub use representation::{
    create_scope, mapper_row, representation, ClientScopeRepresentation,
    ProtocolMapperRepresentation,
};

/// Whether a scope is given to every token or only on request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Default,
    Optional,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Default => "default",
            Kind::Optional => "optional",
        }
    }

    pub fn parse(text: &str) -> Option<Kind> {
        match text {
            "default" => Some(Kind::Default),
            "optional" => Some(Kind::Optional),
            _ => None,
        }
    }
}

/// A client scope with its mappers.
#[derive(Debug, Clone)]
pub struct ClientScope {
    pub id: String,
    pub name: String,
    pub description: String,
    /// Whether the scope's name appears in the token's `scope`.
    pub include_in_token_scope: bool,
    /// What the consent screen says; the description or name otherwise.
    pub consent_text: Option<String>,
    /// What new clients of the realm get.
    pub realm_default: Option<Kind>,
    pub mappers: Vec<Mapper>,
}

impl ClientScope {
    pub fn consent_line(&self) -> String {
        self.consent_text
            .clone()
            .or_else(|| Some(self.description.clone()).filter(|d| !d.is_empty()))
            .unwrap_or_else(|| self.name.clone())
    }
}

/// A realm's client scopes, as a node holds them.
#[derive(Debug, Clone, Default)]
pub struct ScopeSet {
    scopes: Vec<Arc<ClientScope>>,
}

/// What a request was granted: the `scope` string its tokens carry, and
/// the scopes whose mappers shape them.
#[derive(Debug, Clone)]
pub struct Granted {
    pub scope: Scopes,
    pub applied: Vec<Arc<ClientScope>>,
}

impl Granted {
    /// Whether a mapper of the granted scopes reads user attributes (if
    /// none does, a grant need not load them).
    pub fn reads_attributes(&self) -> bool {
        self.applied
            .iter()
            .flat_map(|s| &s.mappers)
            .any(|m| matches!(m.source, Source::Attribute(_)))
    }
}

impl ScopeSet {
    pub fn load(conn: &mut DbConnection, realm_id: &str) -> Result<ScopeSet, Error> {
        let mut scopes: Vec<ClientScope> = rows::list(conn, realm_id)?
            .into_iter()
            .map(|row| ClientScope {
                id: row.id,
                name: row.name,
                description: row.description,
                include_in_token_scope: row.include_in_token_scope,
                consent_text: row.consent_text,
                realm_default: row.realm_default.as_deref().and_then(Kind::parse),
                mappers: Vec::new(),
            })
            .collect();
        for row in rows::mappers_of_realm(conn, realm_id)? {
            let scope_id = row.scope_id.clone();
            match Mapper::from_row(row) {
                Ok(mapper) => {
                    if let Some(scope) = scopes.iter_mut().find(|s| s.id == scope_id) {
                        scope.mappers.push(mapper);
                    }
                }
                Err(e) => tracing::warn!(error = %e, "stored mapper skipped"),
            }
        }
        Ok(ScopeSet {
            scopes: scopes.into_iter().map(Arc::new).collect(),
        })
    }

    pub fn get(&self, name: &str) -> Option<&Arc<ClientScope>> {
        self.scopes.iter().find(|s| s.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<ClientScope>> {
        self.scopes.iter()
    }

    /// The scopes a new client gets when it names none: the realm's defaults.
    pub fn realm_defaults(&self, kind: Kind) -> Vec<String> {
        self.scopes
            .iter()
            .filter(|s| s.realm_default == Some(kind))
            .map(|s| s.name.clone())
            .collect()
    }

    /// Resolves a request's `scope` for a client (Keycloak's rule): the
    /// client's default scopes always apply, its optional ones when asked
    /// for, `openid` passes through; anything else is refused (`Err` names
    /// it). The token's `scope` lists `openid`, what was asked, then the
    /// default scopes that show in tokens.
    pub fn resolve(
        &self,
        defaults: &[String],
        optionals: &[String],
        requested: &Scopes,
    ) -> Result<Granted, String> {
        let mut applied: Vec<Arc<ClientScope>> = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        if requested.contains("openid") {
            names.push("openid");
        }
        for asked in requested.iter().filter(|s| *s != "openid") {
            let linked = defaults.iter().chain(optionals).any(|n| n == asked);
            let scope = self
                .get(asked)
                .filter(|_| linked)
                .ok_or_else(|| asked.to_string())?;
            names.push(&scope.name);
            applied.push(Arc::clone(scope));
        }
        for name in defaults {
            if applied.iter().any(|s| &s.name == name) {
                continue;
            }
            if let Some(scope) = self.get(name) {
                if scope.include_in_token_scope {
                    names.push(&scope.name);
                }
                applied.push(Arc::clone(scope));
            }
        }
        let scope = Scopes::parse(&names.join(" ")).map_err(|bad| bad.to_string())?;
        Ok(Granted { scope, applied })
    }

    /// The scopes of an issued token that its client still has: what a
    /// later read (userinfo) may release.
    pub fn still_granted(
        &self,
        defaults: &[String],
        optionals: &[String],
        issued: &Scopes,
    ) -> Granted {
        let linked: Vec<&str> = issued
            .iter()
            .filter(|s| *s == "openid" || defaults.iter().chain(optionals).any(|n| n == s))
            .collect();
        let kept = Scopes::parse(&linked.join(" ")).unwrap_or_default();
        self.resolve(defaults, optionals, &kept)
            .unwrap_or_else(|_| Granted {
                scope: Scopes::default(),
                applied: Vec::new(),
            })
    }
}

/// Checks a scope name: what a `scope` parameter can carry (RFC 6749 §3.3).
pub fn validate_name(name: &str) -> Result<(), Error> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name != "openid"
        && Scopes::parse(name).is_ok_and(|s| s.iter().count() == 1);
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "client scope name `{name}` must be 1-128 printable characters without spaces, quotes or backslashes, and not `openid`"
        )))
    }
}

/// The scope names a new client of the realm gets: (default, optional).
pub fn realm_defaults(
    conn: &mut DbConnection,
    realm_id: &str,
) -> Result<(Vec<String>, Vec<String>), Error> {
    let mut all = rows::list(conn, realm_id)?;
    all.sort_by_key(|s| s.created_at_ms);
    let of = |kind: Kind| {
        all.iter()
            .filter(|s| s.realm_default.as_deref() == Some(kind.as_str()))
            .map(|s| s.name.clone())
            .collect::<Vec<_>>()
    };
    Ok((of(Kind::Default), of(Kind::Optional)))
}

/// Checks that every name is a client scope of the realm and none is both
/// default and optional.
pub fn check_links(
    conn: &mut DbConnection,
    realm_id: &str,
    defaults: &[String],
    optionals: &[String],
) -> Result<(), Error> {
    let all = rows::list(conn, realm_id)?;
    for name in defaults.iter().chain(optionals) {
        if !all.iter().any(|s| &s.name == name) {
            return Err(Error::Invalid(format!(
                "`{name}` is not a client scope of this realm"
            )));
        }
    }
    if let Some(both) = defaults.iter().find(|d| optionals.contains(d)) {
        return Err(Error::Invalid(format!(
            "client scope `{both}` cannot be both default and optional"
        )));
    }
    Ok(())
}

/// Sets a client's default and optional scopes (names checked first).
pub fn set_client_links(
    conn: &mut DbConnection,
    realm_id: &str,
    client_row_id: &str,
    client_id: &str,
    defaults: &[String],
    optionals: &[String],
) -> Result<(), Error> {
    check_links(conn, realm_id, defaults, optionals)?;
    let json = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
    let changes = store::clients::ClientChanges {
        default_scopes: Some(json(defaults)),
        optional_scopes: Some(json(optionals)),
        ..Default::default()
    };
    store::clients::update(conn, client_row_id, &changes)?;
    revocation::record(conn, realm_id, EventKind::Client, client_id, None)?;
    Ok(())
}
