//! The command line: `latch serve` and the administrative subcommands. Each
//! command only parses and prints; the work is done by library functions
//! that the admin API calls too.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{Overrides, Settings};
use crate::directory::clients::{self, Credentials, GrantType, NewClient};
use crate::directory::{realms, users};
use crate::error::Error;
use crate::keys::Alg;
use crate::revocation::actions;
use crate::revocation::cascade::{Actor, Outcome};
use crate::setup::{self, StartError};
use crate::{store, Application};

#[derive(Parser, Debug)]
#[command(
    name = "latch",
    version,
    about = "An OpenID Connect provider that can take back every token it issues"
)]
pub struct Cli {
    /// Configuration file (default: ./latch.toml when present).
    #[arg(long, global = true, env = "LATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Database: sqlite://PATH (default sqlite://latch.db) or postgres://USER@HOST/DB.
    #[arg(long, global = true)]
    pub database: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage realms.
    #[command(subcommand)]
    Realm(RealmCommand),
    /// Manage clients.
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage realm and client roles.
    #[command(subcommand)]
    Role(RoleCommand),
    /// Manage groups (by path, `/parent/child`).
    #[command(subcommand)]
    Group(GroupCommand),
    /// Manage signing keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// List and end sessions.
    #[command(subcommand)]
    Session(SessionCommand),
    /// Read the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
}

