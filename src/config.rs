//! Settings, layered: defaults < `latch.toml` < `LATCH_*` environment < flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};

use crate::store::DatabaseUrl;

/// Every setting the server reads. Field names are the keys of `latch.toml`;
/// each has an environment twin `LATCH_<NAME>` (upper case).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address and port to listen on.
    pub listen: String,
    /// Base URL of the issuer; derived from `listen` when unset.
    pub public_base: Option<String>,
    /// `sqlite://PATH` or `postgres://USER@HOST/DB`.
    pub database: String,
    /// Redis for cross-node fan-out (optional).
    pub redis: Option<String>,
    /// How often a node reads new events from the database log.
    pub revocation_poll_ms: u64,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Protects secrets at rest; see README.
    pub master_key: Option<String>,
    /// Password for the `master` realm's `admin` user, used on first start.
    pub admin_password: Option<String>,
    /// `text` or `json`.
    pub log_format: String,
    /// Database connections per node.
    pub pool_size: u32,
    /// HTTP worker threads (0 = one per core).
    pub workers: usize,
    /// Create the demo realm, client and user at start.
    pub demo: bool,
    /// Redis pub/sub channel for fan-out (one per cluster).
    pub redis_channel: String,
    /// How long back-channel logout delivery is retried before giving up.
    pub backchannel_horizon_s: u64,
    /// Let Latch reach loopback, private and unspecified addresses when it
    /// calls an address someone else registered (back-channel logout URIs).
    /// Off by default: such a URI could reach what only Latch can. Link-local
    /// and cloud-metadata addresses stay refused either way.
    pub outbound_allow_private_networks: bool,
    /// Allow the password grant (RFC 6749 §4.3) for clients that enable it
    /// — by default only realm `master`'s `admin-cli`, as in Keycloak.
    /// RFC 9700 §2.4 says it must not be used; set `false` to refuse it.
    pub password_grant: bool,
    /// Consecutive failed sign-ins that lock an account (0: never).
    pub lockout_threshold: u32,
    /// The first lockout's length; each further one doubles, up to the max.
    pub lockout_first_s: u64,
    pub lockout_max_s: u64,
    /// Failed sign-ins one IP may make per minute, across users (0: no limit).
    pub login_failures_per_ip_per_min: u32,
    /// Failed client authentications per client and IP per minute (0: no limit).
    pub client_auth_failures_per_min: u32,
    /// Unauthenticated requests (sign-in forms, public clients at the token,
    /// revocation and introspection endpoints) per IP per second, with
    /// bursts of five times that (0: no limit).
    pub unauthenticated_per_ip_per_s: u32,
    /// Seconds a token's `iat` or `nbf` may lie in the future (clock skew).
    pub clock_leeway_s: i64,
    /// After SIGTERM, how long the node keeps serving with readiness false
    /// (so a load balancer moves traffic away) before it stops accepting.
    pub drain_delay_ms: u64,
    /// How long requests in flight may take to finish once the node stops.
    pub shutdown_timeout_s: u64,
    /// Fault injection for tests: this node's clock runs ahead by this much.
    pub simulate_clock_skew_ms: i64,
    /// Fault injection for tests: drop one published fan-out message in N.
    pub simulate_fanout_loss_one_in: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            public_base: None,
            database: "sqlite://latch.db".into(),
            redis: None,
            revocation_poll_ms: 500,
            tls_cert: None,
            tls_key: None,
            master_key: None,
            admin_password: None,
            log_format: "text".into(),
            pool_size: 8,
            workers: 0,
            demo: false,
            redis_channel: "latch:revocations".into(),
            backchannel_horizon_s: 24 * 3600,
            outbound_allow_private_networks: false,
            password_grant: true,
            lockout_threshold: 10,
            lockout_first_s: 60,
            lockout_max_s: 900,
            login_failures_per_ip_per_min: 30,
            client_auth_failures_per_min: 10,
            unauthenticated_per_ip_per_s: 50,
            clock_leeway_s: 30,
            drain_delay_ms: 2_000,
            shutdown_timeout_s: 10,
            simulate_clock_skew_ms: 0,
            simulate_fanout_loss_one_in: 0,
        }
    }
}

/// Settings given on the command line; `None` leaves the lower layers alone.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_base: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_poll_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demo: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outbound_allow_private_networks: Option<bool>,
}

/// A setting is wrong; the message names it. The process exits with code 2.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

