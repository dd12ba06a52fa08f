//! Client scopes (Keycloak's model): named sets of protocol mappers. A
//! client has default scopes, applied to every token it gets, and optional
//! ones, applied when its request names them. Mappers decide which claims
//! tokens, ID tokens and userinfo carry; audience mappers add to `aud`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::crypto;
use crate::error::Error;
use crate::revocation::{self, EventKind};
use crate::store::realms::Realm;
use crate::store::scopes::{self as rows, MapperRow, ScopeRow};
use crate::store::{self, DbConnection};
use crate::time::now_ms;
use latch_protocol::Scopes;

/// A mapper's configuration, as Keycloak spells it: strings by key.
pub type Config = BTreeMap<String, String>;

/// Claims a mapper may never write: they carry the token's own meaning.
pub const RESERVED_CLAIMS: [&str; 20] = [
    "iss",
    "sub",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "azp",
    "client_id",
    "scope",
    "sid",
    "iat_ms",
    "status",
    "auth_time",
    "nonce",
    "at_hash",
    "c_hash",
    "typ",
    "cnf",
    "events",
];

/// Where a mapper's claim goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Access,
    Id,
    Userinfo,
}

/// The user fields the property mapper reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Property {
    Username,
    Email,
    EmailVerified,
    FirstName,
    LastName,
}

impl Property {
    fn parse(name: &str) -> Option<Property> {
        Some(match name {
            "username" => Property::Username,
            "email" => Property::Email,
            "emailVerified" => Property::EmailVerified,
            "firstName" => Property::FirstName,
            "lastName" => Property::LastName,
            _ => return None,
        })
    }
}

/// How a configured value becomes JSON (`jsonType.label`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    String,
    Long,
    Boolean,
    Json,
}

/// What a mapper reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Property(Property),
    Attribute(String),
    FullName,
    RealmRoles {
        prefix: String,
    },
    ClientRoles {
        client: Option<String>,
        prefix: String,
    },
    Groups {
        full_path: bool,
    },
    Audience(String),
    /// Keycloak's audience resolve: every client the user holds a role of.
    AudienceResolve,
    HardCoded(String),
}

/// The mapper types Latch runs, by Keycloak's names.
pub const MAPPER_TYPES: [&str; 9] = [
    "oidc-usermodel-property-mapper",
    "oidc-usermodel-attribute-mapper",
    "oidc-full-name-mapper",
    "oidc-usermodel-realm-role-mapper",
    "oidc-usermodel-client-role-mapper",
    "oidc-group-membership-mapper",
    "oidc-audience-mapper",
    "oidc-audience-resolve-mapper",
    "oidc-hardcoded-claim-mapper",
];

/// A protocol mapper, parsed and checked.
#[derive(Debug, Clone)]
pub struct Mapper {
    pub id: String,
    pub name: String,
    pub mapper_type: String,
    pub config: Config,
    pub source: Source,
    /// The claim's path (`realm_access.roles` → two segments); empty for
    /// the audience mapper.
    pub claim: Vec<String>,
    pub json_type: JsonType,
    pub multivalued: bool,
    pub access: bool,
    pub id_token: bool,
    pub userinfo: bool,
}

fn flag(config: &Config, key: &str) -> bool {
    // Missing means on: a mapper whose target flags were left out still maps.
    config
        .get(key)
        .is_none_or(|v| v.eq_ignore_ascii_case("true"))
}

/// Splits a claim name on dots that are not escaped (`a\.b` is one name).
pub fn claim_path(name: &str) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut chars = name.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '.' {
            parts.push(String::new());
            continue;
        }
        let c = if c == '\\' && chars.peek() == Some(&'.') {
            chars.next().unwrap_or(c)
        } else {
            c
        };
        if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    parts
}