#[derive(Subcommand, Debug)]
pub enum RoleCommand {
    /// Create a realm role, or a client role with --client.
    Create {
        #[arg(long)]
        realm: String,
        name: String,
        #[arg(long)]
        client: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Give a user a role.
    Grant {
        #[arg(long)]
        realm: String,
        #[arg(long)]
        username: String,
        role: String,
        #[arg(long)]
        client: Option<String>,
    },
    /// Take a role from a user; every token of theirs dies.
    Revoke {
        #[arg(long)]
        realm: String,
        #[arg(long)]
        username: String,
        role: String,
        #[arg(long)]
        client: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum GroupCommand {
    /// Create a group (its parent must exist).
    Create {
        #[arg(long)]
        realm: String,
        path: String,
    },
    /// List the realm's group paths.
    List {
        #[arg(long)]
        realm: String,
    },
    /// Put a user in a group.
    AddMember {
        #[arg(long)]
        realm: String,
        #[arg(long)]
        username: String,
        path: String,
    },
    /// Take a user out of a group; every token of theirs dies.
    RemoveMember {
        #[arg(long)]
        realm: String,
        #[arg(long)]
        username: String,
        path: String,
    },
    /// Give a group (and the groups below it) a role.
    GrantRole {
        #[arg(long)]
        realm: String,
        path: String,
        role: String,
        #[arg(long)]
        client: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// The realm's most recent audit events, newest first.
    List {
        #[arg(long)]
        realm: String,
        #[arg(long, default_value_t = 50)]
        limit: i64,
    },
}

#[derive(Args, Debug)]
pub struct UserRef {
    #[arg(long)]
    pub realm: String,
    #[arg(long)]
    pub username: String,
}

#[derive(Subcommand, Debug)]
pub enum SessionCommand {
    /// List live sessions of the realm (or of one user).
    List {
        #[arg(long)]
        realm: String,
        #[arg(long)]
        user: Option<String>,
    },
    /// End a session: every token issued in it stops working.
    End {
        #[arg(long)]
        realm: String,
        /// Session ids are random base64url and may begin with `-`.
        #[arg(allow_hyphen_values = true)]
        sid: String,
    },
    /// Back-channel logout delivery per client: delivered, pending (with the
    /// next attempt) or failed.
    Notices {
        #[arg(long)]
        realm: String,
        #[arg(long, allow_hyphen_values = true)]
        sid: Option<String>,
    },
}

#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long)]
    pub listen: Option<String>,
    /// Base URL issuers are built on (default: derived from --listen).
    #[arg(long)]
    pub public_base: Option<String>,
    /// Redis URL for cross-node fan-out.
    #[arg(long)]
    pub redis: Option<String>,
    /// How often to read new events from the database log, in ms (default 500).
    #[arg(long)]
    pub revocation_poll_ms: Option<u64>,
    /// PEM certificate chain; serves HTTPS with --tls-key.
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key.
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
    /// Create the demo realm, client and user, and print how to sign in.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Subcommand, Debug)]
pub enum RealmCommand {
    /// Create a realm with fresh signing keys.
    Create { name: String },
    /// List realms.
    List,
    /// Log everyone in the realm out (every token and session dies).
    LogoutAll { name: String },
    /// Change token lifetimes, the refresh grace window or key rotation.
    Update(RealmUpdateArgs),
    /// Write the realm as Keycloak realm JSON (users with their password
    /// hashes) to standard output.
    Export { name: String },
    /// Create a realm from a Keycloak realm JSON file (Keycloak's PBKDF2
    /// hashes sign in and are upgraded to argon2id on first use).
    Import { file: std::path::PathBuf },
}

#[derive(Args, Debug)]
pub struct RealmUpdateArgs {
    pub name: String,
    /// Access token lifetime in seconds.
    #[arg(long)]
    pub access_token_lifetime: Option<i64>,
    /// ID token lifetime in seconds.
    #[arg(long)]
    pub id_token_lifetime: Option<i64>,
    /// Online refresh token lifetime (idle) in seconds.
    #[arg(long)]
    pub refresh_token_lifetime: Option<i64>,
    /// Offline refresh token lifetime in seconds.
    #[arg(long)]
    pub offline_token_lifetime: Option<i64>,
    /// Browser session lifetime in seconds.
    #[arg(long)]
    pub session_lifetime: Option<i64>,
    /// Refresh-token retry grace window in milliseconds (0 = strict).
    #[arg(long)]
    pub refresh_grace_ms: Option<i64>,
    /// Rotate keys every this many seconds (0 = never).
    #[arg(long)]
    pub key_rotation_interval: Option<i64>,
    /// Publish a new key this many seconds before it signs.
    #[arg(long)]
    pub key_stage: Option<i64>,
}

#[derive(Subcommand, Debug)]
pub enum ClientCommand {
    /// Register a client. A confidential client's secret is printed once.
    Create(ClientCreateArgs),
    /// Revoke every token the client holds.
    RevokeTokens {
        #[arg(long)]
        realm: String,
        #[arg(long)]
        client_id: String,
    },
}

#[derive(Args, Debug)]
pub struct ClientCreateArgs {
    #[arg(long)]
    pub realm: String,
    #[arg(long)]
    pub client_id: String,
    /// The client secret (at least 32 characters); generated when omitted.
    #[arg(long, conflicts_with = "public")]
    pub secret: Option<String>,
    /// A public client (no secret; PKCE required).
    #[arg(long)]
    pub public: bool,
    /// Redirect URI, matched exactly (repeatable).
    #[arg(long = "redirect-uri")]
    pub redirect_uris: Vec<String>,
    /// Where the client may send users after logout (repeatable).
    #[arg(long = "post-logout-redirect-uri")]
    pub post_logout_redirect_uris: Vec<String>,
    /// Allowed grant type (repeatable; default authorization_code and refresh_token).
    #[arg(long = "grant-type")]
    pub grant_types: Vec<String>,
    #[arg(long)]
    pub backchannel_logout_uri: Option<String>,
    /// Ask the user's consent before issuing tokens to this client.
    #[arg(long)]
    pub consent_required: bool,
    /// A resource server: may introspect any token of the realm.
    #[arg(long)]
    pub introspect_any: bool,
    /// Front-channel logout URI (rendered in an iframe at logout).
    #[arg(long)]
    pub frontchannel_logout_uri: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create(UserCreateArgs),
    /// Set the password (read from standard input); ends every session of the user.
    SetPassword(UserRef),
    /// Disable the user; every session and token of theirs dies.
    Disable(UserRef),
    /// Let a disabled user sign in again.
    Enable(UserRef),
    /// Log the user out everywhere: every session and token dies.
    LogoutAll(UserRef),
}

#[derive(Args, Debug)]
pub struct UserCreateArgs {
    #[arg(long)]
    pub realm: String,
    #[arg(long)]
    pub username: String,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub first_name: Option<String>,
    #[arg(long)]
    pub last_name: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// List the realm's keys with their status.
    List {
        #[arg(long)]
        realm: String,
    },
    /// Rotate the realm's keys gracefully: a new key signs from now on, the
    /// old one keeps verifying until its tokens have expired.
    Rotate {
        #[arg(long)]
        realm: String,
        /// Only this algorithm (ES256, RS256, EdDSA); default all in use.
        #[arg(long)]
        alg: Option<String>,
        /// Retire the current keys at once: every token they signed is rejected.
        #[arg(long)]
        emergency: bool,
    },
}

/// Runs a command; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    crate::store::init_crypto_library();
    let overrides = overrides(&cli);
    let settings = match Settings::load(cli.config.as_deref(), &overrides) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("latch: {e}");
            return 2;
        }
    };
    crate::telemetry::init(&settings.log_format);
    let result = match cli.command {
        Command::Serve(_) => serve(settings),
        command => admin(&settings, command),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("latch: {e}");
            e.exit_code()
        }
    }
}

