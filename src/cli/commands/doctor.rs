//! `latch doctor`: prints each check as it is made, then the verdict as
//! the exit code (0 all OK, 1 a failure, 3 warnings only).

use clap::Parser;

use crate::cli::args::Cli;
use crate::config::{self, Settings};
use crate::doctor::{self, Check, Status};
use crate::setup::StartError;

pub fn doctor(settings: &Settings) -> Result<(), StartError> {
    // The global `--config` stays behind in `Cli` when the command is
    // dispatched: read it again exactly as clap did (flag, then
    // LATCH_CONFIG), so the report names the file the settings came from.
    let explicit = Cli::try_parse().ok().and_then(|cli| cli.config);
    let config_file = config::config_file(explicit.as_deref());
    let checks = doctor::examine(settings, config_file.as_deref(), &mut |check| {
        println!("{:<5} {:<14} {}", check.status, check.subject, check.detail);
    });
    verdict(&checks)
}

/// The worst status decides; the message names the checks that earned it.
fn verdict(checks: &[Check]) -> Result<(), StartError> {
    let named = |status: Status| {
        checks
            .iter()
            .filter(|c| c.status == status)
            .map(|c| c.subject.as_str())
            .collect::<Vec<_>>()
    };
    let failed = named(Status::Fail);
    if !failed.is_empty() {
        return Err(StartError::Failed(format!(
            "{} check(s) failed: {}",
            failed.len(),
            failed.join(", ")
        )));
    }
    let warned = named(Status::Warn);
    if !warned.is_empty() {
        return Err(StartError::Warned(format!(
            "{} check(s) warn: {}",
            warned.len(),
            warned.join(", ")
        )));
    }
    Ok(())
}
