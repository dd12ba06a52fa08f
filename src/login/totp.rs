//! Time-based one-time passwords (RFC 6238) as Keycloak configures them:
//! the realm's OTP policy, a credential's parameters, the `otpauth://` URI
//! authenticator apps read, its QR code, and the check of a code. Pure
//! Rust: the store keeps the secret (sealed) and the steps already used.

use serde::{Deserialize, Serialize};
use totp_rs::{Algorithm, Secret, TOTP};

use crate::store::realms::Realm;

/// Bytes of a new secret: 160 bits, as RFC 4226 §4 recommends.
pub const SECRET_LEN: usize = 20;

/// Keycloak's algorithm names.
pub const ALGORITHMS: [&str; 3] = ["HmacSHA1", "HmacSHA256", "HmacSHA512"];

/// A credential's parameters, stored as its public `credentialData`
/// (Keycloak's shape: `{"subType":"totp","digits":6,"period":30,
/// "algorithm":"HmacSHA1","counter":0}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OtpParams {
    #[serde(default = "totp_subtype")]
    pub sub_type: String,
    pub digits: u32,
    pub period: u64,
    pub algorithm: String,
    #[serde(default)]
    pub counter: u64,
}

fn totp_subtype() -> String {
    "totp".into()
}

impl OtpParams {
    /// What a credential enrolled now gets from the realm's policy.
    pub fn of(realm: &Realm) -> OtpParams {
        OtpParams {
            sub_type: totp_subtype(),
            digits: u32::try_from(realm.otp_policy_digits).unwrap_or(6),
            period: u64::try_from(realm.otp_policy_period).unwrap_or(30),
            algorithm: realm.otp_policy_algorithm.clone(),
            counter: 0,
        }
    }

    /// Whether Latch can check codes with these parameters.
    pub fn check(&self) -> Result<(), String> {
        if self.sub_type != "totp" {
            return Err(format!(
                "OTP type `{}` is not supported (only totp)",
                self.sub_type
            ));
        }
        check_policy(
            &self.algorithm,
            i64::from(self.digits),
            self.period as i64,
            0,
        )
    }

    fn algorithm(&self) -> Algorithm {
        match self.algorithm.as_str() {
            "HmacSHA256" => Algorithm::SHA256,
            "HmacSHA512" => Algorithm::SHA512,
            _ => Algorithm::SHA1,
        }
    }

    fn generator(&self, secret: &[u8]) -> TOTP {
        // `new_unchecked`: RFC 4226 asks for 128-bit secrets, but an
        // imported Keycloak secret may be shorter; digits and period were
        // checked (`check`) before any credential was stored.
        TOTP::new_unchecked(
            self.algorithm(),
            self.digits as usize,
            0,
            self.period.max(1),
            secret.to_vec(),
        )
    }
}

/// A realm's OTP policy as Keycloak spells it; refused when Latch could
/// not check such codes.
pub fn check_policy(
    algorithm: &str,
    digits: i64,
    period: i64,
    look_ahead: i64,
) -> Result<(), String> {
    if !ALGORITHMS.contains(&algorithm) {
        return Err(format!(
            "otpPolicyAlgorithm must be one of {}",
            ALGORITHMS.join(", ")
        ));
    }
    if !(6..=8).contains(&digits) {
        return Err("otpPolicyDigits must be 6, 7 or 8".into());
    }
    if !(1..=300).contains(&period) {
        return Err("otpPolicyPeriod must be 1-300 seconds".into());
    }
    if !(0..=10).contains(&look_ahead) {
        return Err("otpPolicyLookAheadWindow must be 0-10".into());
    }
    Ok(())
}

/// A new random secret.
pub fn new_secret() -> Vec<u8> {
    crate::crypto::random_bytes::<SECRET_LEN>().to_vec()
}

/// The secret as authenticator apps take it typed in: base32 (RFC 4648).
pub fn base32(secret: &[u8]) -> String {
    match Secret::Raw(secret.to_vec()).to_encoded() {
        Secret::Encoded(text) => text.trim_end_matches('=').to_string(),
        Secret::Raw(_) => String::new(),
    }
}

/// Reads a base32 secret (Keycloak's `secretEncoding: BASE32`).
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let clean: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .collect::<String>()
        .to_ascii_uppercase();
    Secret::Encoded(clean).to_bytes().ok()
}

