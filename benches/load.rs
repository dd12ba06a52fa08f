//! Load benchmark against a real `latch serve` (release build), pinned to
//! one core, with this generator pinned to the other.
//!
//! ```sh
//! cargo bench --bench load -- [SCENARIO...] [--seconds N] [--connections N] [--postgres URL]
//! ```
//!
//! Scenarios: client-credentials, refresh, login-flood, introspect-active,
//! introspect-revoked, introspect-fresh, revoke. With `--postgres` (an admin
//! URL) the server runs on a fresh PostgreSQL database instead of SQLite.
//!
//! ```text
//! ```
//!
//! `LATCH_BENCH_BIN=path/to/latch` measures another build (e.g. an earlier
//! commit's) with the same generator, for before/after runs in alternation.
//!
//! Each connection is an HTTP/1.1 keep-alive socket sending one request at
//! a time; latencies are recorded per request. Prints requests/s, p50, p99,
//! max and the server's RSS.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Server {
    child: Child,
    port: u16,
    secret: String,
    password: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn fresh_postgres(admin: &str) -> String {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let name = format!("latch_bench_{}", latch::crypto::random_id());
    let mut conn = diesel::PgConnection::establish(admin).expect("PostgreSQL reachable");
    conn.batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let mut url = url::Url::parse(admin).unwrap();
    url.set_path(&name);
    url.to_string()
}

/// The binary under test: this build's, or another build's given in
/// `LATCH_BENCH_BIN`, so two commits can be measured alternately in one run.
fn server_binary() -> String {
    std::env::var("LATCH_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_latch").to_string())
}

fn start_server(core: &str, postgres: Option<&str>) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut command = Command::new("taskset");
    if let Some(admin) = postgres {
        command.env("LATCH_DATABASE", fresh_postgres(admin)).env(
            "LATCH_MASTER_KEY",
            latch::crypto::MasterKey::generate().encode(),
        );
    }
    let mut child = command
        .args(["-c", core, &server_binary(), "serve", "--demo"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .env("LATCH_WORKERS", "1")
        // Every load comes from 127.0.0.1: per-address limits would turn the
        // login flood into cheap 429s; measure the unthrottled worst case.
        .env("LATCH_UNAUTHENTICATED_PER_IP_PER_S", "0")
        .env("LATCH_LOGIN_FAILURES_PER_IP_PER_MIN", "0")
        .env("LATCH_LOCKOUT_THRESHOLD", "0")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("taskset and the latch binary");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (mut secret, mut password) = (String::new(), String::new());
    for line in stdout.lines() {
        let line = line.unwrap();
        if let Some(s) = line.trim().strip_prefix("client secret: ") {
            secret = s.trim().to_string();
        }
        if let Some(u) = line.trim().strip_prefix("user:") {
            password = u.split(" / ").nth(1).unwrap_or("").trim().to_string();
            break;
        }
    }
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Server {
        child,
        port,
        secret,
        password,
        _dir: dir,
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// One keep-alive connection.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            buf: Vec::with_capacity(16 * 1024),
        }
    }

    /// Sends a request and reads the response; returns (status, body).
    async fn send(&mut self, request: &[u8]) -> (u16, Vec<u8>) {
        self.stream.write_all(request).await.unwrap();
        self.buf.clear();
        loop {
            let mut chunk = [0u8; 8192];
            let n = self.stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "server closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .map(|v| v.trim().parse().unwrap())
                    .unwrap_or(0);
                if self.buf.len() >= end + 4 + length {
                    let status = head[9..12].parse().unwrap();
                    return (status, self.buf[end + 4..end + 4 + length].to_vec());
                }
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn post(port: u16, path: &str, auth: Option<&str>, extra_headers: &str, body: &str) -> Vec<u8> {
    let auth = auth
        .map(|a| format!("Authorization: Basic {a}\r\n"))
        .unwrap_or_default();
    format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}{extra_headers}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[derive(Default)]
struct Stats {
    latencies_us: Vec<u64>,
    errors: u64,
}

fn report(name: &str, stats: &Stats, elapsed: Duration, rss: u64) {
    let mut l = stats.latencies_us.clone();
    l.sort_unstable();
    let pct = |p: f64| {
        l.get(((l.len() as f64 * p) as usize).min(l.len().saturating_sub(1)))
            .copied()
            .unwrap_or(0)
    };
    println!(
        "{name}: {:.0} req/s over {:.1}s ({} ok, {} errors) p50 {:.2} ms p99 {:.2} ms max {:.2} ms, server RSS {} MiB",
        l.len() as f64 / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        l.len(),
        stats.errors,
        pct(0.50) as f64 / 1000.0,
        pct(0.99) as f64 / 1000.0,
        l.last().copied().unwrap_or(0) as f64 / 1000.0,
        rss / 1024
    );
}

/// Runs `connections` loops of `step` for `seconds`.
async fn drive<F, Fut>(connections: usize, seconds: u64, port: u16, step: F) -> (Stats, Duration)
where
    F: Fn(usize, Conn) -> Fut + Send + Sync + 'static + Clone,
    Fut: std::future::Future<Output = (Conn, bool)> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for n in 0..connections {
        let (stop, step) = (stop.clone(), step.clone());
        tasks.push(tokio::spawn(async move {
            let mut stats = Stats::default();
            let mut conn = Conn::open(port).await;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let (c, ok) = step(n, conn).await;
                conn = c;
                if ok {
                    stats.latencies_us.push(t.elapsed().as_micros() as u64);
                } else {
                    stats.errors += 1;
                }
            }
            stats
        }));
    }
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut total = Stats::default();
    for t in tasks {
        let s = t.await.unwrap();
        total.latencies_us.extend(s.latencies_us);
        total.errors += s.errors;
    }
    (total, started.elapsed())
}

async fn client_credentials(
    server: &Server,
    connections: usize,
    seconds: u64,
) -> (Stats, Duration) {
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("demo-app:{}", server.secret));
    let request = Arc::new(post(
        server.port,
        "/realms/demo/protocol/openid-connect/token",
        Some(&auth),
        "",
        "grant_type=client_credentials",
    ));
    drive(connections, seconds, server.port, move |_, mut conn| {
        let request = request.clone();
        async move {
            let (status, _) = conn.send(&request).await;
            (conn, status == 200)
        }
    })
    .await
}

