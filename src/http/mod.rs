//! actix-web plumbing, shared by every front door: middleware (limits,
//! CORS, metrics), forms, cookies, JSON and HTML error rendering, health,
//! TLS. It knows no front door; `crate::routes` assembles them.

pub mod cookies;
pub mod cors;
pub mod csrf;
pub mod errors;
pub mod form;
pub mod health;
pub mod limits;
pub mod metrics;
pub mod pages;
pub mod peer;
pub mod query;
pub mod tls;
