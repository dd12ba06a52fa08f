//! The administrative subcommands: one line per command, each converting
//! its arguments into an operation's input and printing what came back.
//! Every operation runs on a handle built for the command
//! (`operations::blocking`); running nodes hear of the change at once
//! through Redis when it is configured, and through their poll of the log
//! otherwise.

use std::io::BufRead;

use futures_util::future::BoxFuture;

use super::args::*;
use crate::app::Latch;
use crate::config::Settings;
use crate::error::Error;
use crate::ids::{ClientId, RealmName};
use crate::operations::clients::{self, ClientRef, GrantType, NewClient, SecretChoice};
use crate::operations::keys::{self, Alg, Rotation};
use crate::operations::realms::{self, RealmSettings};
use crate::operations::{self, events, portability, Actor};
use crate::revocation::cascade::Outcome;
use crate::setup::StartError;

mod access;
mod doctor;
mod users;

/// Who the audit trail names for every command.
const OPERATOR: &Actor = &Actor::Cli;

/// Runs one operation as the operator.
fn run<T>(
    settings: &Settings,
    operation: impl for<'a> FnOnce(&'a Latch) -> BoxFuture<'a, Result<T, Error>>,
) -> Result<T, StartError> {
    operations::blocking(settings.clone(), operation)
}

pub fn run_admin(settings: &Settings, command: Command) -> Result<(), StartError> {
    match command {
        Command::Serve(_) => Ok(()),
        Command::Migrate => migrate(settings),
        Command::Realm(command) => realm(settings, command),
        Command::Client(command) => client(settings, command),
        Command::User(command) => users::user(settings, command),
        Command::Role(command) => access::role(settings, command),
        Command::Group(command) => access::group(settings, command),
        Command::Keys(command) => keys(settings, command),
        Command::Session(command) => users::session(settings, command),
        Command::Audit(AuditCommand::List { realm, limit }) => audit(settings, realm, limit),
        Command::Backup { to } => backup(settings, &to),
        Command::Restore { from } => restore(settings, &from),
        Command::Doctor => doctor::doctor(settings),
    }
}

fn backup(settings: &Settings, to: &std::path::Path) -> Result<(), StartError> {
    let written = crate::backup::backup(settings, to)?;
    println!("backed up to {}", written.database.display());
    if let Some(key) = written.key_file {
        println!(
            "master key copied to {} (keep it as safe as the key itself)",
            key.display()
        );
    }
    Ok(())
}

fn restore(settings: &Settings, from: &std::path::Path) -> Result<(), StartError> {
    crate::backup::restore(settings, from)?;
    println!(
        "restored {} in place of {}",
        from.display(),
        settings.database
    );
    Ok(())
}

fn migrate(settings: &Settings) -> Result<(), StartError> {
    let password = settings.admin_password.clone();
    if let Some(password) = run(settings, |latch| {
        Box::pin(realms::ensure_master(latch, password))
    })? {
        println!("Realm `master` created. Admin sign-in (shown only this once):\n  username: admin\n  password: {password}");
    }
    println!("database is up to date");
    Ok(())
}

// ---- realms -------------------------------------------------------------------

fn realm(settings: &Settings, command: RealmCommand) -> Result<(), StartError> {
    match command {
        RealmCommand::Create { name } => create_realm(settings, RealmName(name)),
        RealmCommand::List => list_realms(settings),
        RealmCommand::LogoutAll { name } => logout_realm(settings, RealmName(name)),
        RealmCommand::Update(args) => update_realm(settings, args),
        RealmCommand::Export { name } => export_realm(settings, RealmName(name)),
        RealmCommand::Import { file } => import_realm(settings, &file),
    }
}

fn create_realm(settings: &Settings, name: RealmName) -> Result<(), StartError> {
    let realm = run(settings, |latch| {
        Box::pin(realms::create(
            latch,
            OPERATOR,
            name,
            RealmSettings::default(),
        ))
    })?;
    println!(
        "created realm {} (issuer path /realms/{})",
        realm.name, realm.name
    );
    Ok(())
}

