//! `latch doctor`: a deployment's health on one screen. Each check reads
//! and never writes (no migration, no key file, no recorded key check), so
//! it is safe beside running nodes and on a database it finds broken.
//! The command line prints the checks; this module only makes them.

mod configuration;
mod database;
mod keyring;

use std::fmt;
use std::path::Path;
use std::time::Duration;

use crate::config::Settings;

/// How long Redis may take to answer before it counts as unreachable.
const REDIS_TIMEOUT: Duration = Duration::from_secs(2);

/// A check's verdict, in rising order of trouble.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad`, not `write_str`: the command line aligns these in columns.
        f.pad(match self {
            Status::Ok => "OK",
            Status::Warn => "WARN",
            Status::Fail => "FAIL",
        })
    }
}

/// One line of the report: what was checked, the verdict, and what was
/// found (never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub status: Status,
    pub subject: String,
    pub detail: String,
}

impl Check {
    fn new(status: Status, subject: impl Into<String>, detail: impl Into<String>) -> Check {
        Check {
            status,
            subject: subject.into(),
            detail: detail.into(),
        }
    }

    pub(crate) fn ok(subject: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(Status::Ok, subject, detail)
    }

    pub(crate) fn warn(subject: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(Status::Warn, subject, detail)
    }

    pub(crate) fn fail(subject: impl Into<String>, detail: impl Into<String>) -> Check {
        Check::new(Status::Fail, subject, detail)
    }
}

/// Runs every check in turn, handing each to `report` as soon as it is
/// made (a database that does not answer takes a while to say so), and
/// returns them all. `config_file` is the file the settings came from.
pub fn examine(
    settings: &Settings,
    config_file: Option<&Path>,
    report: &mut dyn FnMut(&Check),
) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut note = |check: Check| {
        report(&check);
        checks.push(check);
    };
    for check in configuration::checks(settings, config_file) {
        note(check);
    }
    note(redis(settings));
    match database::open(settings) {
        Ok((store, check)) => {
            note(check);
            database::inspect(settings, &store, &mut note);
        }
        Err(check) => note(check),
    }
    checks
}

/// Redis is optional: without it nodes learn of revocations from their
/// poll of the log. Configured but silent is a failure all the same, since
/// the deployment then runs slower than it was set up to.
fn redis(settings: &Settings) -> Check {
    let poll = settings.revocation_poll_ms;
    let Some(url) = &settings.redis else {
        return Check::ok(
            "redis",
            format!("not configured: nodes learn of revocations from the log every {poll} ms"),
        );
    };
    let shown = redacted(url);
    match crate::revocation::fanout::ping(url, REDIS_TIMEOUT) {
        Ok(took) => Check::ok(
            "redis",
            format!("{shown} answers PING ({} ms)", took.as_millis()),
        ),
        Err(e) => Check::fail(
            "redis",
            format!(
                "{shown} does not answer: {e} (revocations reach other nodes only through \
                 their poll of the log, every {poll} ms)"
            ),
        ),
    }
}

/// A URL with its password hidden.
fn redacted(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden_from_urls() {
        assert_eq!(
            redacted("redis://:hunter2@cache:6379/0"),
            "redis://:***@cache:6379/0"
        );
        assert_eq!(redacted("redis://cache:6379"), "redis://cache:6379");
    }

    #[test]
    fn failure_outranks_warning_outranks_ok() {
        assert!(Status::Fail > Status::Warn && Status::Warn > Status::Ok);
        assert_eq!(format!("{:<5}|", Status::Ok), "OK   |");
    }
}
