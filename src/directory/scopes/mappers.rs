//! Protocol mappers: Keycloak's mapper types and configuration, parsed
//! into what a token's claims are made from.

use std::collections::BTreeMap;

use crate::error::Error;
use crate::store::scopes::MapperRow;

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

/// What an admin console shows of a mapper type: its id, name, category,
/// help text and the configuration keys Latch reads.
pub struct MapperType {
    pub id: &'static str,
    pub name: &'static str,
    pub category: &'static str,
    pub help: &'static str,
    pub config: &'static [&'static str],
}

const TARGETS: [&str; 3] = [
    "access.token.claim",
    "id.token.claim",
    "userinfo.token.claim",
];

/// Every type in [`MAPPER_TYPES`], described.
pub fn described() -> Vec<MapperType> {
    let claim: &'static [&'static str] = &[
        "user.attribute",
        "claim.name",
        "jsonType.label",
        "multivalued",
        TARGETS[0],
        TARGETS[1],
        TARGETS[2],
    ];
    let roles: &'static [&'static str] = &[
        "claim.name",
        "multivalued",
        "usermodel.realmRoleMapping.rolePrefix",
        "usermodel.clientRoleMapping.rolePrefix",
        "usermodel.clientRoleMapping.clientId",
        TARGETS[0],
        TARGETS[1],
        TARGETS[2],
    ];
    let table: [(&str, &str, &str, &str, &'static [&'static str]); 9] = [
        (MAPPER_TYPES[0], "User Property", "Token mapper", "A user's built-in field (username, email, emailVerified, firstName, lastName) as a claim.", claim),
        (MAPPER_TYPES[1], "User Attribute", "Token mapper", "A user attribute as a claim.", claim),
        (MAPPER_TYPES[2], "User's full name", "Token mapper", "The first and last name as the `name` claim.", &TARGETS),
        (MAPPER_TYPES[3], "User Realm Role", "Token mapper", "The realm roles a user holds.", roles),
        (MAPPER_TYPES[4], "User Client Role", "Token mapper", "The client roles a user holds.", roles),
        (MAPPER_TYPES[5], "Group Membership", "Token mapper", "The groups a user is a member of.", &["claim.name", "full.path", TARGETS[0], TARGETS[1], TARGETS[2]]),
        (MAPPER_TYPES[6], "Audience", "Token mapper", "A client or a custom value in `aud`.", &["included.client.audience", "included.custom.audience", TARGETS[0], TARGETS[1]]),
        (MAPPER_TYPES[7], "Audience Resolve", "Token mapper", "Every client the user holds a role of joins `aud`.", &[]),
        (MAPPER_TYPES[8], "Hardcoded claim", "Token mapper", "A fixed claim value.", &["claim.name", "claim.value", "jsonType.label", TARGETS[0], TARGETS[1], TARGETS[2]]),
    ];
    table
        .into_iter()
        .map(|(id, name, category, help, config)| MapperType {
            id,
            name,
            category,
            help,
            config,
        })
        .collect()
}

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
        let (source, default_claim) = source_of(mapper_type, &config).map_err(bad)?;
        let claim =
            claim_of(&source, setting(&config, "claim.name").or(default_claim)).map_err(bad)?;
        let json_type = json_type_of(setting(&config, "jsonType.label")).map_err(bad)?;
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

    pub(super) fn from_row(row: MapperRow) -> Result<Mapper, Error> {
        let config: Config = serde_json::from_str(&row.config).map_err(|e| {
            Error::Invalid(format!("mapper `{}`: bad stored config: {e}", row.name))
        })?;
        Mapper::parse(row.id, row.name, &row.mapper, config)
    }
}

/// A configuration value, when set and not empty.
fn setting<'a>(config: &'a Config, key: &str) -> Option<&'a str> {
    config
        .get(key)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
}

fn required(config: &Config, key: &str) -> Result<String, String> {
    setting(config, key)
        .map(str::to_string)
        .ok_or_else(|| format!("config `{key}` is required"))
}

