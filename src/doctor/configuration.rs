//! What the settings say: the file they came from, the public URL, TLS.
//! Settings that do not load never get here (the command stops first,
//! naming the setting, with exit code 2).

use std::path::Path;

use openssl::asn1::Asn1Time;
use openssl::x509::X509;

use super::Check;
use crate::config::Settings;

/// A certificate this close to its end is worth a warning.
const CERT_WARN_DAYS: i32 = 14;

pub(super) fn checks(settings: &Settings, config_file: Option<&Path>) -> Vec<Check> {
    vec![
        config_file_check(config_file),
        public_url(settings),
        tls(settings),
    ]
}

fn config_file_check(config_file: Option<&Path>) -> Check {
    match config_file {
        Some(path) => Check::ok(
            "config",
            format!("{} (under LATCH_* variables and flags)", path.display()),
        ),
        None => Check::ok(
            "config",
            "no file: defaults under LATCH_* variables and flags",
        ),
    }
}

/// The issuer's base. Plain HTTP is fine on this machine; anywhere else
/// tokens and session cookies would cross the network in clear.
fn public_url(settings: &Settings) -> Check {
    let listen = settings.listen.clone();
    let base = settings
        .listen_addr()
        .map(|addr| settings.public_base_for(addr))
        .unwrap_or_else(|_| listen.clone());
    let origin = match &settings.public_base {
        Some(_) => "public_base".to_string(),
        None => format!("derived from listen {listen}"),
    };
    let local = url::Url::parse(&base).is_ok_and(|url| match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    });
    if base.starts_with("http://") && !local {
        return Check::warn(
            "public URL",
            format!(
                "{base} ({origin}) is plain HTTP off this machine: serve TLS, or set \
                 public_base to the https address of the proxy in front"
            ),
        );
    }
    Check::ok("public URL", format!("{base} ({origin})"))
}

fn tls(settings: &Settings) -> Check {
    let (Some(cert), Some(key)) = (&settings.tls_cert, &settings.tls_key) else {
        let behind = settings
            .public_base
            .as_deref()
            .is_some_and(|base| base.starts_with("https://"));
        return Check::ok(
            "TLS",
            if behind {
                "off here: TLS ends at the proxy in front (public URL is https)"
            } else {
                "off: plain HTTP"
            },
        );
    };
    if let Err(e) = std::fs::read(key) {
        return Check::fail("TLS", format!("cannot read key {}: {e}", key.display()));
    }
    match certificate_days_left(cert) {
        Err(e) => Check::fail("TLS", e),
        Ok((days, until)) if days < 0 => Check::fail(
            "TLS",
            format!("certificate {} expired on {until}", cert.display()),
        ),
        Ok((days, until)) if days < CERT_WARN_DAYS => Check::warn(
            "TLS",
            format!(
                "certificate {} expires in {days} day(s), on {until}",
                cert.display()
            ),
        ),
        Ok((_, until)) => Check::ok(
            "TLS",
            format!(
                "on: certificate {} (until {until}), key {}",
                cert.display(),
                key.display()
            ),
        ),
    }
}

/// Whole days until the first certificate in the PEM file expires
/// (negative once it has), and that date.
fn certificate_days_left(path: &Path) -> Result<(i32, String), String> {
    let unreadable = |e: String| format!("certificate {}: {e}", path.display());
    let pem = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    let cert = X509::from_pem(&pem).map_err(|e| unreadable(e.to_string()))?;
    let now = Asn1Time::days_from_now(0).map_err(|e| unreadable(e.to_string()))?;
    let left = now
        .diff(cert.not_after())
        .map_err(|e| unreadable(e.to_string()))?;
    let days = if left.days == 0 && left.secs < 0 {
        -1
    } else {
        left.days
    };
    Ok((days, cert.not_after().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    fn settings(listen: &str, public_base: Option<&str>) -> Settings {
        Settings {
            listen: listen.into(),
            public_base: public_base.map(String::from),
            ..Settings::default()
        }
    }

    #[test]
    fn plain_http_is_fine_on_this_machine_only() {
        let local = public_url(&settings("127.0.0.1:8080", None));
        assert_eq!(local.status, Status::Ok, "{local:?}");
        let exposed = public_url(&settings("0.0.0.0:8080", Some("http://id.example.com")));
        assert_eq!(exposed.status, Status::Warn, "{exposed:?}");
        let proxied = public_url(&settings("0.0.0.0:8080", Some("https://id.example.com")));
        assert_eq!(proxied.status, Status::Ok, "{proxied:?}");
        assert!(
            tls(&settings("0.0.0.0:8080", Some("https://id.example.com")))
                .detail
                .contains("proxy")
        );
    }
}
