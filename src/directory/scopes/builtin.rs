//! The client scopes every realm starts with, as Keycloak names them:
//! `profile`, `email`, `roles`, `groups`, `offline_access`.

use super::{Config, Kind};
use crate::crypto;
use crate::error::Error;
use crate::revocation::{self, EventKind};
use crate::store::realms::Realm;
use crate::store::scopes::{self as rows, MapperRow, ScopeRow};
use crate::store::{self, DbConnection};
use crate::time::now_ms;

/// A built-in mapper: name, type, configuration pairs.
pub type BuiltinMapper = (
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

/// The mappers of the built-in scopes: (scope, mapper name, type,
/// configuration), as a realm starts with them.
pub fn mappers() -> Vec<(&'static str, BuiltinMapper)> {
    BUILTINS
        .iter()
        .flat_map(|b| b.mappers.iter().map(move |m| (b.name, *m)))
        .collect()
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