fn overrides(cli: &Cli) -> Overrides {
    let mut o = Overrides {
        database: cli.database.clone(),
        ..Overrides::default()
    };
    if let Command::Serve(args) = &cli.command {
        o.listen = args.listen.clone();
        o.public_base = args.public_base.clone();
        o.redis = args.redis.clone();
        o.revocation_poll_ms = args.revocation_poll_ms;
        o.tls_cert = args.tls_cert.clone();
        o.tls_key = args.tls_key.clone();
        o.demo = args.demo.then_some(true);
    }
    o
}

fn serve(settings: Settings) -> Result<(), StartError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| StartError::Failed(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let app = Application::build(settings).await?;
        print_banner(&app);
        tracing::info!(listen = %app.addr(), base = %app.public_base(), "Latch is serving");
        app.run_until_stopped()
            .await
            .map_err(|e| StartError::Failed(format!("server stopped: {e}")))
    })
}

/// Secrets go to standard output once, never through the log.
fn print_banner(app: &Application) {
    let mut out = String::new();
    if let Some(password) = &app.bootstrap().admin_password {
        out.push_str(&format!(
            "\n  Realm `master` created. Admin sign-in (shown only this once):\n    username: admin\n    password: {password}\n"
        ));
    }
    if let Some(demo) = &app.bootstrap().demo {
        let hidden = "(changed since the demo was set up; not shown)";
        out.push_str(&format!(
            "\n  Latch demo is ready.\n    issuer:        {}\n    discovery:     {}/.well-known/openid-configuration\n    client id:     {}\n    client secret: {}\n    redirect URI:  {}\n    user:          {} / {}\n",
            app.issuer("demo"),
            app.issuer("demo"),
            demo.client_id,
            demo.client_secret.as_deref().unwrap_or(hidden),
            crate::directory::bootstrap::DEMO_REDIRECT_URI,
            demo.username,
            demo.password.as_deref().unwrap_or(hidden),
        ));
    }
    if !out.is_empty() {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{out}");
        let _ = stdout.flush();
    }
}

fn admin(settings: &Settings, command: Command) -> Result<(), StartError> {
    let opened = setup::open(settings)?;
    let mut conn = opened.store.conn()?;
    let since = store::events::last_seq(&mut conn)?;
    run_admin(settings, &mut conn, &opened.master, command)?;
    if let Some(url) = &settings.redis {
        publish_since(url, &settings.redis_channel, &mut conn, since);
    }
    Ok(())
}

/// Running nodes poll the log anyway; with Redis they hear at once.
fn publish_since(url: &str, channel: &str, conn: &mut store::DbConnection, since: i64) {
    let Ok(events) = store::events::after(conn, since, 10_000) else {
        return;
    };
    if events.is_empty() {
        return;
    }
    let Ok(fanout) = crate::revocation::fanout::Fanout::new(url, channel, 0) else {
        return;
    };
    if let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        runtime.block_on(fanout.publish(&events));
    }
}

