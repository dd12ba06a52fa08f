//! `GET /admin/serverinfo`: what Keycloak's admin clients read before they
//! configure anything. Filled: `systemInfo` (version, server time, OS),
//! `profileInfo`, `features` (none), `providers` (the login protocol, the
//! protocol mappers, the password policies), `protocolMapperTypes` and
//! `builtinProtocolMappers` for `openid-connect`, `passwordPolicies`,
//! `cryptoInfo` (signature algorithms) and `enums`. Left empty: themes,
//! identity and social providers, client installations and importers,
//! component types — Latch has none of them.

use std::collections::BTreeMap;

use actix_web::{get, web};
use serde_json::{json, Map, Value};

use super::{Admin, ErrorRepresentation};
use crate::app::Latch;
use crate::http::errors::ApiError;
use crate::operations::server::{self, ServerInfo};

#[utoipa::path(
    tag = "server",
    operation_id = "getServerInfo",
    responses(
        (status = 200, description = "Keycloak's ServerInfoRepresentation, with what Latch supports", body = Object),
        (status = 401, body = ErrorRepresentation), (status = 403, body = ErrorRepresentation),
    )
)]
#[get("/admin/serverinfo")]
pub async fn server_info(
    state: web::Data<Latch>,
    _admin: Admin,
) -> Result<web::Json<Value>, ApiError> {
    Ok(web::Json(representation(&server::info(&state))))
}

fn representation(info: &ServerInfo) -> Value {
    let protocol = info.protocol;
    json!({
        "systemInfo": {
            "version": info.version,
            "serverTime": crate::time::format_utc(info.now_ms),
            "osName": std::env::consts::OS,
            "osArchitecture": std::env::consts::ARCH,
        },
        "profileInfo": {
            "name": "community",
            "disabledFeatures": [],
            "previewFeatures": [],
            "experimentalFeatures": [],
        },
        "features": [],
        "themes": {},
        "socialProviders": [],
        "identityProviders": [],
        "clientImporters": [],
        "clientInstallations": {},
        "componentTypes": {},
        "providers": providers(info),
        "protocolMapperTypes": { protocol: mapper_types(info) },
        "builtinProtocolMappers": { protocol: builtin_mappers(info) },
        "passwordPolicies": info.password_policies.iter().map(|(id, name, config, default)| json!({
            "id": id,
            "displayName": name,
            "configType": config,
            "defaultValue": default,
            "multipleSupported": false,
        })).collect::<Vec<_>>(),
        "cryptoInfo": {
            "cryptoProvider": "OpenSSL",
            "supportedKeystoreTypes": [],
            "clientSignatureSymmetricAlgorithms": [],
            "clientSignatureAsymmetricAlgorithms": info.signature_algorithms,
        },
        "enums": { "sslRequired": ["none", "external", "all"] },
    })
}

/// Keycloak's SPI listing, for the parts Latch has.
fn providers(info: &ServerInfo) -> Value {
    let spi = |ids: Vec<&str>| {
        let providers: Map<String, Value> = ids
            .into_iter()
            .map(|id| (id.to_string(), json!({ "order": 0 })))
            .collect();
        json!({ "internal": false, "providers": providers })
    };
    json!({
        "login-protocol": spi(vec![info.protocol]),
        "protocol-mapper": spi(info.mapper_types.iter().map(|m| m.id).collect()),
        "password-policy": spi(info.password_policies.iter().map(|p| p.0).collect()),
    })
}

fn mapper_types(info: &ServerInfo) -> Vec<Value> {
    info.mapper_types
        .iter()
        .enumerate()
        .map(|(priority, m)| {
            let properties: Vec<Value> = m
                .config
                .iter()
                .map(|key| json!({ "name": key, "label": key, "type": property_type(key) }))
                .collect();
            json!({
                "id": m.id,
                "name": m.name,
                "category": m.category,
                "helpText": m.help,
                "priority": priority,
                "properties": properties,
            })
        })
        .collect()
}

/// Keycloak's configuration property types, for the keys Latch reads.
fn property_type(key: &str) -> &'static str {
    match key {
        "multivalued" | "full.path" => "boolean",
        k if k.ends_with(".claim") => "boolean",
        "jsonType.label" => "List",
        _ => "String",
    }
}

fn builtin_mappers(info: &ServerInfo) -> Vec<Value> {
    info.builtin_mappers
        .iter()
        .map(|(_scope, (name, mapper, config))| {
            let config: BTreeMap<&str, &str> = config.iter().copied().collect();
            json!({
                "name": name,
                "protocol": info.protocol,
                "protocolMapper": mapper,
                "consentRequired": false,
                "config": config,
            })
        })
        .collect()
}
