//! The command line's words: commands, subcommands and flags.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

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
    /// Copy the embedded database, consistently, while it serves.
    Backup {
        /// Where the copy goes (never overwritten); the master key file,
        /// when the key lives in one, is copied beside it as FILE.key.
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Put a backup in place of the embedded database (refused while a
    /// server serves it, or when the master key does not open it).
    Restore {
        #[arg(long)]
        from: std::path::PathBuf,
    },
    /// Check this deployment, one line per check: settings, database and
    /// schema, Redis, master key, clock, every realm's signing keys. Exits
    /// 0 when all is well, 1 when a check fails, 3 on warnings only.
    Doctor,
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
    /// Remove the user's second factors (authenticator apps, recovery
    /// codes); the sessions that used one end.
    ResetSecondFactor(UserRef),
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