const ENV_KEYS: &[&str] = &[
    "listen",
    "public_base",
    "database",
    "redis",
    "revocation_poll_ms",
    "tls_cert",
    "tls_key",
    "master_key",
    "admin_password",
    "log_format",
    "pool_size",
    "workers",
    "demo",
    "redis_channel",
    "backchannel_horizon_s",
    "outbound_allow_private_networks",
    "password_grant",
    "lockout_threshold",
    "lockout_first_s",
    "lockout_max_s",
    "login_failures_per_ip_per_min",
    "client_auth_failures_per_min",
    "unauthenticated_per_ip_per_s",
    "clock_leeway_s",
    "drain_delay_ms",
    "shutdown_timeout_s",
];

/// The configuration file `Settings::load` reads: the explicit one, or
/// `latch.toml` in the working directory when there is one.
pub fn config_file(explicit: Option<&Path>) -> Option<PathBuf> {
    match explicit {
        Some(path) => Some(path.to_path_buf()),
        None => Some(PathBuf::from("latch.toml")).filter(|path| path.is_file()),
    }
}

impl Settings {
    /// Loads the layers. `file` is an explicit `--config`; without one,
    /// `latch.toml` in the working directory is read when present.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Settings, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = file.filter(|path| !path.exists()) {
            return Err(ConfigError(format!(
                "config file {} does not exist",
                path.display()
            )));
        }
        if let Some(path) = config_file(file) {
            figment = figment.merge(Toml::file_exact(path));
        }
        let env = Env::prefixed("LATCH_")
            .map(|key| {
                if key == "database_url" {
                    "database".into()
                } else {
                    key.into()
                }
            })
            .filter(|key| {
                ENV_KEYS
                    .iter()
                    .any(|k| key.as_str().eq_ignore_ascii_case(k))
            });
        let settings: Settings = figment
            .merge(env)
            .merge(Serialized::defaults(overrides))
            .extract()
            .map_err(|e| ConfigError(describe(e)))?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        self.database_url()?;
        if let Some(base) = &self.public_base {
            let url = url::Url::parse(base)
                .map_err(|e| ConfigError(format!("public_base: `{base}` is not a URL ({e})")))?;
            if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
                return Err(ConfigError(format!(
                    "public_base: `{base}` must be an http(s) URL without query"
                )));
            }
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) => return Err(ConfigError("tls_key: required with tls_cert".into())),
            (None, Some(_)) => return Err(ConfigError("tls_cert: required with tls_key".into())),
            _ => {}
        }
        for (name, path) in [("tls_cert", &self.tls_cert), ("tls_key", &self.tls_key)] {
            if let Some(path) = path {
                if !path.is_file() {
                    return Err(ConfigError(format!(
                        "{name}: file {} does not exist",
                        path.display()
                    )));
                }
            }
        }
        if self.revocation_poll_ms == 0 || self.revocation_poll_ms > 60_000 {
            return Err(ConfigError(
                "revocation_poll_ms: must be between 1 and 60000".into(),
            ));
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(ConfigError(format!(
                "log_format: `{}` is not one of text, json",
                self.log_format
            )));
        }
        if let Some(redis) = &self.redis {
            if !redis.starts_with("redis://") && !redis.starts_with("rediss://") {
                return Err(ConfigError(format!(
                    "redis: `{redis}` is not a redis:// URL"
                )));
            }
        }
        Ok(())
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|_| {
            ConfigError(format!(
                "listen: `{}` is not an address like 127.0.0.1:8080",
                self.listen
            ))
        })
    }

    pub fn database_url(&self) -> Result<DatabaseUrl, ConfigError> {
        DatabaseUrl::parse(&self.database).map_err(|e| ConfigError(format!("database: {e}")))
    }

    /// What the outbound HTTP client may reach.
    pub fn outbound_policy(&self) -> crate::outbound::Policy {
        crate::outbound::Policy {
            allow_private_networks: self.outbound_allow_private_networks,
        }
    }

    pub fn tls_enabled(&self) -> bool {
        self.tls_cert.is_some()
    }

    /// The base URL issuers are built on, without a trailing slash.
    pub fn public_base_for(&self, bound: SocketAddr) -> String {
        match &self.public_base {
            Some(base) => base.trim_end_matches('/').to_string(),
            None => {
                let scheme = if self.tls_enabled() { "https" } else { "http" };
                format!("{scheme}://{bound}")
            }
        }
    }
}

/// Figment's errors name the key and the source; keep them on one line.
fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|e| {
            let key = e.path.join(".");
            let source = e
                .metadata
                .as_ref()
                .map(|m| {
                    format!(
                        " (from {})",
                        m.source
                            .as_ref()
                            .map(|s| s.to_string())
                            .unwrap_or_else(|| m.name.to_string())
                    )
                })
                .unwrap_or_default();
            let kind = e.kind.to_string().replace('\n', " ");
            if key.is_empty() {
                format!("{kind}{source}")
            } else {
                format!("{key}: {kind}{source}")
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}
