//! Black-box tests: each starts a real server with a fresh database and
//! talks to it over HTTP (and runs the `latch` CLI against its database),
//! once on SQLite and once on PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

mod helpers;

mod access_check;
mod account;
mod admin;
mod attacks;
mod browser;
mod browser_apps;
mod chaos;
mod cli;
mod cluster;
mod compat_admin;
mod compat_keycloak_js;
mod compat_protocol;
mod compat_python;
mod defences;
mod discovery;
mod grants;
mod keys;
mod login;
mod memory;
mod notices;
mod operator;
mod passwords;
mod policy;
mod portability;
mod resource_server;
mod revocation;
mod roles;
mod scopes;
mod second_factor;
mod secrets;
mod status_list;
mod stream;
mod timeouts;
mod tls;
mod upgrade;
