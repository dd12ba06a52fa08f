//! The key ring a node holds in memory for one realm.

use josekit::jwk::Jwk;
use josekit::jws::{JwsSigner, JwsVerifier};

use super::{open_private, Alg};
use crate::crypto::MasterKey;
use crate::error::Error;
use crate::store::keys::KeyRow;

pub struct RingKey {
    pub kid: String,
    pub alg: Alg,
    pub status: String,
    pub public_jwk: Jwk,
    pub created_at_ms: i64,
    pub retire_after_ms: Option<i64>,
    signer: Option<Box<dyn JwsSigner>>,
    verifier: Box<dyn JwsVerifier>,
}

impl RingKey {
    fn load(row: &KeyRow, master: &MasterKey) -> Result<RingKey, Error> {
        let alg: Alg = row.alg.parse()?;
        let public_jwk = Jwk::from_bytes(row.public_jwk.as_bytes())?;
        let verifier: Box<dyn JwsVerifier> = match alg {
            Alg::ES256 => Box::new(josekit::jws::ES256.verifier_from_jwk(&public_jwk)?),
            Alg::RS256 => Box::new(josekit::jws::RS256.verifier_from_jwk(&public_jwk)?),
            Alg::EdDSA => Box::new(josekit::jws::EdDSA.verifier_from_jwk(&public_jwk)?),
        };
        let signer: Option<Box<dyn JwsSigner>> = if row.status == "active" {
            let der = open_private(master, row)?;
            Some(match alg {
                Alg::ES256 => Box::new(josekit::jws::ES256.signer_from_der(&der)?),
                Alg::RS256 => Box::new(josekit::jws::RS256.signer_from_der(&der)?),
                Alg::EdDSA => Box::new(josekit::jws::EdDSA.signer_from_der(&der)?),
            })
        } else {
            None
        };
        Ok(RingKey {
            kid: row.kid.clone(),
            alg,
            status: row.status.clone(),
            public_jwk,
            created_at_ms: row.created_at_ms,
            retire_after_ms: row.retire_after_ms,
            signer,
            verifier,
        })
    }

    /// Signs `message` (the JWS signing input). Only active keys sign.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        match &self.signer {
            Some(signer) => Ok(signer.sign(message)?),
            None => Err(Error::Key(format!("key {} does not sign", self.kid))),
        }
    }

    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verifier.verify(message, signature).is_ok()
    }

    /// An RSA key's public half as DER SubjectPublicKeyInfo (RFC 5280
    /// §4.1.2.7), the form Keycloak's realm document publishes; `None` for
    /// other algorithms.
    pub fn rsa_public_key_der(&self) -> Result<Option<Vec<u8>>, Error> {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use base64::Engine;
        if self.alg != Alg::RS256 {
            return Ok(None);
        }
        let part = |name: &str| -> Result<openssl::bn::BigNum, Error> {
            let text = self
                .public_jwk
                .parameter(name)
                .and_then(|v| v.as_str())
                .ok_or_else(|| Error::Key(format!("key {} has no `{name}`", self.kid)))?;
            let bytes = URL_SAFE_NO_PAD
                .decode(text)
                .map_err(|e| Error::Key(format!("key {}: `{name}`: {e}", self.kid)))?;
            openssl::bn::BigNum::from_slice(&bytes).map_err(|e| Error::Key(e.to_string()))
        };
        let rsa = openssl::rsa::Rsa::from_public_components(part("n")?, part("e")?)
            .map_err(|e| Error::Key(e.to_string()))?;
        let key = openssl::pkey::PKey::from_rsa(rsa).map_err(|e| Error::Key(e.to_string()))?;
        let der = key
            .public_key_to_der()
            .map_err(|e| Error::Key(e.to_string()))?;
        Ok(Some(der))
    }
}

/// The realm's live keys: the newest active key of each algorithm signs;
/// active and retiring keys verify.
#[derive(Default)]
pub struct KeyRing {
    keys: Vec<RingKey>,
}

impl KeyRing {
    pub fn load(rows: &[KeyRow], master: &MasterKey) -> Result<KeyRing, Error> {
        let keys = rows
            .iter()
            .filter(|row| row.status != "retired")
            .map(|row| RingKey::load(row, master))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(KeyRing { keys })
    }

    /// The key that signs new tokens of `alg`.
    pub fn signing_key(&self, alg: Alg) -> Option<&RingKey> {
        self.keys
            .iter()
            .rev()
            .find(|k| k.alg == alg && k.signer.is_some())
    }

    /// A key that may verify a token whose header names `kid`.
    pub fn verifying_key(&self, kid: &str) -> Option<&RingKey> {
        self.keys
            .iter()
            .find(|k| k.kid == kid && matches!(k.status.as_str(), "active" | "retiring" | "next"))
    }

    pub fn keys(&self) -> &[RingKey] {
        &self.keys
    }

    /// The public JWK Set (RFC 7517 §5): keys about to sign, signing, and
    /// still verifying.
    pub fn jwks(&self) -> serde_json::Value {
        let keys: Vec<serde_json::Value> = self
            .keys
            .iter()
            .filter(|k| matches!(k.status.as_str(), "active" | "retiring" | "next"))
            .map(|k| serde_json::Value::Object(k.public_jwk.as_ref().clone()))
            .collect();
        serde_json::json!({ "keys": keys })
    }
}