fn run_admin(
    settings: &Settings,
    conn: &mut store::DbConnection,
    master: &crate::crypto::MasterKey,
    command: Command,
) -> Result<(), StartError> {
    match command {
        Command::Serve(_) => Ok(()),
        Command::Migrate => {
            if let Some(password) = crate::directory::bootstrap::ensure_master(
                conn,
                master,
                settings.admin_password.as_deref(),
            )? {
                println!("Realm `master` created. Admin sign-in (shown only this once):\n  username: admin\n  password: {password}");
            }
            println!("database is up to date");
            Ok(())
        }
        Command::Realm(RealmCommand::Create { name }) => {
            let realm = realms::create(conn, master, &name)?;
            let base = settings.public_base_for(settings.listen_addr()?);
            crate::directory::bootstrap::ensure_builtins(conn, master, &realm, &base)?;
            println!(
                "created realm {} (issuer path /realms/{})",
                realm.name, realm.name
            );
            Ok(())
        }
        Command::Realm(RealmCommand::List) => {
            for realm in store::realms::list(conn)? {
                println!("{}", realm.name);
            }
            Ok(())
        }
        Command::Client(ClientCommand::Create(args)) => create_client(conn, master, args),
        Command::User(UserCommand::Create(args)) => create_user(conn, args),
        Command::Keys(KeysCommand::List { realm }) => {
            let realm = realms::find(conn, &realm)?;
            println!(
                "{:<18} {:<6} {:<9} {:>15} {:>15}",
                "KID", "ALG", "STATUS", "CREATED_MS", "RETIRE_AFTER_MS"
            );
            for key in store::keys::all_for_realm(conn, &realm.id)? {
                println!(
                    "{:<18} {:<6} {:<9} {:>15} {:>15}",
                    key.kid,
                    key.alg,
                    key.status,
                    key.created_at_ms,
                    key.retire_after_ms
                        .map(|t| t.to_string())
                        .unwrap_or_else(|| "-".into())
                );
            }
            Ok(())
        }
        Command::Keys(KeysCommand::Rotate {
            realm,
            alg,
            emergency,
        }) => {
            let alg = alg.map(|a| a.parse::<Alg>()).transpose()?;
            if emergency {
                let retired = actions::emergency_rotate(conn, master, &realm, alg, &Actor::Cli)?;
                println!(
                    "retired {} key(s) at once: {}",
                    retired.len(),
                    retired.join(" ")
                );
                return Ok(());
            }
            for kid in realms::rotate_keys(conn, master, &realm, alg)? {
                println!("new signing key {kid}");
            }
            Ok(())
        }
        Command::Realm(RealmCommand::Update(a)) => {
            let changes = store::realms::RealmChanges {
                access_token_lifetime_s: a.access_token_lifetime,
                id_token_lifetime_s: a.id_token_lifetime,
                refresh_token_lifetime_s: a.refresh_token_lifetime,
                offline_token_lifetime_s: a.offline_token_lifetime,
                session_lifetime_s: a.session_lifetime,
                refresh_grace_ms: a.refresh_grace_ms,
                key_rotation_interval_s: a.key_rotation_interval,
                key_stage_s: a.key_stage,
                password_policy: None,
                ..Default::default()
            };
            let r = realms::update(conn, &a.name, &changes)?;
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
        Command::Realm(RealmCommand::Export { name }) => {
            let doc = crate::directory::portability::export(conn, &name)?;
            println!(
                "{}",
                serde_json::to_string_pretty(&doc)
                    .map_err(|e| StartError::Failed(format!("cannot write JSON: {e}")))?
            );
            Ok(())
        }
        Command::Realm(RealmCommand::Import { file }) => {
            let text = std::fs::read_to_string(&file)
                .map_err(|e| StartError::Failed(format!("cannot read {}: {e}", file.display())))?;
            let doc: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| StartError::Failed(format!("{} is not JSON: {e}", file.display())))?;
            let base = settings.public_base_for(settings.listen_addr()?);
            let report = crate::directory::portability::import(conn, master, &doc, &base)?;
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
                println!("client {client} had no secret in the file; its new secret (shown once): {secret}");
            }
            if !report.unknown_fields.is_empty() {
                println!(
                    "not imported (unknown to Latch): {}",
                    report.unknown_fields.join(", ")
                );
            }
            Ok(())
        }
        Command::Role(command) => {
            use crate::directory::access;
            match command {
                RoleCommand::Create {
                    realm,
                    name,
                    client,
                    description,
                } => {
                    access::create_role(conn, &realm, &name, client.as_deref(), description)?;
                    println!("created role {name}");
                    Ok(())
                }
                RoleCommand::Grant {
                    realm,
                    username,
                    role,
                    client,
                } => {
                    access::grant_role(conn, &realm, &username, &role, client.as_deref())?;
                    println!("{username} now holds {role}");
                    Ok(())
                }
                RoleCommand::Revoke {
                    realm,
                    username,
                    role,
                    client,
                } => report(access::revoke_role(
                    conn,
                    &realm,
                    &username,
                    &role,
                    client.as_deref(),
                    &Actor::Cli,
                )?),
            }
        }
        Command::Group(command) => {
            use crate::directory::access;
            match command {
                GroupCommand::Create { realm, path } => {
                    access::create_group(conn, &realm, &path)?;
                    println!("created group {path}");
                    Ok(())
                }
                GroupCommand::List { realm } => {
                    for path in access::group_paths(conn, &realm)? {
                        println!("{path}");
                    }
                    Ok(())
                }
                GroupCommand::AddMember {
                    realm,
                    username,
                    path,
                } => {
                    access::add_member(conn, &realm, &username, &path)?;
                    println!("{username} is in {path}");
                    Ok(())
                }
                GroupCommand::RemoveMember {
                    realm,
                    username,
                    path,
                } => report(access::remove_member(
                    conn,
                    &realm,
                    &username,
                    &path,
                    &Actor::Cli,
                )?),
                GroupCommand::GrantRole {
                    realm,
                    path,
                    role,
                    client,
                } => {
                    access::group_grant_role(conn, &realm, &path, &role, client.as_deref())?;
                    println!("{path} grants {role}");
                    Ok(())
                }
            }
        }
        Command::Realm(RealmCommand::LogoutAll { name }) => {
            report(actions::logout_realm(conn, &name, &Actor::Cli)?)
        }
        Command::Client(ClientCommand::RevokeTokens { realm, client_id }) => report(
            actions::revoke_client_tokens(conn, &realm, &client_id, &Actor::Cli)?,
        ),
        Command::User(UserCommand::SetPassword(u)) => {
            use crate::operations::credentials::{set_password, PasswordChange};
            let password = read_password()?;
            let user = crate::operations::users::UserRef::Username(u.username);
            let set = crate::operations::blocking(settings.clone(), move |latch| {
                Box::pin(async move {
                    let realm = crate::ids::RealmName(u.realm);
                    let reset = PasswordChange::Reset { temporary: false };
                    set_password(latch, &Actor::Cli, &realm, &user, password, reset).await
                })
            })?;
            report(set.outcome)
        }
        Command::User(UserCommand::Disable(u)) => report(actions::disable_user(
            conn,
            &u.realm,
            &u.username,
            &Actor::Cli,
        )?),
        Command::User(UserCommand::Enable(u)) => {
            actions::enable_user(conn, &u.realm, &u.username)?;
            println!("enabled");
            Ok(())
        }
        Command::User(UserCommand::LogoutAll(u)) => report(actions::logout_user(
            conn,
            &u.realm,
            &u.username,
            &Actor::Cli,
        )?),
        Command::Session(SessionCommand::List { realm, user }) => {
            list_sessions(conn, &realm, user.as_deref())
        }
        Command::Audit(AuditCommand::List { realm, limit }) => {
            let realm = realms::find(conn, &realm)?;
            println!(
                "{:>15} {:<24} {:<22} {:<15} {:<30} DETAIL",
                "AT_MS", "KIND", "ACTOR", "IP", "SUBJECT"
            );
            for e in store::audit::recent(conn, &realm.id, limit)? {
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
        Command::Session(SessionCommand::Notices { realm, sid }) => {
            list_notices(conn, &realm, sid.as_deref())
        }
        Command::Session(SessionCommand::End { realm, sid }) => {
            report(actions::end_session(conn, &realm, &sid, &Actor::Cli)?)
        }
    }
}

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

fn read_password() -> Result<String, StartError> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| StartError::Failed(format!("cannot read the password from stdin: {e}")))?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

