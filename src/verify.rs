//! Checking Latch access tokens inside an API, without calling Latch per
//! request: signatures against the realm's JWKS (cached, refreshed when an
//! unknown `kid` appears), and revocations from Latch's event stream, kept
//! in memory and announced to the API so it can drop live connections.
//! Self-contained on purpose — it is the seed of a `latch-verify` crate.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use josekit::jwk::Jwk;
use josekit::jws::JwsVerifier;
use serde::Deserialize;

/// What an API learns from a valid access token.
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub client_id: String,
    pub jti: String,
    pub exp: i64,
    pub iat_ms: i64,
    #[serde(default)]
    pub sid: Option<String>,
    #[serde(default)]
    pub scope: String,
    pub iss: String,
    #[serde(default)]
    pub status: Option<serde_json::Value>,
}

/// A revocation as the event stream announces it.
#[derive(Debug, Clone)]
pub struct Revocation {
    /// `jti`, `sid`, `user`, `client`, `realm` or `key`.
    pub kind: String,
    pub subject: String,
    pub not_before_ms: Option<i64>,
}

impl Revocation {
    /// Whether this revocation takes back the token with these claims.
    pub fn affects(&self, claims: &Claims, kid: &str) -> bool {
        let cut = self.not_before_ms.is_some_and(|nbf| claims.iat_ms <= nbf);
        match self.kind.as_str() {
            "jti" => self.subject == claims.jti,
            "sid" => claims.sid.as_deref() == Some(self.subject.as_str()),
            "user" => self.subject == claims.sub && cut,
            "client" => self.subject == claims.client_id && cut,
            "realm" => cut,
            "key" => self.subject == kid,
            _ => false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token is signed by an unknown key")]
    UnknownKey,
    #[error("the token's signature is invalid")]
    BadSignature,
    #[error("the token is not an access token of this issuer")]
    WrongToken,
    #[error("the token has expired")]
    Expired,
    #[error("the token has been revoked")]
    Revoked,
}

/// A status list by URI: (fetched at, ttl, the decompressed bits).
type CachedList = (Instant, Duration, Arc<Vec<u8>>);

/// kid → (alg, verifier), from the realm's JWKS.
type KeySet = HashMap<String, (String, Box<dyn JwsVerifier>)>;

#[derive(Default)]
struct Revoked {
    jtis: HashSet<String>,
    sids: HashSet<String>,
    kids: HashSet<String>,
    /// user, client and realm cut-offs (ms), keyed by kind and subject.
    cut_offs: HashMap<(String, String), i64>,
}

pub struct Verifier {
    issuer: String,
    client_id: String,
    client_secret: String,
    http: reqwest::Client,
    keys: RwLock<KeySet>,
    keys_fetched: RwLock<Option<Instant>>,
    revoked: RwLock<Revoked>,
    last_event_id: AtomicI64,
    announce: tokio::sync::broadcast::Sender<Revocation>,
    /// Status lists by URI: (fetched at, ttl, the decompressed bits).
    lists: RwLock<HashMap<String, CachedList>>,
}

#[derive(Deserialize)]
struct Header {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
}

fn decode<T: for<'de> Deserialize<'de>>(part: &str) -> Result<T, VerifyError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| VerifyError::Malformed)?;
    serde_json::from_slice(&bytes).map_err(|_| VerifyError::Malformed)
}

impl Verifier {
    /// Loads the JWKS and starts following the event stream as `client_id`
    /// (a client Latch flags as a resource server sees every revocation).
    pub async fn start(
        issuer: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Arc<Verifier>, String> {
        let verifier = Arc::new(Verifier {
            issuer: issuer.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            http: reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(5))
                .build()
                .map_err(|e| e.to_string())?,
            keys: RwLock::default(),
            keys_fetched: RwLock::default(),
            revoked: RwLock::default(),
            last_event_id: AtomicI64::new(-1),
            announce: tokio::sync::broadcast::channel(1024).0,
            lists: RwLock::default(),
        });
        verifier.refresh_keys().await?;
        let follower = Arc::clone(&verifier);
        tokio::spawn(async move { follower.follow().await });
        Ok(verifier)
    }

    /// Revocations as they arrive (to close sockets of revoked tokens).
    pub fn revocations(&self) -> tokio::sync::broadcast::Receiver<Revocation> {
        self.announce.subscribe()
    }