/// The key URI authenticator apps read from the QR code
/// (`otpauth://totp/Issuer:account?secret=…&issuer=…`).
pub fn otpauth_uri(secret: &[u8], params: &OtpParams, issuer: &str, account: &str) -> String {
    let label = format!("{issuer}:{account}");
    let mut uri = url::Url::parse("otpauth://totp/").unwrap_or_else(|_| unreachable!());
    uri.set_path(&label);
    let algorithm = params.algorithm.trim_start_matches("Hmac");
    uri.query_pairs_mut()
        .append_pair("secret", &base32(secret))
        .append_pair("digits", &params.digits.to_string())
        .append_pair("algorithm", algorithm)
        .append_pair("issuer", issuer)
        .append_pair("period", &params.period.to_string());
    uri.to_string()
}

/// The URI as a QR code: an SVG drawn here, so the page needs no script.
pub fn qr_svg(uri: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    )
}

/// How a presented code reads.
#[derive(Debug, PartialEq, Eq)]
pub enum Shape {
    /// Digits, as many as the credential's.
    Code(String),
    /// Not a code of this credential: letters, the wrong length, empty.
    Malformed,
}

/// Spaces and dashes that apps show inside codes are ignored.
pub fn shape(presented: &str, digits: u32) -> Shape {
    let code: String = presented
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if code.len() == digits as usize && code.bytes().all(|b| b.is_ascii_digit()) {
        Shape::Code(code)
    } else {
        Shape::Malformed
    }
}

/// The time step whose code `code` is, within `look_ahead` steps of now
/// (RFC 6238 §5.2); every step of the window is computed and compared in
/// constant time, so the answer's timing says nothing of which matched.
pub fn matching_step(
    secret: &[u8],
    params: &OtpParams,
    code: &str,
    now_s: i64,
    look_ahead: i64,
) -> Option<i64> {
    let generator = params.generator(secret);
    let period = params.period.max(1) as i64;
    let current = now_s.max(0) / period;
    let mut found = None;
    for step in (current - look_ahead).max(0)..=current + look_ahead {
        let expected = generator.generate((step * period) as u64);
        if crate::crypto::constant_time_eq(expected.as_bytes(), code.as_bytes()) && found.is_none()
        {
            found = Some(step);
        }
    }
    found
}

/// The code of `step` (for tests and the enrolment check).
pub fn code_at(secret: &[u8], params: &OtpParams, time_s: i64) -> String {
    params.generator(secret).generate(time_s.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(algorithm: &str, digits: u32) -> OtpParams {
        OtpParams {
            sub_type: "totp".into(),
            digits,
            period: 30,
            algorithm: algorithm.into(),
            counter: 0,
        }
    }

    #[test]
    fn rfc_6238_appendix_b_vectors() {
        let sha1 = b"12345678901234567890";
        let sha256 = b"12345678901234567890123456789012";
        let sha512 = b"1234567890123456789012345678901234567890123456789012345678901234";
        for (time, one, two, five) in [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (20000000000, "65353130", "77737706", "47863826"),
        ] {
            assert_eq!(code_at(sha1, &params("HmacSHA1", 8), time), one);
            assert_eq!(code_at(sha256, &params("HmacSHA256", 8), time), two);
            assert_eq!(code_at(sha512, &params("HmacSHA512", 8), time), five);
        }
    }

    #[test]
    fn a_code_matches_its_step_within_the_window_only() {
        let secret = new_secret();
        let p = params("HmacSHA1", 6);
        let now = 1_800_000_000;
        let previous = code_at(&secret, &p, now - 30);
        assert_eq!(
            matching_step(&secret, &p, &previous, now, 1),
            Some(now / 30 - 1)
        );
        assert_eq!(matching_step(&secret, &p, &previous, now, 0), None);
        let old = code_at(&secret, &p, now - 90);
        assert_eq!(matching_step(&secret, &p, &old, now, 1), None);
    }

    #[test]
    fn codes_are_read_leniently_but_only_as_digits() {
        assert_eq!(shape(" 123 456 ", 6), Shape::Code("123456".into()));
        assert_eq!(shape("12345", 6), Shape::Malformed);
        assert_eq!(shape("12345a", 6), Shape::Malformed);
        assert_eq!(shape("", 6), Shape::Malformed);
    }

    #[test]
    fn the_uri_carries_the_secret_in_base32() {
        let secret = b"12345678901234567890".to_vec();
        let uri = otpauth_uri(&secret, &params("HmacSHA1", 6), "demo", "alice");
        assert!(
            uri.starts_with("otpauth://totp/demo:alice?secret="),
            "{uri}"
        );
        let b32 = base32(&secret);
        assert_eq!(from_base32(&b32), Some(secret));
        assert!(qr_svg(&uri).is_some_and(|svg| svg.contains("<svg")));
    }
}