/// Signs alice in over HTTP and returns a refresh token.
async fn initial_refresh_token(server: &Server) -> String {
    let base = format!("http://127.0.0.1:{}", server.port);
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let verifier = "v".repeat(43);
    let challenge =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Digest::finalize(
            <sha2::Sha256 as sha2::Digest>::new_with_prefix(verifier.as_bytes()),
        ));
    let auth = format!(
        "{base}/realms/demo/protocol/openid-connect/auth?client_id=demo-app&redirect_uri=http%3A%2F%2F127.0.0.1%3A8081%2Fcallback&response_type=code&scope=openid&code_challenge={challenge}&code_challenge_method=S256"
    );
    let html = http.get(&auth).send().await.unwrap().text().await.unwrap();
    let field = |name: &str| -> String {
        let start = html.find(&format!("name=\"{name}\" value=\"")).unwrap() + name.len() + 15;
        let end = start + html[start..].find('"').unwrap();
        html[start..end].replace("&#38;", "&")
    };
    let form = [
        ("csrf_token", field("csrf_token")),
        ("auth_request", field("auth_request")),
        ("username", "alice".into()),
        ("password", server.password.clone()),
    ];
    let response = http
        .post(format!("{base}/realms/demo/login-actions/authenticate"))
        .form(&form)
        .send()
        .await
        .unwrap();
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let code = url::Url::parse(&location)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tokens: serde_json::Value = http
        .post(format!("{base}/realms/demo/protocol/openid-connect/token"))
        .basic_auth("demo-app", Some(&server.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", "http://127.0.0.1:8081/callback"),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["refresh_token"].as_str().unwrap().to_string()
}

async fn refresh(server: &Server, connections: usize, seconds: u64) -> (Stats, Duration) {
    let auth = Arc::new(
        base64::engine::general_purpose::STANDARD.encode(format!("demo-app:{}", server.secret)),
    );
    let mut chains = Vec::new();
    for _ in 0..connections {
        chains.push(Arc::new(tokio::sync::Mutex::new(
            initial_refresh_token(server).await,
        )));
    }
    let chains = Arc::new(chains);
    let port = server.port;
    drive(connections, seconds, port, move |n, mut conn| {
        let (auth, chains) = (auth.clone(), chains.clone());
        async move {
            let mut current = chains[n].lock().await;
            let body = format!("grant_type=refresh_token&refresh_token={}", current);
            let (status, body) = conn
                .send(&post(
                    port,
                    "/realms/demo/protocol/openid-connect/token",
                    Some(&auth),
                    "",
                    &body,
                ))
                .await;
            if status == 200 {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                *current = v["refresh_token"].as_str().unwrap().to_string();
            }
            (conn, status == 200)
        }
    })
    .await
}

/// client_credentials issuance while other connections flood the login form.
async fn login_flood(server: &Server, connections: usize, seconds: u64) -> (Stats, Duration) {
    let csrf = "c".repeat(43);
    let auth_request = "client_id%3Ddemo-app%26redirect_uri%3Dhttp%253A%252F%252F127.0.0.1%253A8081%252Fcallback%26response_type%3Dcode%26scope%3Dopenid";
    let body = format!(
        "csrf_token={csrf}&auth_request={auth_request}&username=alice&password=wrong-password"
    );
    let flood = Arc::new(post(
        server.port,
        "/realms/demo/login-actions/authenticate",
        None,
        &format!("Cookie: LATCH_CSRF={csrf}\r\n"),
        &body,
    ));
    let port = server.port;
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new((
        std::sync::atomic::AtomicU64::new(0),
        std::sync::atomic::AtomicU64::new(0),
    ));
    let mut flooders = Vec::new();
    for _ in 0..16 {
        let (flood, stop, counts) = (flood.clone(), stop.clone(), counts.clone());
        flooders.push(tokio::spawn(async move {
            let mut conn = Conn::open(port).await;
            while !stop.load(Ordering::Relaxed) {
                let (status, _) = conn.send(&flood).await;
                if status == 503 {
                    counts.1.fetch_add(1, Ordering::Relaxed);
                } else {
                    counts.0.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let result = client_credentials(server, connections, seconds).await;
    stop.store(true, Ordering::Relaxed);
    for f in flooders {
        let _ = f.await;
    }
    println!(
        "login flood: {} password checks answered, {} refused with 503 over {}s",
        counts.0.load(Ordering::Relaxed),
        counts.1.load(Ordering::Relaxed),
        seconds
    );
    result
}

async fn mint(server: &Server, count: usize) -> Vec<String> {
    let auth =
        base64::engine::general_purpose::STANDARD.encode(format!("demo-app:{}", server.secret));
    let request = post(
        server.port,
        "/realms/demo/protocol/openid-connect/token",
        Some(&auth),
        "",
        "grant_type=client_credentials",
    );
    let mut conns = Vec::new();
    for _ in 0..8 {
        conns.push(Conn::open(server.port).await);
    }
    let per = count / 8 + 1;
    let request = Arc::new(request);
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut conn| {
            let request = request.clone();
            tokio::spawn(async move {
                let mut tokens = Vec::with_capacity(per);
                for _ in 0..per {
                    let (_, body) = conn.send(&request).await;
                    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                    tokens.push(v["access_token"].as_str().unwrap().to_string());
                }
                tokens
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.truncate(count);
    all
}

/// Sends `path` with `token=` of tokens handed out once each (or always the first).
async fn token_requests(
    server: &Server,
    path: &'static str,
    tokens: Vec<String>,
    reuse_first: bool,
    expect: &'static str,
    connections: usize,
    seconds: u64,
) -> (Stats, Duration) {
    let auth = Arc::new(
        base64::engine::general_purpose::STANDARD.encode(format!("demo-app:{}", server.secret)),
    );
    let tokens = Arc::new(tokens);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let port = server.port;
    drive(connections, seconds, port, move |_, mut conn| {
        let (auth, tokens, next) = (auth.clone(), tokens.clone(), next.clone());
        async move {
            let i = if reuse_first {
                0
            } else {
                next.fetch_add(1, Ordering::Relaxed)
            };
            let Some(token) = tokens.get(i) else {
                tokio::time::sleep(Duration::from_millis(5)).await;
                return (conn, false);
            };
            let (status, body) = conn
                .send(&post(
                    port,
                    path,
                    Some(&auth),
                    "",
                    &format!("token={token}"),
                ))
                .await;
            let ok = status == 200
                && (expect.is_empty() || String::from_utf8_lossy(&body).contains(expect));
            (conn, ok)
        }
    })
    .await
}

const INTROSPECT: &str = "/realms/demo/protocol/openid-connect/token/introspect";
const REVOKE: &str = "/realms/demo/protocol/openid-connect/revoke";

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let arg = |name: &str, default: u64| -> u64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let scenarios: Vec<String> = args
        .iter()
        .filter(|a| !a.starts_with("--") && a.parse::<u64>().is_err())
        .cloned()
        .collect();
    let scenarios = if scenarios.is_empty() {
        vec![
            "client-credentials".to_string(),
            "refresh".into(),
            "login-flood".into(),
        ]
    } else {
        scenarios
    };
    let (seconds, connections) = (arg("--seconds", 10), arg("--connections", 32) as usize);
    let postgres = args
        .iter()
        .position(|a| a == "--postgres")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let scenarios: Vec<String> = scenarios
        .into_iter()
        .filter(|s| Some(s) != postgres.as_ref())
        .collect();
    // The generator on core 1, the server on core 0.
    let _ = Command::new("taskset")
        .args(["-p", "-c", "1", &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    for scenario in scenarios {
        let server = start_server("0", postgres.as_deref());
        let pid = server.child.id();
        runtime.block_on(async {
            // Warm up (first requests load the realm and its keys).
            let _ = client_credentials(&server, 4, 1).await;
            let (stats, elapsed) = match scenario.as_str() {
                "client-credentials" => client_credentials(&server, connections, seconds).await,
                "refresh" => refresh(&server, connections, seconds).await,
                "login-flood" => login_flood(&server, connections, seconds).await,
                "introspect-active" => {
                    let token = mint(&server, 1).await;
                    token_requests(
                        &server,
                        INTROSPECT,
                        token,
                        true,
                        "\"active\":true",
                        connections,
                        seconds,
                    )
                    .await
                }
                "introspect-revoked" => {
                    let token = mint(&server, 1).await;
                    let (status, _) = Conn::open(server.port)
                        .await
                        .send(&post(
                            server.port,
                            REVOKE,
                            Some(
                                &base64::engine::general_purpose::STANDARD
                                    .encode(format!("demo-app:{}", server.secret)),
                            ),
                            "",
                            &format!("token={}", token[0]),
                        ))
                        .await;
                    assert_eq!(status, 200);
                    token_requests(
                        &server,
                        INTROSPECT,
                        token,
                        true,
                        "\"active\":false",
                        connections,
                        seconds,
                    )
                    .await
                }
                "introspect-fresh" => {
                    let tokens = mint(&server, 15_000 * seconds as usize).await;
                    token_requests(
                        &server,
                        INTROSPECT,
                        tokens,
                        false,
                        "\"active\":true",
                        connections,
                        seconds,
                    )
                    .await
                }
                "revoke" => {
                    let tokens = mint(&server, 15_000 * seconds as usize).await;
                    token_requests(&server, REVOKE, tokens, false, "", connections, seconds).await
                }
                other => panic!("unknown scenario {other}"),
            };
            report(&scenario, &stats, elapsed, rss_kib(pid));
        });
    }
}
