//! Small cryptographic helpers: randomness, hashing, constant-time comparison
//! and the master key that protects secrets at rest.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::rng().fill_bytes(&mut out);
    out
}

/// A random value of `N` bytes, base64url without padding.
pub fn random_token<const N: usize>() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<N>())
}

/// A random 128-bit identifier, lowercase hex (for row ids).
pub fn random_id() -> String {
    hex::encode(random_bytes::<16>())
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

pub fn b64url(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    #[error(
        "LATCH_MASTER_KEY must be 32 bytes written as 64 hex digits, or as base64 \
         (standard or URL-safe alphabet, with or without `=` padding, e.g. from \
         `openssl rand -base64 32` or `openssl rand -hex 32`)"
    )]
    Malformed,
    #[error("a secret could not be decrypted with this master key")]
    Decrypt,
}

/// The server's master key. Subkeys for each purpose are derived with HKDF,
/// so one secret protects signing keys, peppers client secrets, and so on.
#[derive(Clone)]
pub struct MasterKey {
    key: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub fn generate() -> MasterKey {
        MasterKey {
            key: random_bytes::<32>(),
        }
    }

    pub fn parse(text: &str) -> Result<MasterKey, MasterKeyError> {
        let text = text.trim();
        // 64 hex digits, or 32 bytes of base64 in either alphabet: the two
        // alphabets differ only in `+/` and `-_`, so no text reads as two keys.
        let bytes = if text.len() == 64 {
            hex::decode(text).map_err(|_| MasterKeyError::Malformed)?
        } else {
            let unpadded = text.trim_end_matches('=');
            let engine = if unpadded.contains(['+', '/']) {
                &base64::engine::general_purpose::STANDARD_NO_PAD
            } else {
                &URL_SAFE_NO_PAD
            };
            engine
                .decode(unpadded)
                .map_err(|_| MasterKeyError::Malformed)?
        };
        let key: [u8; 32] = bytes.try_into().map_err(|_| MasterKeyError::Malformed)?;
        Ok(MasterKey { key })
    }

    pub fn encode(&self) -> String {
        hex::encode(self.key)
    }

    /// A 32-byte subkey for one purpose (HKDF-SHA-256, RFC 5869).
    pub fn derive(&self, purpose: &str) -> [u8; 32] {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"latch master key"), &self.key);
        let mut out = [0u8; 32];
        // 32 bytes is far below HKDF's limit of 255 * 32, so this cannot fail.
        hk.expand(purpose.as_bytes(), &mut out)
            .unwrap_or_else(|_| unreachable!());
        out
    }

    /// A value stored in the database to recognise the key on later starts.
    pub fn check_value(&self) -> String {
        hex::encode(hmac_sha256(&self.derive("key check"), b"latch"))
    }

    /// AES-256-GCM under the subkey for `purpose`; `aad` binds the ciphertext
    /// to its row (a key id), so ciphertexts cannot be swapped between rows.
    pub fn seal(&self, purpose: &str, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let cipher =
            Aes256Gcm::new_from_slice(&self.derive(purpose)).unwrap_or_else(|_| unreachable!());
        let nonce = random_bytes::<12>();
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .unwrap_or_else(|_| unreachable!());
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        out
    }

    /// [`seal`](Self::seal) for a value that travels in a cookie or a form:
    /// JSON, sealed, base64url.
    pub fn seal_value<T: serde::Serialize>(&self, purpose: &str, aad: &[u8], value: &T) -> String {
        let json = serde_json::to_vec(value).unwrap_or_default();
        b64url(&self.seal(purpose, aad, &json))
    }

    /// Opens what [`seal_value`](Self::seal_value) made; `None` when it was
    /// altered, made for another purpose or binding, or is not valid.
    pub fn open_value<T: serde::de::DeserializeOwned>(
        &self,
        purpose: &str,
        aad: &[u8],
        text: &str,
    ) -> Option<T> {
        let sealed = URL_SAFE_NO_PAD.decode(text).ok()?;
        let json = self.open(purpose, aad, &sealed).ok()?;
        serde_json::from_slice(&json).ok()
    }

    pub fn open(
        &self,
        purpose: &str,
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Vec<u8>, MasterKeyError> {
        if sealed.len() < 12 + 16 {
            return Err(MasterKeyError::Decrypt);
        }
        let cipher = Aes256Gcm::new_from_slice(&self.derive(purpose))
            .map_err(|_| MasterKeyError::Decrypt)?;
        let (nonce, body) = sealed.split_at(12);
        cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
            .map_err(|_| MasterKeyError::Decrypt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_the_same_key_and_row() {
        let key = MasterKey::generate();
        let sealed = key.seal("signing key", b"kid-1", b"secret");
        assert_eq!(
            key.open("signing key", b"kid-1", &sealed).unwrap(),
            b"secret"
        );
        assert!(key.open("signing key", b"kid-2", &sealed).is_err());
        assert!(MasterKey::generate()
            .open("signing key", b"kid-1", &sealed)
            .is_err());
    }

    #[test]
    fn master_key_round_trips_through_text() {
        let key = MasterKey::generate();
        let again = MasterKey::parse(&key.encode()).unwrap();
        assert_eq!(key.check_value(), again.check_value());
        assert!(MasterKey::parse("short").is_err());
    }

    #[test]
    fn master_key_reads_every_unambiguous_encoding() {
        let key = MasterKey::parse(&"fb".repeat(32)).unwrap();
        let bytes = [0xfbu8; 32]; // `+/v7…` in the standard alphabet, `-_v7…` in the URL-safe one
        use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
        for text in [
            STANDARD.encode(bytes),
            STANDARD_NO_PAD.encode(bytes),
            URL_SAFE.encode(bytes),
            URL_SAFE_NO_PAD.encode(bytes),
            format!("{}\n", STANDARD.encode(bytes)),
        ] {
            let again = MasterKey::parse(&text).unwrap();
            assert_eq!(key.check_value(), again.check_value(), "{text}");
        }
        let message = MasterKey::parse("not a key").unwrap_err().to_string();
        assert!(
            message.contains("hex") && message.contains("base64"),
            "{message}"
        );
        assert!(MasterKey::parse(&STANDARD.encode([1u8; 31])).is_err());
    }
}
