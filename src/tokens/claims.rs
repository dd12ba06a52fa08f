//! Runs the granted scopes' protocol mappers: the claims an access token,
//! an ID token or a userinfo answer carries beyond Latch's own, and the
//! audiences audience mappers add.

use serde_json::{Map, Value};

use crate::directory::scopes::{ClientScope, JsonType, Mapper, Property, Source, Target};
use crate::store::roles::Effective;
use crate::store::scopes::Attributes;
use crate::store::users::User;

/// Who the claims are about: a user (with roles, groups and attributes),
/// or nobody when a client acts for itself.
#[derive(Clone, Copy, Default)]
pub struct Subject<'a> {
    pub user: Option<&'a User>,
    pub attributes: Option<&'a Attributes>,
    pub access: Option<&'a Effective>,
}

/// The mapped claims for one target, in mapper order.
pub fn mapped<'a>(
    scopes: impl IntoIterator<Item = &'a std::sync::Arc<ClientScope>>,
    target: Target,
    subject: Subject<'_>,
) -> Map<String, Value> {
    let mut claims = Map::new();
    for scope in scopes {
        for mapper in scope.mappers.iter().filter(|m| m.applies_to(target)) {
            apply(mapper, subject, &mut claims);
        }
    }
    claims
}

/// The audiences the scopes' audience mappers add to access tokens: the
/// named ones, and for an audience resolve mapper every client the user
/// holds a role of (in `access`), the token's own client (`own`) aside.
pub fn audiences<'a>(
    scopes: impl IntoIterator<Item = &'a std::sync::Arc<ClientScope>>,
    access: Option<&Effective>,
    own: &str,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |aud: &str| {
        if !out.iter().any(|a| a == aud) {
            out.push(aud.to_string());
        }
    };
    for scope in scopes {
        for mapper in scope.mappers.iter().filter(|m| m.access) {
            match &mapper.source {
                Source::Audience(aud) => add(aud),
                Source::AudienceResolve => {
                    let held = access.map(|a| a.client_roles.iter());
                    for (client, roles) in held.into_iter().flatten() {
                        if client != own && !roles.is_empty() {
                            add(client);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    out
}

fn apply(mapper: &Mapper, subject: Subject<'_>, claims: &mut Map<String, Value>) {
    match &mapper.source {
        Source::ClientRoles { client, prefix } => {
            let Some(access) = subject.access else { return };
            for (client_id, roles) in &access.client_roles {
                if client.as_ref().is_some_and(|c| c != client_id) {
                    continue;
                }
                let path: Vec<String> = mapper
                    .claim
                    .iter()
                    .map(|p| p.replace("${client_id}", client_id))
                    .collect();
                let values = roles.iter().map(|r| format!("{prefix}{r}")).collect();
                put(claims, &path, typed(mapper, values));
            }
        }
        Source::Audience(_) | Source::AudienceResolve => {}
        _ => {
            let values = read(&mapper.source, subject);
            if values.is_empty() {
                return;
            }
            if let Some(value) = typed(mapper, values) {
                put(claims, &mapper.claim, Some(value));
            }
        }
    }
}

/// The values a mapper reads (none: the claim is left out).
fn read(source: &Source, subject: Subject<'_>) -> Vec<String> {
    let user = subject.user;
    match source {
        Source::Property(p) => user.and_then(|u| property(u, *p)).into_iter().collect(),
        // An attribute named like a user property was parsed as one.
        Source::Attribute(name) => subject
            .attributes
            .and_then(|a| a.get(name))
            .cloned()
            .unwrap_or_default(),
        Source::FullName => user
            .map(|u| {
                [&u.first_name, &u.last_name]
                    .into_iter()
                    .filter_map(|p| p.as_deref())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .filter(|n| !n.is_empty())
            .into_iter()
            .collect(),
        Source::RealmRoles { prefix } => subject
            .access
            .map(|a| {
                a.realm_roles
                    .iter()
                    .map(|r| format!("{prefix}{r}"))
                    .collect()
            })
            .unwrap_or_default(),
        Source::Groups { full_path } => subject
            .access
            .map(|a| {
                a.groups
                    .iter()
                    .map(|g| match full_path {
                        true => g.clone(),
                        false => g.rsplit('/').next().unwrap_or(g).to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        Source::HardCoded(value) => vec![value.clone()],
        Source::ClientRoles { .. } | Source::Audience(_) | Source::AudienceResolve => Vec::new(),
    }
}

fn property(user: &User, p: Property) -> Option<String> {
    match p {
        Property::Username => Some(user.username.clone()),
        Property::Email => user.email.clone(),
        // As in Keycloak, said with or without an address.
        Property::EmailVerified => Some(user.email_verified.to_string()),
        Property::FirstName => user.first_name.clone(),
        Property::LastName => user.last_name.clone(),
    }
}

/// Converts read values to the mapper's JSON type: an array when the
/// mapper is multivalued, else the first value. Values that do not parse
/// as the type are left out.
fn typed(mapper: &Mapper, values: Vec<String>) -> Option<Value> {
    let convert = |v: String| -> Option<Value> {
        match mapper.json_type {
            JsonType::String => Some(Value::String(v)),
            JsonType::Long => v.trim().parse::<i64>().ok().map(Value::from),
            JsonType::Boolean => v.trim().parse::<bool>().ok().map(Value::Bool),
            JsonType::Json => serde_json::from_str(&v).ok(),
        }
    };
    if mapper.multivalued {
        Some(Value::Array(
            values.into_iter().filter_map(convert).collect(),
        ))
    } else {
        values.into_iter().next().and_then(convert)
    }
}

/// Sets a claim at a nested path; arrays met at the same place merge
/// (two role mappers into one list), anything else is replaced.
fn put(claims: &mut Map<String, Value>, path: &[String], value: Option<Value>) {
    let (Some(value), Some((last, parents))) = (value, path.split_last()) else {
        return;
    };
    let mut node = claims;
    for part in parents {
        let entry = node
            .entry(part.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        let Value::Object(next) = entry else { return };
        node = next;
    }
    match (node.get_mut(last), value) {
        (Some(Value::Array(existing)), Value::Array(more)) => {
            for v in more {
                if !existing.contains(&v) {
                    existing.push(v);
                }
            }
        }
        (_, value) => {
            node.insert(last.clone(), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::scopes::{claim_path, Config};
    use std::sync::Arc;

    fn mapper(kind: &str, pairs: &[(&str, &str)]) -> Mapper {
        let config: Config = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Mapper::parse("m".into(), "m".into(), kind, config).unwrap()
    }

    fn scope(mappers: Vec<Mapper>) -> Arc<ClientScope> {
        Arc::new(ClientScope {
            id: "s".into(),
            name: "s".into(),
            description: String::new(),
            include_in_token_scope: true,
            consent_text: None,
            realm_default: None,
            mappers,
        })
    }

    #[test]
    fn nested_claims_types_and_merging() {
        let access = Effective {
            realm_roles: vec!["admin".into()],
            client_roles: [("api".to_string(), vec!["read".to_string()])].into(),
            groups: vec!["/staff/ops".into()],
        };
        let mut attributes = Attributes::new();
        attributes.insert("level".into(), vec!["7".into()]);
        let scopes = vec![scope(vec![
            mapper("oidc-usermodel-realm-role-mapper", &[]),
            mapper(
                "oidc-usermodel-realm-role-mapper",
                &[("usermodel.realmRoleMapping.rolePrefix", "r-")],
            ),
            mapper("oidc-usermodel-client-role-mapper", &[]),
            mapper("oidc-group-membership-mapper", &[("full.path", "false")]),
            mapper(
                "oidc-usermodel-attribute-mapper",
                &[
                    ("user.attribute", "level"),
                    ("claim.name", "org\\.level"),
                    ("jsonType.label", "long"),
                ],
            ),
            mapper(
                "oidc-hardcoded-claim-mapper",
                &[
                    ("claim.name", "tenant.features"),
                    ("claim.value", r#"{"beta":true}"#),
                    ("jsonType.label", "JSON"),
                    ("id.token.claim", "false"),
                ],
            ),
            mapper(
                "oidc-audience-mapper",
                &[("included.client.audience", "billing")],
            ),
            mapper("oidc-audience-resolve-mapper", &[]),
        ])];
        let subject = Subject {
            user: None,
            attributes: Some(&attributes),
            access: Some(&access),
        };
        let claims = Value::Object(mapped(&scopes, Target::Access, subject));
        assert_eq!(
            claims,
            serde_json::json!({
                "realm_access": {"roles": ["admin", "r-admin"]},
                "resource_access": {"api": {"roles": ["read"]}},
                "groups": ["ops"],
                "org.level": 7,
                "tenant": {"features": {"beta": true}},
            })
        );
        let id = mapped(&scopes, Target::Id, subject);
        assert!(!id.contains_key("tenant"));
        assert_eq!(
            audiences(&scopes, Some(&access), "web"),
            vec!["billing".to_string(), "api".to_string()]
        );
        assert_eq!(
            audiences(&scopes, Some(&access), "api"),
            vec!["billing".to_string()],
            "a client is not its own resolved audience"
        );
        assert_eq!(audiences(&scopes, None, "web"), vec!["billing".to_string()]);
    }

    #[test]
    fn refuses_reserved_and_unknown() {
        let config = |pairs: &[(&str, &str)]| -> Config {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let sub = config(&[("claim.name", "sub"), ("claim.value", "x")]);
        assert!(Mapper::parse("i".into(), "n".into(), "oidc-hardcoded-claim-mapper", sub).is_err());
        let other = config(&[]);
        assert!(Mapper::parse("i".into(), "n".into(), "oidc-script-mapper", other).is_err());
        assert_eq!(claim_path("a\\.b.c"), vec!["a.b", "c"]);
    }

    #[test]
    fn attribute_mappers_read_the_profile_properties_keycloak_treats_as_attributes() {
        let config = |attribute: &str| -> Config {
            [("user.attribute", attribute), ("claim.name", "c")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let source = |attribute: &str| {
            Mapper::parse(
                "i".into(),
                "n".into(),
                "oidc-usermodel-attribute-mapper",
                config(attribute),
            )
            .unwrap()
            .source
        };
        assert_eq!(source("firstName"), Source::Property(Property::FirstName));
        assert_eq!(source("username"), Source::Property(Property::Username));
        assert_eq!(source("department"), Source::Attribute("department".into()));
        assert_eq!(
            source("emailVerified"),
            Source::Attribute("emailVerified".into())
        );
    }
}
