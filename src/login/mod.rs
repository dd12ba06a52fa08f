//! The browser side of signing in: sessions, CSRF, password checks.

pub mod credentials;
pub mod csrf;
pub mod password;
pub mod password_pool;
pub mod policy;
pub mod session;