    async fn refresh_keys(&self) -> Result<(), String> {
        let body = self
            .http
            .get(format!("{}/protocol/openid-connect/certs", self.issuer))
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("JWKS: {e}"))?
            .bytes()
            .await
            .map_err(|e| format!("JWKS: {e}"))?;
        let jwks: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("JWKS: {e}"))?;
        let mut keys = HashMap::new();
        for key in jwks["keys"].as_array().into_iter().flatten() {
            let (Some(kid), Some(alg), Some(map)) =
                (key["kid"].as_str(), key["alg"].as_str(), key.as_object())
            else {
                continue;
            };
            let Ok(jwk) = Jwk::from_map(map.clone()) else {
                continue;
            };
            let verifier: Option<Box<dyn JwsVerifier>> = match alg {
                "ES256" => josekit::jws::ES256
                    .verifier_from_jwk(&jwk)
                    .ok()
                    .map(|v| Box::new(v) as _),
                "RS256" => josekit::jws::RS256
                    .verifier_from_jwk(&jwk)
                    .ok()
                    .map(|v| Box::new(v) as _),
                "EdDSA" => josekit::jws::EdDSA
                    .verifier_from_jwk(&jwk)
                    .ok()
                    .map(|v| Box::new(v) as _),
                _ => None,
            };
            if let Some(verifier) = verifier {
                keys.insert(kid.to_string(), (alg.to_string(), verifier));
            }
        }
        if let Ok(mut slot) = self.keys.write() {
            *slot = keys;
        }
        if let Ok(mut at) = self.keys_fetched.write() {
            *at = Some(Instant::now());
        }
        Ok(())
    }

    fn check_signature(&self, kid: &str, alg: &str, input: &str, signature: &[u8]) -> Option<bool> {
        let keys = self.keys.read().ok()?;
        let (key_alg, verifier) = keys.get(kid)?;
        // The JWKS decides the algorithm; a header naming another is refused.
        Some(key_alg == alg && verifier.verify(input.as_bytes(), signature).is_ok())
    }

    /// Verifies an access token: signature, type, issuer, expiry, revocation.
    pub async fn verify(&self, token: &str) -> Result<(Claims, String), VerifyError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(VerifyError::Malformed);
        };
        let header: Header = decode(h)?;
        if !header.typ.is_some_and(|t| t.eq_ignore_ascii_case("at+jwt")) {
            return Err(VerifyError::WrongToken);
        }
        let kid = header.kid.ok_or(VerifyError::UnknownKey)?;
        let signature = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| VerifyError::Malformed)?;
        let input = &token[..h.len() + 1 + p.len()];
        let mut valid = self.check_signature(&kid, &header.alg, input, &signature);
        if valid.is_none() {
            // An unknown kid may be a new key: refetch, at most every 10 s.
            let stale = self
                .keys_fetched
                .read()
                .ok()
                .and_then(|t| *t)
                .is_none_or(|t| t.elapsed() > Duration::from_secs(10));
            if stale && self.refresh_keys().await.is_ok() {
                valid = self.check_signature(&kid, &header.alg, input, &signature);
            }
        }
        match valid {
            None => return Err(VerifyError::UnknownKey),
            Some(false) => return Err(VerifyError::BadSignature),
            Some(true) => {}
        }
        let claims: Claims = decode(p)?;
        if claims.iss != self.issuer {
            return Err(VerifyError::WrongToken);
        }
        if claims.exp <= crate::time::now_s() {
            return Err(VerifyError::Expired);
        }
        if self.is_revoked(&claims, &kid) {
            return Err(VerifyError::Revoked);
        }
        Ok((claims, kid))
    }

    fn is_revoked(&self, claims: &Claims, kid: &str) -> bool {
        let Ok(r) = self.revoked.read() else {
            return true;
        };
        let cut = |kind: &str, subject: &str| {
            r.cut_offs
                .get(&(kind.to_string(), subject.to_string()))
                .is_some_and(|nbf| claims.iat_ms <= *nbf)
        };
        r.jtis.contains(&claims.jti)
            || claims.sid.as_ref().is_some_and(|sid| r.sids.contains(sid))
            || r.kids.contains(kid)
            || cut("user", &claims.sub)
            || cut("client", &claims.client_id)
            || cut("realm", "")
    }

    fn apply(&self, revocation: &Revocation) {
        if let Ok(mut r) = self.revoked.write() {
            match revocation.kind.as_str() {
                "jti" => {
                    r.jtis.insert(revocation.subject.clone());
                }
                "sid" => {
                    r.sids.insert(revocation.subject.clone());
                }
                "key" => {
                    r.kids.insert(revocation.subject.clone());
                }
                kind @ ("user" | "client" | "realm") => {
                    let subject = if kind == "realm" {
                        String::new()
                    } else {
                        revocation.subject.clone()
                    };
                    let nbf = revocation.not_before_ms.unwrap_or(i64::MAX);
                    let entry = r.cut_offs.entry((kind.to_string(), subject)).or_insert(nbf);
                    *entry = (*entry).max(nbf);
                }
                _ => {}
            }
        }
        let _ = self.announce.send(revocation.clone());
    }

    /// Follows the event stream forever, resuming with Last-Event-ID.
    async fn follow(self: Arc<Self>) {
        loop {
            if let Err(e) = self.follow_once().await {
                tracing::debug!(error = %e, "revocation stream interrupted; reconnecting");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn follow_once(&self) -> Result<(), String> {
        let mut request = self
            .http
            .get(format!(
                "{}/protocol/openid-connect/revocations",
                self.issuer
            ))
            .basic_auth(&self.client_id, Some(&self.client_secret));
        let last = self.last_event_id.load(Ordering::Acquire);
        if last >= 0 {
            request = request.header("Last-Event-ID", last.to_string());
        }
        let mut response = request
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| e.to_string())?;
        let mut buffer = String::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let block: String = buffer.drain(..end + 2).collect();
                self.handle_block(&block);
            }
        }
        Err("the stream ended".into())
    }

    fn handle_block(&self, block: &str) {
        let (mut id, mut data) = (None, None);
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("id: ") {
                id = v.trim().parse::<i64>().ok();
            } else if let Some(v) = line.strip_prefix("data: ") {
                data = Some(v.trim().to_string());
            }
        }
        let (Some(id), Some(set)) = (id, data) else {
            return;
        };
        let mut parts = set.split('.');
        let (Some(h), Some(p), Some(s)) = (parts.next(), parts.next(), parts.next()) else {
            return;
        };
        let (Ok(header), Ok(signature)) = (decode::<Header>(h), URL_SAFE_NO_PAD.decode(s)) else {
            return;
        };
        // Events are signed by the realm: accept only what verifies.
        let signed = header.kid.as_deref().and_then(|kid| {
            self.check_signature(kid, &header.alg, &set[..h.len() + 1 + p.len()], &signature)
        });
        if signed != Some(true) {
            tracing::warn!("ignoring a revocation event that does not verify");
            return;
        }
        let Ok(payload) = decode::<serde_json::Value>(p) else {
            return;
        };
        let latch = &payload["latch"];
        if let (Some(kind), Some(subject)) = (latch["kind"].as_str(), latch["subject"].as_str()) {
            self.apply(&Revocation {
                kind: kind.to_string(),
                subject: subject.to_string(),
                not_before_ms: latch["not_before"].as_i64(),
            });
        }
        self.last_event_id.store(id, Ordering::Release);
    }
}

