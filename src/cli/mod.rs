//! The command line: `latch serve` and the administrative subcommands.
//! Each command only parses and prints; the work is done by the same
//! operations the admin API and the console call.

mod args;
mod commands;

use std::io::Write;

pub use args::*;

use crate::config::{Overrides, Settings};
use crate::setup::StartError;
use crate::Application;

/// Runs a command; returns the process exit code.
pub fn run(cli: Cli) -> i32 {
    // OpenSSL first, without its exit-time clean-up (see the store's
    // `init_crypto_library`): libpq and josekit share it.
    openssl::init();
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
        command => commands::run_admin(&settings, command),
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

fn serve(mut settings: Settings) -> Result<(), StartError> {
    // A demo's relying parties run on this machine: let back-channel
    // logout reach them (the banner says so).
    if settings.demo {
        settings.outbound_allow_private_networks = true;
    }
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
            "\n  Latch demo is ready.\n    issuer:        {}\n    discovery:     {}/.well-known/openid-configuration\n    client id:     {}\n    client secret: {}\n    redirect URI:  {}\n    user:          {} / {}\n    outbound:      loopback and private addresses reachable (outbound_allow_private_networks, on for the demo)\n",
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