fn list_notices(
    conn: &mut store::DbConnection,
    realm: &str,
    sid: Option<&str>,
) -> Result<(), StartError> {
    let realm = realms::find(conn, realm)?;
    println!(
        "{:<24} {:<20} {:<10} {:>8} {:>15} ERROR",
        "SID", "CLIENT", "STATUS", "ATTEMPTS", "NEXT_OR_DONE_MS"
    );
    for n in store::outbox::list(conn, &realm.id, sid, None, 200)? {
        let client = store::clients::find(conn, &n.client_id)?
            .map(|c| c.client_id)
            .unwrap_or(n.client_id);
        let when = n
            .delivered_at_ms
            .or(n.gave_up_at_ms)
            .unwrap_or(n.next_attempt_ms);
        println!(
            "{:<24} {:<20} {:<10} {:>8} {:>15} {}",
            n.session_id,
            client,
            n.status,
            n.attempts,
            when,
            n.last_error.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

fn list_sessions(
    conn: &mut store::DbConnection,
    realm: &str,
    user: Option<&str>,
) -> Result<(), StartError> {
    let realm = realms::find(conn, realm)?;
    let user_id = match user {
        Some(name) => Some(
            store::users::find_by_username(conn, &realm.id, &users::normalize_username(name)?)?
                .ok_or_else(|| Error::NotFound(format!("user `{name}`")))?
                .id,
        ),
        None => None,
    };
    let now = store::meta::database_now_ms(conn)?;
    println!(
        "{:<24} {:<34} {:>15} {:>15} {:<15} USER AGENT",
        "SID", "USER ID", "STARTED_MS", "LAST_SEEN_MS", "IP"
    );
    for s in store::sessions::list_live(conn, &realm.id, user_id.as_deref(), now)? {
        println!(
            "{:<24} {:<34} {:>15} {:>15} {:<15} {}",
            s.id,
            s.user_id,
            s.created_at_ms,
            s.last_seen_ms,
            s.ip.as_deref().unwrap_or("-"),
            s.user_agent.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

fn create_client(
    conn: &mut store::DbConnection,
    master: &crate::crypto::MasterKey,
    args: ClientCreateArgs,
) -> Result<(), StartError> {
    let realm = realms::find(conn, &args.realm)?;
    let credentials = match (args.public, args.secret) {
        (true, _) => Credentials::Public,
        (false, Some(secret)) => Credentials::Secret(secret),
        (false, None) => Credentials::GenerateSecret,
    };
    let grant_types = args
        .grant_types
        .iter()
        .map(|g| g.parse::<GrantType>())
        .collect::<Result<Vec<_>, Error>>()?;
    let (client, secret) = clients::create(
        conn,
        master,
        &realm,
        NewClient {
            client_id: args.client_id,
            credentials,
            redirect_uris: args.redirect_uris,
            post_logout_redirect_uris: args.post_logout_redirect_uris,
            grant_types,
            backchannel_logout_uri: args.backchannel_logout_uri,
            consent_required: args.consent_required,
            introspect_any: args.introspect_any,
            frontchannel_logout_uri: args.frontchannel_logout_uri,
        },
    )?;
    println!(
        "created client {} in realm {}",
        client.client_id, realm.name
    );
    if let Some(secret) = secret {
        println!("client secret (shown only now): {secret}");
    }
    Ok(())
}

fn create_user(conn: &mut store::DbConnection, args: UserCreateArgs) -> Result<(), StartError> {
    let realm = realms::find(conn, &args.realm)?;
    let password = if args.password_stdin {
        Some(read_password()?)
    } else {
        None
    };
    let user = users::create(
        conn,
        &realm,
        users::NewUser {
            username: args.username,
            email: args.email,
            first_name: args.first_name,
            last_name: args.last_name,
            password,
            temporary: false,
            skip_policy: false,
        },
    )?;
    println!("created user {} in realm {}", user.username, realm.name);
    Ok(())
}