fn list_realms(settings: &Settings) -> Result<(), StartError> {
    for realm in run(settings, |latch| Box::pin(realms::list(latch)))? {
        println!("{}", realm.name);
    }
    Ok(())
}

fn logout_realm(settings: &Settings, name: RealmName) -> Result<(), StartError> {
    report(run(settings, |latch| {
        Box::pin(async move { realms::logout_all(latch, OPERATOR, &name).await })
    })?)
}

fn update_realm(settings: &Settings, a: RealmUpdateArgs) -> Result<(), StartError> {
    let name = RealmName(a.name);
    let changes = RealmSettings {
        access_token_lifetime_s: a.access_token_lifetime,
        id_token_lifetime_s: a.id_token_lifetime,
        refresh_token_lifetime_s: a.refresh_token_lifetime,
        offline_token_lifetime_s: a.offline_token_lifetime,
        session_lifetime_s: a.session_lifetime,
        refresh_grace_ms: a.refresh_grace_ms,
        key_rotation_interval_s: a.key_rotation_interval,
        key_stage_s: a.key_stage,
        ..Default::default()
    };
    let r = run(settings, |latch| {
        Box::pin(async move { realms::update(latch, OPERATOR, &name, changes).await })
    })?;
    println!(
        "realm {}: access {} s, id {} s, refresh {} s, offline {} s, session {} s, grace {} ms, rotation every {} s, staging {} s",
        r.name,
        r.access_token_lifetime_s,
        r.id_token_lifetime_s,
        r.refresh_token_lifetime_s,
        r.offline_token_lifetime_s,
        r.session_lifetime_s,
        r.refresh_grace_ms,
        r.key_rotation_interval_s,
        r.key_stage_s
    );
    Ok(())
}

fn export_realm(settings: &Settings, name: RealmName) -> Result<(), StartError> {
    let doc = run(settings, |latch| {
        Box::pin(async move { portability::export(latch, OPERATOR, &name).await })
    })?;
    let text = serde_json::to_string_pretty(&doc)
        .map_err(|e| StartError::Failed(format!("cannot write JSON: {e}")))?;
    println!("{text}");
    Ok(())
}

fn import_realm(settings: &Settings, file: &std::path::Path) -> Result<(), StartError> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| StartError::Failed(format!("cannot read {}: {e}", file.display())))?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| StartError::Failed(format!("{} is not JSON: {e}", file.display())))?;
    let report = run(settings, |latch| {
        Box::pin(portability::import(latch, OPERATOR, doc))
    })?;
    println!(
        "imported realm {}: {} users, {} clients, {} roles, {} groups, {} client scopes",
        report.realm,
        report.users,
        report.clients,
        report.roles,
        report.groups,
        report.client_scopes
    );
    for (client, secret) in &report.generated_secrets {
        println!(
            "client {client} had no secret in the file; its new secret (shown once): {secret}"
        );
    }
    if !report.unknown_fields.is_empty() {
        println!(
            "not imported (unknown to Latch): {}",
            report.unknown_fields.join(", ")
        );
    }
    Ok(())
}

// ---- clients ------------------------------------------------------------------

fn client(settings: &Settings, command: ClientCommand) -> Result<(), StartError> {
    match command {
        ClientCommand::Create(args) => create_client(settings, args),
        ClientCommand::RevokeTokens { realm, client_id } => {
            revoke_client_tokens(settings, RealmName(realm), ClientId(client_id))
        }
    }
}

fn create_client(settings: &Settings, args: ClientCreateArgs) -> Result<(), StartError> {
    let secret = match (args.public, args.secret) {
        (true, _) => SecretChoice::Public,
        (false, Some(secret)) => SecretChoice::Secret(secret),
        (false, None) => SecretChoice::GenerateSecret,
    };
    let grant_types = args
        .grant_types
        .iter()
        .map(|g| g.parse::<GrantType>())
        .collect::<Result<Vec<_>, Error>>()?;
    let new = NewClient {
        redirect_uris: args.redirect_uris,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        grant_types,
        backchannel_logout_uri: args.backchannel_logout_uri,
        frontchannel_logout_uri: args.frontchannel_logout_uri,
        consent_required: args.consent_required,
        introspect_any: args.introspect_any,
        ..NewClient::new(ClientId(args.client_id), secret)
    };
    let realm = RealmName(args.realm);
    let (client, secret) = {
        let realm = realm.clone();
        run(settings, |latch| {
            Box::pin(async move { clients::create(latch, OPERATOR, &realm, new).await })
        })?
    };
    println!("created client {} in realm {realm}", client.client_id);
    if let Some(secret) = secret {
        println!("client secret (shown only now): {secret}");
    }
    Ok(())
}