impl Verifier {
    /// Like `verify`, and also consults the token's Token Status List —
    /// cached for the list's `ttl`, so a revocation reaches an API relying
    /// on the list alone within that `ttl` (the event stream is immediate).
    pub async fn verify_with_status_list(
        &self,
        token: &str,
    ) -> Result<(Claims, String), VerifyError> {
        let (claims, kid) = self.verify(token).await?;
        let status = claims.status.as_ref().map(|s| &s["status_list"]);
        let (Some(idx), Some(uri)) = (
            status.and_then(|s| s["idx"].as_u64()),
            status.and_then(|s| s["uri"].as_str()),
        ) else {
            return Err(VerifyError::WrongToken);
        };
        let bits = self.status_list(uri).await.ok_or(VerifyError::Revoked)?;
        let idx = idx as usize;
        match bits.get(idx / 8) {
            Some(byte) if byte & (1 << (idx % 8)) == 0 => Ok((claims, kid)),
            // Revoked, or an index the list does not reach: fail closed.
            _ => Err(VerifyError::Revoked),
        }
    }

    async fn status_list(&self, uri: &str) -> Option<Arc<Vec<u8>>> {
        if let Some((at, ttl, bits)) = self.lists.read().ok()?.get(uri) {
            if at.elapsed() < *ttl {
                return Some(Arc::clone(bits));
            }
        }
        if !uri.starts_with(&self.issuer) {
            return None;
        }
        let jwt = self.http.get(uri).send().await.ok()?.text().await.ok()?;
        let mut parts = jwt.split('.');
        let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
        let header: Header = decode(h).ok()?;
        if !header
            .typ
            .is_some_and(|t| t.eq_ignore_ascii_case("statuslist+jwt"))
        {
            return None;
        }
        let signature = URL_SAFE_NO_PAD.decode(s).ok()?;
        if self.check_signature(
            header.kid.as_deref()?,
            &header.alg,
            &jwt[..h.len() + 1 + p.len()],
            &signature,
        ) != Some(true)
        {
            return None;
        }
        let payload: serde_json::Value = decode(p).ok()?;
        if payload["sub"] != uri {
            return None;
        }
        let compressed = URL_SAFE_NO_PAD
            .decode(payload["status_list"]["lst"].as_str()?)
            .ok()?;
        let mut bits = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::ZlibDecoder::new(&compressed[..]),
            &mut bits,
        )
        .ok()?;
        let ttl = Duration::from_secs(payload["ttl"].as_u64().unwrap_or(30));
        let bits = Arc::new(bits);
        if let Ok(mut lists) = self.lists.write() {
            lists.insert(uri.to_string(), (Instant::now(), ttl, Arc::clone(&bits)));
        }
        Some(bits)
    }
}
