//! How APIs learn of revocations, measured: the Token Status List's size
//! and serving time with many tokens, the event stream's delivery latency
//! with 100 subscribers, and an API's token checks per second when it
//! consults the status list.
//!
//! ```sh
//! cargo bench --bench feeds -- [--tokens N] [--subscribers N]
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;

struct Server {
    child: Child,
    base: String,
    secret: String,
    dir: tempfile::TempDir,
    key: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let key = latch::crypto::MasterKey::generate().encode();
    let secret = latch::directory::bootstrap::demo_client_secret(
        &latch::crypto::MasterKey::parse(&key).unwrap(),
    );
    let child = Command::new(env!("CARGO_BIN_EXE_latch"))
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .env("LATCH_MASTER_KEY", &key)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}/realms/demo");
    for _ in 0..200 {
        if reqwest::get(format!("http://127.0.0.1:{port}/health/ready"))
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server {
        child,
        base,
        secret,
        dir,
        key,
    }
}

async fn mint(server: &Server, n: usize) -> Vec<String> {
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (base, secret) = (server.base.clone(), server.secret.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut out = Vec::new();
                for _ in 0..n / 16 {
                    let v: serde_json::Value = http
                        .post(format!("{base}/protocol/openid-connect/token"))
                        .basic_auth("demo-app", Some(&secret))
                        .form(&[("grant_type", "client_credentials")])
                        .send()
                        .await
                        .unwrap()
                        .json()
                        .await
                        .unwrap();
                    out.push(v["access_token"].as_str().unwrap().to_string());
                }
                out
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

async fn revoke_all(server: &Server, tokens: Vec<String>) {
    let queue = Arc::new(std::sync::Mutex::new(tokens));
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (base, secret, queue) = (server.base.clone(), server.secret.clone(), queue.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                while let Some(token) = {
                    let t = queue.lock().unwrap().pop();
                    t
                } {
                    let r = http
                        .post(format!("{base}/protocol/openid-connect/revoke"))
                        .basic_auth("demo-app", Some(&secret))
                        .form(&[("token", token.as_str())])
                        .send()
                        .await
                        .unwrap();
                    assert_eq!(r.status(), 200);
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
}

fn payload(jwt: &str) -> serde_json::Value {
    let part = jwt.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap(),
    )
    .unwrap()
}

async fn status_list(server: &Server, tokens: usize) {
    eprintln!("minting {tokens} tokens");
    let started = Instant::now();
    let minted = mint(server, tokens).await;
    eprintln!(
        "minted in {:.1}s; revoking 1%",
        started.elapsed().as_secs_f64()
    );
    let uri = payload(&minted[0])["status"]["status_list"]["uri"]
        .as_str()
        .unwrap()
        .to_string();
    let lists: std::collections::BTreeSet<String> = minted
        .iter()
        .map(|t| {
            payload(t)["status"]["status_list"]["uri"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        lists.len(),
        1,
        "1,000,000 tokens fit one list of 2^20: {lists:?}"
    );
    let revoked: Vec<String> = minted.iter().step_by(100).cloned().collect();
    let count = revoked.len();
    revoke_all(server, revoked).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let http = reqwest::Client::new();
    let t = Instant::now();
    let jwt = http.get(&uri).send().await.unwrap().text().await.unwrap();
    let first = t.elapsed();
    let t = Instant::now();
    let again = http.get(&uri).send().await.unwrap().text().await.unwrap();
    let cached = t.elapsed();
    assert_eq!(jwt, again);
    let lst = payload(&jwt)["status_list"]["lst"]
        .as_str()
        .unwrap()
        .to_string();
    let compressed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&lst)
        .unwrap();
    let mut bits = Vec::new();
    flate2::read::ZlibDecoder::new(&compressed[..])
        .read_to_end(&mut bits)
        .unwrap();
    let set: u32 = bits.iter().map(|b| b.count_ones()).sum();
    println!(
        "status list: {} tokens, {count} revoked ({set} bits set): list {} bytes raw, {} bytes compressed, token {} bytes; built and signed in {:.1} ms, served from cache in {:.2} ms",
        minted.len(),
        bits.len(),
        compressed.len(),
        jwt.len(),
        first.as_secs_f64() * 1000.0,
        cached.as_secs_f64() * 1000.0
    );
}

async fn event_stream(server: &Server, subscribers: usize) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, String, Instant)>();
    for n in 0..subscribers {
        let (base, secret, tx) = (server.base.clone(), server.secret.clone(), tx.clone());
        tokio::spawn(async move {
            let mut response = reqwest::Client::new()
                .get(format!("{base}/protocol/openid-connect/revocations"))
                .basic_auth("demo-app", Some(&secret))
                .send()
                .await
                .unwrap();
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                        let subject = payload(data)["latch"]["subject"]
                            .as_str()
                            .unwrap_or("")
                            .to_string();
                        let _ = tx.send((n, subject, Instant::now()));
                    }
                }
            }
        });
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let tokens = mint(server, 208).await;
    let http = reqwest::Client::new();
    let mut latencies = Vec::new();
    for token in tokens.iter().take(200) {
        let jti = payload(token)["jti"].as_str().unwrap().to_string();
        let sent = Instant::now();
        let r = http
            .post(format!("{}/protocol/openid-connect/revoke", server.base))
            .basic_auth("demo-app", Some(&server.secret))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        let acknowledged = Instant::now();
        assert_eq!(r.status(), 200);
        let mut seen = std::collections::HashSet::new();
        let deadline = acknowledged + Duration::from_secs(5);
        while seen.len() < subscribers {
            let (n, subject, at) = tokio::time::timeout_at(deadline.into(), rx.recv())
                .await
                .expect("all subscribers hear of it")
                .unwrap();
            if subject == jti {
                seen.insert(n);
                latencies.push(at.saturating_duration_since(sent).as_secs_f64() * 1000.0);
            }
        }
    }
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "event stream: revocation request sent → event received on every stream, {subscribers} subscribers × 200 revocations: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        p(0.5),
        p(0.99),
        latencies[latencies.len() - 1]
    );
}

async fn api_checks(server: &Server) {
    let output = Command::new(env!("CARGO_BIN_EXE_latch"))
        .args([
            "client",
            "create",
            "--realm",
            "demo",
            "--client-id",
            "bench-api",
            "--introspect-any",
            "--grant-type",
            "client_credentials",
        ])
        .current_dir(server.dir.path())
        .env("LATCH_MASTER_KEY", &server.key)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    let secret = text
        .lines()
        .find_map(|l| l.strip_prefix("client secret (shown only now): "))
        .unwrap()
        .to_string();
    tokio::time::sleep(Duration::from_millis(700)).await;
    let verifier = latch::verify::Verifier::start(&server.base, "bench-api", &secret)
        .await
        .unwrap();
    let tokens = mint(server, 1024).await;
    let checks = 100_000;
    let started = Instant::now();
    for i in 0..checks {
        verifier
            .verify_with_status_list(&tokens[i % tokens.len()])
            .await
            .unwrap();
    }
    println!(
        "API token checks with status-list checking (signature + cached list, one thread): {:.0} /s",
        checks as f64 / started.elapsed().as_secs_f64()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str, default: usize| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (tokens, subscribers) = (arg("--tokens", 1_000_000), arg("--subscribers", 100));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let server = start().await;
        event_stream(&server, subscribers).await;
        api_checks(&server).await;
        status_list(&server, tokens).await;
    });
}