fn revoke_client_tokens(
    settings: &Settings,
    realm: RealmName,
    client_id: ClientId,
) -> Result<(), StartError> {
    let which = ClientRef::Public(client_id);
    report(run(settings, |latch| {
        Box::pin(async move { clients::revoke_tokens(latch, OPERATOR, &realm, &which).await })
    })?)
}

// ---- keys and the audit trail -------------------------------------------------

fn keys(settings: &Settings, command: KeysCommand) -> Result<(), StartError> {
    match command {
        KeysCommand::List { realm } => list_keys(settings, RealmName(realm)),
        KeysCommand::Rotate {
            realm,
            alg,
            emergency,
        } => rotate_keys(settings, RealmName(realm), alg, emergency),
    }
}

fn list_keys(settings: &Settings, realm: RealmName) -> Result<(), StartError> {
    let list = run(settings, |latch| {
        Box::pin(async move { keys::list(latch, &realm).await })
    })?;
    println!(
        "{:<18} {:<6} {:<9} {:>15} {:>15}",
        "KID", "ALG", "STATUS", "CREATED_MS", "RETIRE_AFTER_MS"
    );
    for key in list {
        println!(
            "{:<18} {:<6} {:<9} {:>15} {:>15}",
            key.kid,
            key.alg,
            key.stage,
            key.created_at_ms,
            key.retires_at_ms
                .map(|t| t.to_string())
                .unwrap_or_else(|| "-".into())
        );
    }
    Ok(())
}

fn rotate_keys(
    settings: &Settings,
    realm: RealmName,
    alg: Option<String>,
    emergency: bool,
) -> Result<(), StartError> {
    let alg = alg.map(|a| a.parse::<Alg>()).transpose()?;
    let rotation = Rotation { alg, emergency };
    let kids = run(settings, |latch| {
        Box::pin(async move { keys::rotate(latch, OPERATOR, &realm, rotation).await })
    })?;
    if emergency {
        println!("retired {} key(s) at once: {}", kids.len(), kids.join(" "));
    } else {
        for kid in kids {
            println!("new signing key {kid}");
        }
    }
    Ok(())
}

fn audit(settings: &Settings, realm: String, limit: i64) -> Result<(), StartError> {
    let realm = RealmName(realm);
    let list = run(settings, |latch| {
        Box::pin(async move { events::recent(latch, &realm, limit).await })
    })?;
    println!(
        "{:>15} {:<24} {:<22} {:<15} {:<30} DETAIL",
        "AT_MS", "KIND", "ACTOR", "IP", "SUBJECT"
    );
    for e in list {
        println!(
            "{:>15} {:<24} {:<22} {:<15} {:<30} {}",
            e.at_ms,
            e.kind,
            e.actor,
            e.ip.as_deref().unwrap_or("-"),
            e.subject,
            e.detail.as_deref().unwrap_or("")
        );
    }
    Ok(())
}

// ---- what every command shares ------------------------------------------------

/// What an invalidation took back.
fn report(outcome: Outcome) -> Result<(), StartError> {
    println!(
        "done: {} session(s) ended, {} refresh famil{} revoked, {} token(s) denied",
        outcome.sessions_ended,
        outcome.families_revoked,
        if outcome.families_revoked == 1 {
            "y"
        } else {
            "ies"
        },
        outcome.tokens_denied
    );
    Ok(())
}

/// The first line of standard input, without its line ending.
fn read_password() -> Result<String, StartError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| StartError::Failed(format!("cannot read the password from stdin: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}