/// What a mapper type reads, and the claim it writes when `claim.name` is
/// not set.
fn source_of(mapper_type: &str, config: &Config) -> Result<(Source, Option<&'static str>), String> {
    Ok(match mapper_type {
        "oidc-usermodel-property-mapper" => (property_source(config)?, None),
        "oidc-usermodel-attribute-mapper" => (attribute_source(config)?, None),
        "oidc-full-name-mapper" => (Source::FullName, Some("name")),
        "oidc-usermodel-realm-role-mapper" => (
            Source::RealmRoles {
                prefix: setting(config, "usermodel.realmRoleMapping.rolePrefix")
                    .unwrap_or("")
                    .to_string(),
            },
            Some("realm_access.roles"),
        ),
        "oidc-usermodel-client-role-mapper" => (
            Source::ClientRoles {
                client: setting(config, "usermodel.clientRoleMapping.clientId").map(str::to_string),
                prefix: setting(config, "usermodel.clientRoleMapping.rolePrefix")
                    .unwrap_or("")
                    .to_string(),
            },
            Some("resource_access.${client_id}.roles"),
        ),
        "oidc-group-membership-mapper" => (
            Source::Groups {
                full_path: flag(config, "full.path"),
            },
            Some("groups"),
        ),
        "oidc-audience-mapper" => (audience_source(config)?, None),
        "oidc-audience-resolve-mapper" => (Source::AudienceResolve, None),
        "oidc-hardcoded-claim-mapper" => {
            (Source::HardCoded(required(config, "claim.value")?), None)
        }
        other => {
            return Err(format!(
                "mapper type `{other}` is not supported (supported: {})",
                MAPPER_TYPES.join(", ")
            ))
        }
    })
}

fn property_source(config: &Config) -> Result<Source, String> {
    let property = required(config, "user.attribute")?;
    let parsed = Property::parse(&property).ok_or_else(|| {
        format!(
            "user.attribute `{property}` is not a user property (username, email, emailVerified, firstName, lastName)"
        )
    })?;
    Ok(Source::Property(parsed))
}

fn attribute_source(config: &Config) -> Result<Source, String> {
    let attribute = required(config, "user.attribute")?;
    // Keycloak's user profile makes username, email and the names
    // attributes too; its built-in scopes map them so.
    Ok(match Property::parse(&attribute) {
        Some(p) if p != Property::EmailVerified => Source::Property(p),
        _ => Source::Attribute(attribute),
    })
}

fn audience_source(config: &Config) -> Result<Source, String> {
    let audience = setting(config, "included.client.audience")
        .or_else(|| setting(config, "included.custom.audience"))
        .ok_or_else(|| {
            "config `included.client.audience` or `included.custom.audience` is required"
                .to_string()
        })?;
    Ok(Source::Audience(audience.to_string()))
}

/// The claim's path; audience mappers write `aud`, not a claim.
fn claim_of(source: &Source, name: Option<&str>) -> Result<Vec<String>, String> {
    let claim = match (source, name) {
        (Source::Audience(_) | Source::AudienceResolve, _) => Vec::new(),
        (_, Some(name)) => claim_path(name),
        (_, None) => return Err("config `claim.name` is required".into()),
    };
    if claim.iter().any(String::is_empty) {
        return Err("claim.name has an empty part".into());
    }
    if let Some(root) = claim.first() {
        if RESERVED_CLAIMS.contains(&root.as_str()) {
            return Err(format!(
                "claim `{root}` is set by Latch itself and cannot be mapped"
            ));
        }
    }
    Ok(claim)
}

fn json_type_of(label: Option<&str>) -> Result<JsonType, String> {
    Ok(match label.unwrap_or("String") {
        "String" => JsonType::String,
        "long" | "int" => JsonType::Long,
        "boolean" => JsonType::Boolean,
        "JSON" => JsonType::Json,
        other => {
            return Err(format!(
                "jsonType.label `{other}` is not one of String, long, int, boolean, JSON"
            ))
        }
    })
}

fn flag_off_by_default(config: &Config, key: &str) -> bool {
    config
        .get(key)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}
