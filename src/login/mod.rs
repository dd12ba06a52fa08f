//! Signing in: password checks, sessions, consent, password policy. Plain
//! Rust over the store; the pages that show it are `crate::pages`.

pub mod consent;
pub mod credentials;
pub mod password;
pub mod password_pool;
pub mod policy;
pub mod second_factor;
pub mod session;
pub mod totp;