impl Mapper {
    /// Parses a mapper's type and configuration; `Err` says what is wrong
    /// in words an operator can act on.
    pub fn parse(
        id: String,
        name: String,
        mapper_type: &str,
        config: Config,
    ) -> Result<Mapper, Error> {
        let bad = |why: String| Error::Invalid(format!("mapper `{name}`: {why}"));
        let get = |key: &str| {
            config
                .get(key)
                .map(String::as_str)
                .filter(|v| !v.is_empty())
        };
        let need = |key: &str| {
            get(key)
                .map(str::to_string)
                .ok_or_else(|| bad(format!("config `{key}` is required")))
        };
        let (source, default_claim) = match mapper_type {
            "oidc-usermodel-property-mapper" => {
                let property = need("user.attribute")?;
                let parsed = Property::parse(&property).ok_or_else(|| {
                    bad(format!(
                        "user.attribute `{property}` is not a user property (username, email, emailVerified, firstName, lastName)"
                    ))
                })?;
                (Source::Property(parsed), None)
            }
            "oidc-usermodel-attribute-mapper" => {
                let attribute = need("user.attribute")?;
                // Keycloak's user profile makes username, email and the
                // names attributes too; its built-in scopes map them so.
                let source = match Property::parse(&attribute) {
                    Some(p) if p != Property::EmailVerified => Source::Property(p),
                    _ => Source::Attribute(attribute),
                };
                (source, None)
            }
            "oidc-full-name-mapper" => (Source::FullName, Some("name")),
            "oidc-usermodel-realm-role-mapper" => (
                Source::RealmRoles {
                    prefix: get("usermodel.realmRoleMapping.rolePrefix")
                        .unwrap_or("")
                        .to_string(),
                },
                Some("realm_access.roles"),
            ),
            "oidc-usermodel-client-role-mapper" => (
                Source::ClientRoles {
                    client: get("usermodel.clientRoleMapping.clientId").map(str::to_string),
                    prefix: get("usermodel.clientRoleMapping.rolePrefix")
                        .unwrap_or("")
                        .to_string(),
                },
                Some("resource_access.${client_id}.roles"),
            ),
            "oidc-group-membership-mapper" => (
                Source::Groups {
                    full_path: flag(&config, "full.path"),
                },
                Some("groups"),
            ),
            "oidc-audience-mapper" => {
                let audience = get("included.client.audience")
                    .or_else(|| get("included.custom.audience"))
                    .ok_or_else(|| {
                        bad("config `included.client.audience` or `included.custom.audience` is required".into())
                    })?;
                (Source::Audience(audience.to_string()), None)
            }
            "oidc-audience-resolve-mapper" => (Source::AudienceResolve, None),
            "oidc-hardcoded-claim-mapper" => (Source::HardCoded(need("claim.value")?), None),
            other => {
                return Err(bad(format!(
                    "mapper type `{other}` is not supported (supported: {})",
                    MAPPER_TYPES.join(", ")
                )))
            }
        };
        let claim = match (&source, get("claim.name").or(default_claim)) {
            (Source::Audience(_) | Source::AudienceResolve, _) => Vec::new(),
            (_, Some(name)) => claim_path(name),
            (_, None) => return Err(bad("config `claim.name` is required".into())),
        };
        if claim.iter().any(String::is_empty) {
            return Err(bad("claim.name has an empty part".into()));
        }
        if let Some(root) = claim.first() {
            if RESERVED_CLAIMS.contains(&root.as_str()) {
                return Err(bad(format!(
                    "claim `{root}` is set by Latch itself and cannot be mapped"
                )));
            }
        }
        let json_type = match get("jsonType.label").unwrap_or("String") {
            "String" => JsonType::String,
            "long" | "int" => JsonType::Long,
            "boolean" => JsonType::Boolean,
            "JSON" => JsonType::Json,
            other => {
                return Err(bad(format!(
                    "jsonType.label `{other}` is not one of String, long, int, boolean, JSON"
                )))
            }
        };
        if let (Source::HardCoded(value), JsonType::Json) = (&source, json_type) {
            serde_json::from_str::<serde_json::Value>(value)
                .map_err(|e| bad(format!("claim.value is not JSON: {e}")))?;
        }
        let multivalued = matches!(
            source,
            Source::RealmRoles { .. } | Source::ClientRoles { .. } | Source::Groups { .. }
        ) || flag_off_by_default(&config, "multivalued");
        Ok(Mapper {
            access: flag(&config, "access.token.claim"),
            id_token: flag(&config, "id.token.claim"),
            userinfo: flag(&config, "userinfo.token.claim"),
            id,
            name,
            mapper_type: mapper_type.to_string(),
            config,
            source,
            claim,
            json_type,
            multivalued,
        })
    }

    pub fn applies_to(&self, target: Target) -> bool {
        match target {
            Target::Access => self.access,
            Target::Id => self.id_token,
            Target::Userinfo => self.userinfo,
        }
    }

    fn from_row(row: MapperRow) -> Result<Mapper, Error> {
        let config: Config = serde_json::from_str(&row.config).map_err(|e| {
            Error::Invalid(format!("mapper `{}`: bad stored config: {e}", row.name))
        })?;
        Mapper::parse(row.id, row.name, &row.mapper, config)
    }
}

