//! Password hashing: argon2id with OWASP's recommended parameters
//! (19 MiB of memory, 2 passes, 1 lane), stored as a PHC string.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::crypto::random_bytes;
use crate::error::Error;

fn hasher() -> Result<Argon2<'static>, Error> {
    let params = Params::new(19 * 1024, 2, 1, None)
        .map_err(|e| Error::Invalid(format!("argon2 parameters: {e}")))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub fn hash(password: &str) -> Result<String, Error> {
    let salt = random_bytes::<16>();
    let hash = hasher()?
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|e| Error::Invalid(format!("cannot hash password: {e}")))?;
    Ok(hash.to_string())
}

/// The prefix of PBKDF2 hashes imported from Keycloak:
/// `$pbkdf2-<digest>$i=<iterations>$<salt b64>$<hash b64>`.
const PBKDF2: &str = "$pbkdf2";

/// A hash imported from Keycloak (PBKDF2), to be replaced by argon2id at
/// the user's next sign-in.
pub fn needs_upgrade(stored: &str) -> bool {
    stored.starts_with(PBKDF2)
}

/// Keycloak's PBKDF2 credential in Latch's stored form. `digest` is
/// `sha256` or `sha512` (Keycloak's `pbkdf2-sha256` and `pbkdf2-sha512`).
pub fn pbkdf2_stored(digest: &str, iterations: u32, salt: &[u8], hash: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        "{PBKDF2}-{digest}$i={iterations}${}${}",
        b64.encode(salt),
        b64.encode(hash)
    )
}

fn verify_pbkdf2(password: &str, stored: &str) -> bool {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let parts: Vec<&str> = stored.split('$').collect();
    let [_, algorithm, iterations, salt, hash] = parts.as_slice() else {
        return false;
    };
    let (Some(iterations), Ok(salt), Ok(expected)) = (
        iterations
            .strip_prefix("i=")
            .and_then(|i| i.parse::<u32>().ok())
            .filter(|i| (1..=10_000_000).contains(i)),
        b64.decode(salt),
        b64.decode(hash),
    ) else {
        return false;
    };
    if expected.is_empty() || expected.len() > 128 {
        return false;
    }
    let mut derived = vec![0u8; expected.len()];
    let input = password.as_bytes();
    match *algorithm {
        "pbkdf2-sha256" => {
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(input, &salt, iterations, &mut derived)
        }
        "pbkdf2-sha512" => {
            pbkdf2::pbkdf2_hmac::<sha2::Sha512>(input, &salt, iterations, &mut derived)
        }
        _ => return false,
    }
    crate::crypto::constant_time_eq(&derived, &expected)
}

/// True when `password` matches the stored hash: an argon2 PHC string, or
/// an imported PBKDF2 hash. The parameters come from the stored hash, so
/// older hashes keep verifying after a change.
pub fn verify(password: &str, stored: &str) -> bool {
    if needs_upgrade(stored) {
        return verify_pbkdf2(password, stored);
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    match hasher() {
        Ok(argon) => argon.verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// What a check of an unknown user's password is made against, so it
/// takes as long as a wrong password and timing reveals nothing. Owned by
/// the hashing pool (no process-global state), hashed on first use.
pub fn dummy_hash() -> String {
    hash("dummy password for timing").unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_verify_only_the_right_password() {
        let stored = super::hash("correct horse").unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(super::verify("correct horse", &stored));
        assert!(!super::verify("wrong horse", &stored));
    }
}
