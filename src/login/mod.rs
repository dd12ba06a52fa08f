//! The browser side of signing in.

pub mod password;