fn flag_off_by_default(config: &Config, key: &str) -> bool {
    config
        .get(key)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

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

// ---- built-in scopes ----------------------------------------------------

/// A built-in mapper: name, type, configuration pairs.
type BuiltinMapper = (
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

struct Builtin {
    name: &'static str,
    description: &'static str,
    consent: &'static str,
    include_in_token_scope: bool,
    kind: Kind,
    mappers: &'static [BuiltinMapper],
}

const ALL_TOKENS: [(&str, &str); 3] = [
    ("access.token.claim", "true"),
    ("id.token.claim", "true"),
    ("userinfo.token.claim", "true"),
];

const BUILTINS: [Builtin; 5] = [
    Builtin {
        name: "profile",
        description: "OpenID Connect built-in scope: profile",
        consent: "See your name and username",
        include_in_token_scope: true,
        kind: Kind::Default,
        mappers: &[
            (
                "username",
                "oidc-usermodel-property-mapper",
                &[
                    ("user.attribute", "username"),
                    ("claim.name", "preferred_username"),
                ],
            ),
            (
                "given name",
                "oidc-usermodel-property-mapper",
                &[
                    ("user.attribute", "firstName"),
                    ("claim.name", "given_name"),
                ],
            ),
            (
                "family name",
                "oidc-usermodel-property-mapper",
                &[
                    ("user.attribute", "lastName"),
                    ("claim.name", "family_name"),
                ],
            ),
            (
                "full name",
                "oidc-full-name-mapper",
                &[("claim.name", "name")],
            ),
        ],
    },
    Builtin {
        name: "email",
        description: "OpenID Connect built-in scope: email",
        consent: "See your email address",
        include_in_token_scope: true,
        kind: Kind::Default,
        mappers: &[
            (
                "email",
                "oidc-usermodel-property-mapper",
                &[("user.attribute", "email"), ("claim.name", "email")],
            ),
            (
                "email verified",
                "oidc-usermodel-property-mapper",
                &[
                    ("user.attribute", "emailVerified"),
                    ("claim.name", "email_verified"),
                    ("jsonType.label", "boolean"),
                ],
            ),
        ],
    },
    Builtin {
        name: "roles",
        description: "OpenID Connect scope for the user's roles in the access token",
        consent: "See your roles",
        include_in_token_scope: false,
        kind: Kind::Default,
        mappers: &[
            (
                "realm roles",
                "oidc-usermodel-realm-role-mapper",
                &[
                    ("claim.name", "realm_access.roles"),
                    ("multivalued", "true"),
                    ("access.token.claim", "true"),
                    ("id.token.claim", "false"),
                    ("userinfo.token.claim", "false"),
                ],
            ),
            (
                "client roles",
                "oidc-usermodel-client-role-mapper",
                &[
                    ("claim.name", "resource_access.${client_id}.roles"),
                    ("multivalued", "true"),
                    ("access.token.claim", "true"),
                    ("id.token.claim", "false"),
                    ("userinfo.token.claim", "false"),
                ],
            ),
            (
                "audience resolve",
                "oidc-audience-resolve-mapper",
                &[("access.token.claim", "true")],
            ),
        ],
    },
    Builtin {
        name: "groups",
        description: "The user's groups, as paths",
        consent: "See the groups you belong to",
        include_in_token_scope: false,
        kind: Kind::Default,
        mappers: &[(
            "groups",
            "oidc-group-membership-mapper",
            &[("claim.name", "groups"), ("full.path", "true")],
        )],
    },
    Builtin {
        name: "offline_access",
        description: "OpenID Connect built-in scope: offline_access",
        consent: "Stay signed in and act for you while you are away",
        include_in_token_scope: true,
        kind: Kind::Optional,
        mappers: &[],
    },
];

/// Creates the built-in client scopes of a realm (once; a realm created
/// before scopes existed gets them at the next start).
pub fn seed(conn: &mut DbConnection, realm: &Realm) -> Result<(), Error> {
    if realm.scopes_seeded {
        return Ok(());
    }
    store::write(conn, |conn| -> Result<(), Error> {
        let existing = rows::list(conn, &realm.id)?;
        let now = now_ms();
        for (order, builtin) in BUILTINS.iter().enumerate() {
            if existing.iter().any(|s| s.name == builtin.name) {
                continue;
            }
            // Creation order is the order new clients list them in.
            let now = now + 100 * order as i64;
            let row = ScopeRow {
                id: crypto::random_id(),
                realm_id: realm.id.clone(),
                name: builtin.name.into(),
                description: builtin.description.into(),
                include_in_token_scope: builtin.include_in_token_scope,
                consent_text: Some(builtin.consent.into()),
                realm_default: Some(builtin.kind.as_str().into()),
                created_at_ms: now,
            };
            rows::insert(conn, &row)?;
            for (position, (name, kind, pairs)) in builtin.mappers.iter().enumerate() {
                let mut config: Config = ALL_TOKENS
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                config.insert("jsonType.label".into(), "String".into());
                for (k, v) in *pairs {
                    config.insert(k.to_string(), v.to_string());
                }
                rows::insert_mapper(
                    conn,
                    &MapperRow {
                        id: crypto::random_id(),
                        scope_id: row.id.clone(),
                        name: name.to_string(),
                        mapper: kind.to_string(),
                        config: serde_json::to_string(&config).unwrap_or_default(),
                        created_at_ms: now + position as i64,
                    },
                )?;
            }
        }
        let changes = store::realms::RealmChanges {
            scopes_seeded: Some(true),
            ..Default::default()
        };
        store::realms::update(conn, &realm.id, &changes)?;
        revocation::record(conn, &realm.id, EventKind::Realm, "scopes", None)?;
        Ok(())
    })
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

// ---- representations and changes ----------------------------------------

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

pub fn representation(row: &ScopeRow, mappers: &[MapperRow]) -> ClientScopeRepresentation {
    let mut attributes = BTreeMap::new();
    attributes.insert(
        INCLUDE_ATTR.to_string(),
        row.include_in_token_scope.to_string(),
    );
    if let Some(text) = &row.consent_text {
        attributes.insert(CONSENT_ATTR.to_string(), text.clone());
    }
    ClientScopeRepresentation {
        id: Some(row.id.clone()),
        name: Some(row.name.clone()),
        description: Some(row.description.clone()),
        protocol: Some("openid-connect".into()),
        attributes: Some(attributes),
        protocol_mappers: Some(
            mappers
                .iter()
                .filter(|m| m.scope_id == row.id)
                .map(mapper_representation)
                .collect(),
        ),
    }
}

pub fn mapper_representation(m: &MapperRow) -> ProtocolMapperRepresentation {
    ProtocolMapperRepresentation {
        id: Some(m.id.clone()),
        name: Some(m.name.clone()),
        protocol: Some("openid-connect".into()),
        protocol_mapper: Some(m.mapper.clone()),
        config: serde_json::from_str(&m.config).ok(),
    }
}

fn check_protocol(protocol: &Option<String>) -> Result<(), Error> {
    match protocol.as_deref() {
        None | Some("openid-connect") => Ok(()),
        Some(other) => Err(Error::Invalid(format!(
            "protocol `{other}` is not supported (only openid-connect)"
        ))),
    }
}

/// Checks a mapper representation and makes its row for `scope_id`.
pub fn mapper_row(
    scope_id: &str,
    rep: &ProtocolMapperRepresentation,
    now: i64,
) -> Result<MapperRow, Error> {
    check_protocol(&rep.protocol)?;
    let name = rep
        .name
        .clone()
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty() && n.len() <= 255)
        .ok_or_else(|| Error::Invalid("a mapper needs a name of 1-255 characters".into()))?;
    let kind = rep
        .protocol_mapper
        .clone()
        .ok_or_else(|| Error::Invalid(format!("mapper `{name}`: protocolMapper is required")))?;
    let config = rep.config.clone().unwrap_or_default();
    let id = rep.id.clone().unwrap_or_else(crypto::random_id);
    Mapper::parse(id.clone(), name.clone(), &kind, config.clone())?;
    Ok(MapperRow {
        id,
        scope_id: scope_id.to_string(),
        name,
        mapper: kind,
        config: serde_json::to_string(&config).unwrap_or_else(|_| "{}".into()),
        created_at_ms: now,
    })
}

/// Applies a representation's name, description and attributes to `row`.
fn apply_rep(row: &mut ScopeRow, rep: &ClientScopeRepresentation) -> Result<(), Error> {
    check_protocol(&rep.protocol)?;
    if let Some(name) = &rep.name {
        validate_name(name)?;
        row.name = name.clone();
    }
    if let Some(description) = &rep.description {
        row.description = description.chars().take(1024).collect();
    }
    if let Some(attributes) = &rep.attributes {
        if let Some(v) = attributes.get(INCLUDE_ATTR) {
            row.include_in_token_scope = v.eq_ignore_ascii_case("true");
        }
        if let Some(v) = attributes.get(CONSENT_ATTR) {
            row.consent_text =
                Some(v.chars().take(1024).collect()).filter(|t: &String| !t.is_empty());
        }
    }
    Ok(())
}

fn scope_changed(conn: &mut DbConnection, realm_id: &str) -> Result<(), Error> {
    revocation::record(conn, realm_id, EventKind::Realm, "scopes", None)?;
    Ok(())
}

/// Creates a client scope with its mappers.
pub fn create_scope(
    conn: &mut DbConnection,
    realm: &Realm,
    rep: &ClientScopeRepresentation,
) -> Result<ScopeRow, Error> {
    if rep.name.is_none() {
        return Err(Error::Invalid("a client scope needs a name".into()));
    }
    let now = now_ms();
    let mut row = ScopeRow {
        id: rep
            .id
            .clone()
            .filter(|id| !id.is_empty() && id.len() <= 64)
            .unwrap_or_else(crypto::random_id),
        realm_id: realm.id.clone(),
        name: String::new(),
        description: String::new(),
        include_in_token_scope: true,
        consent_text: None,
        realm_default: None,
        created_at_ms: now,
    };
    apply_rep(&mut row, rep)?;
    store::write(conn, |conn| -> Result<ScopeRow, Error> {
        if rows::list(conn, &realm.id)?
            .iter()
            .any(|s| s.name == row.name)
        {
            return Err(Error::Conflict(format!(
                "client scope `{}` already exists",
                row.name
            )));
        }
        rows::insert(conn, &row)?;
        for (i, m) in rep.protocol_mappers.iter().flatten().enumerate() {
            let mapper = mapper_row(&row.id, m, now + i as i64)?;
            rows::insert_mapper(conn, &mapper).map_err(|e| duplicate_mapper(e, &mapper.name))?;
        }
        scope_changed(conn, &realm.id)?;
        Ok(row)
    })
}

fn duplicate_mapper(e: store::StoreError, name: &str) -> Error {
    if e.is_unique_violation() {
        Error::Conflict(format!(
            "a mapper named `{name}` already exists in this scope"
        ))
    } else {
        Error::Store(e)
    }
}

pub fn find_scope(conn: &mut DbConnection, realm: &Realm, id: &str) -> Result<ScopeRow, Error> {
    rows::find(conn, &realm.id, id)?
        .ok_or_else(|| Error::NotFound(format!("client scope `{id}` in realm `{}`", realm.name)))
}

/// A client row with its default and optional scope names.
type Listing = (store::clients::ClientRow, Vec<String>, Vec<String>);

/// Every client of the realm whose lists name `name`, with the lists.
fn clients_naming(
    conn: &mut DbConnection,
    realm_id: &str,
    name: &str,
) -> Result<Vec<Listing>, Error> {
    let mut out = Vec::new();
    for row in store::clients::list(conn, realm_id)? {
        let defaults: Vec<String> = serde_json::from_str(&row.default_scopes).unwrap_or_default();
        let optionals: Vec<String> = serde_json::from_str(&row.optional_scopes).unwrap_or_default();
        if defaults.iter().chain(&optionals).any(|n| n == name) {
            out.push((row, defaults, optionals));
        }
    }
    Ok(out)
}

/// Rewrites the clients' lists that name `old` (renamed to `new`, or
/// removed when `new` is `None`).
fn relink(
    conn: &mut DbConnection,
    realm_id: &str,
    old: &str,
    new: Option<&str>,
) -> Result<(), Error> {
    for (row, defaults, optionals) in clients_naming(conn, realm_id, old)? {
        let swap = |list: Vec<String>| -> Vec<String> {
            list.into_iter()
                .filter_map(|n| {
                    if n == old {
                        new.map(str::to_string)
                    } else {
                        Some(n)
                    }
                })
                .collect()
        };
        let json = |v: &[String]| serde_json::to_string(v).unwrap_or_else(|_| "[]".into());
        let changes = store::clients::ClientChanges {
            default_scopes: Some(json(&swap(defaults))),
            optional_scopes: Some(json(&swap(optionals))),
            ..Default::default()
        };
        store::clients::update(conn, &row.id, &changes)?;
        revocation::record(conn, realm_id, EventKind::Client, &row.client_id, None)?;
    }
    Ok(())
}

/// Changes a scope's name, description or attributes; a new name follows
/// into every client that lists the scope.
pub fn update_scope(
    conn: &mut DbConnection,
    realm: &Realm,
    id: &str,
    rep: &ClientScopeRepresentation,
) -> Result<(), Error> {
    store::write(conn, |conn| -> Result<(), Error> {
        let current = find_scope(conn, realm, id)?;
        let mut row = current.clone();
        apply_rep(&mut row, rep)?;
        if row.name != current.name {
            if rows::list(conn, &realm.id)?
                .iter()
                .any(|s| s.name == row.name)
            {
                return Err(Error::Conflict(format!(
                    "client scope `{}` already exists",
                    row.name
                )));
            }
            relink(conn, &realm.id, &current.name, Some(&row.name))?;
        }
        rows::update(conn, &row)?;
        scope_changed(conn, &realm.id)
    })
}

/// Deletes a scope and takes it off every client.
pub fn delete_scope(conn: &mut DbConnection, realm: &Realm, id: &str) -> Result<String, Error> {
    store::write(conn, |conn| -> Result<String, Error> {
        let row = find_scope(conn, realm, id)?;
        relink(conn, &realm.id, &row.name, None)?;
        rows::delete(conn, &row.id)?;
        scope_changed(conn, &realm.id)?;
        Ok(row.name)
    })
}

pub fn add_mapper(
    conn: &mut DbConnection,
    realm: &Realm,
    scope_id: &str,
    rep: &ProtocolMapperRepresentation,
) -> Result<MapperRow, Error> {
    store::write(conn, |conn| -> Result<MapperRow, Error> {
        let scope = find_scope(conn, realm, scope_id)?;
        let mut rep = rep.clone();
        rep.id = None;
        let row = mapper_row(&scope.id, &rep, now_ms())?;
        rows::insert_mapper(conn, &row).map_err(|e| duplicate_mapper(e, &row.name))?;
        scope_changed(conn, &realm.id)?;
        Ok(row)
    })
}

fn find_mapper(
    conn: &mut DbConnection,
    realm: &Realm,
    scope_id: &str,
    id: &str,
) -> Result<MapperRow, Error> {
    rows::mappers_of_realm(conn, &realm.id)?
        .into_iter()
        .find(|m| m.scope_id == scope_id && m.id == id)
        .ok_or_else(|| Error::NotFound(format!("mapper `{id}` of client scope `{scope_id}`")))
}

pub fn update_mapper(
    conn: &mut DbConnection,
    realm: &Realm,
    scope_id: &str,
    id: &str,
    rep: &ProtocolMapperRepresentation,
) -> Result<(), Error> {
    store::write(conn, |conn| -> Result<(), Error> {
        let current = find_mapper(conn, realm, scope_id, id)?;
        let merged = ProtocolMapperRepresentation {
            id: Some(current.id.clone()),
            name: rep.name.clone().or(Some(current.name.clone())),
            protocol: rep.protocol.clone(),
            protocol_mapper: rep.protocol_mapper.clone().or(Some(current.mapper.clone())),
            config: rep
                .config
                .clone()
                .or_else(|| serde_json::from_str(&current.config).ok()),
        };
        let row = mapper_row(scope_id, &merged, current.created_at_ms)?;
        rows::update_mapper(conn, &row).map_err(|e| duplicate_mapper(e, &row.name))?;
        scope_changed(conn, &realm.id)
    })
}

pub fn delete_mapper(
    conn: &mut DbConnection,
    realm: &Realm,
    scope_id: &str,
    id: &str,
) -> Result<(), Error> {
    store::write(conn, |conn| -> Result<(), Error> {
        let mapper = find_mapper(conn, realm, scope_id, id)?;
        rows::delete_mapper(conn, scope_id, &mapper.id)?;
        scope_changed(conn, &realm.id)
    })
}

/// Marks a scope as one new clients get as `kind` (`on`), or takes that
/// mark away.
pub fn set_realm_default(
    conn: &mut DbConnection,
    realm: &Realm,
    id: &str,
    kind: Kind,
    on: bool,
) -> Result<(), Error> {
    store::write(conn, |conn| -> Result<(), Error> {
        let mut row = find_scope(conn, realm, id)?;
        if on {
            row.realm_default = Some(kind.as_str().to_string());
        } else if row.realm_default.as_deref() == Some(kind.as_str()) {
            row.realm_default = None;
        }
        rows::update(conn, &row)?;
        scope_changed(conn, &realm.id)
    })
}
