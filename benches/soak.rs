//! Soak benchmark: one release `latch serve` (SQLite) under a steady mixed
//! load — client_credentials tokens minted, introspected and revoked — for
//! a long run, with the server's resident memory sampled throughout. Not
//! run in CI.
//!
//! ```sh
//! cargo bench --bench soak                           # 10 minutes of load
//! LATCH_SOAK_MINUTES=3 cargo bench --bench soak      # a shorter run
//! ```
//!
//! Settings (environment):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `LATCH_SOAK_MINUTES` | 10 | how long the load runs |
//! | `LATCH_SOAK_RATE` | 300 | requests per second, paced over all connections |
//! | `LATCH_SOAK_CONNECTIONS` | 8 | keep-alive connections, one request in flight each |
//! | `LATCH_SOAK_MIX` | `1:2:1` | per cycle: tokens minted : introspections : revocations |
//! | `LATCH_SOAK_TOKEN_LIFETIME_S` | 60 | the demo realm's access-token lifetime |
//! | `LATCH_SOAK_SAMPLE_S` | 30 | how often RSS and the size gauges are read |
//! | `LATCH_BENCH_BIN` | this build | another `latch` binary to measure (an earlier commit's) |
//!
//! Every sample prints the server's `VmRSS` and `RssAnon` (from
//! `/proc/PID/status`) and the `latch_in_memory_entries` gauges of `/metrics`
//! (by structure) when the binary has them. After the load: the least-squares slope of RSS over the
//! samples after the first minute (MiB/min). Then the load stops and the
//! run waits until every token it minted has expired, plus the minute a
//! revoked `jti` is kept past its token's expiry and one housekeeping
//! interval, sampling all the while, and prints the RSS then.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a revoked `jti` stays in the index after its token's expiry
/// (the cascade's margin), and how often housekeeping prunes.
const INDEX_MARGIN_S: u64 = 60;
const HOUSEKEEPING_S: u64 = 30;
const REALM: &str = "demo";

struct Settings {
    load: Duration,
    rate: u64,
    connections: u64,
    mix: (u64, u64, u64),
    lifetime_s: u64,
    sample: Duration,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(default)
}

impl Settings {
    fn from_env() -> Settings {
        let minutes: f64 = std::env::var("LATCH_SOAK_MINUTES")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(10.0);
        let mix = std::env::var("LATCH_SOAK_MIX").unwrap_or_else(|_| "1:2:1".into());
        let parts: Vec<u64> = mix.split(':').map(|p| p.trim().parse().unwrap()).collect();
        assert!(
            parts.len() == 3 && parts[0] > 0,
            "LATCH_SOAK_MIX is mint:introspect:revoke with at least one mint"
        );
        Settings {
            load: Duration::from_secs_f64(minutes * 60.0),
            rate: env_u64("LATCH_SOAK_RATE", 300).max(1),
            connections: env_u64("LATCH_SOAK_CONNECTIONS", 8).max(1),
            mix: (parts[0], parts[1], parts[2]),
            lifetime_s: env_u64("LATCH_SOAK_TOKEN_LIFETIME_S", 60).max(1),
            sample: Duration::from_secs(env_u64("LATCH_SOAK_SAMPLE_S", 30).max(1)),
        }
    }
}

struct Server {
    child: Child,
    base: String,
    master_key: String,
    secret: String,
    dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary under test: this build's, or the one in `LATCH_BENCH_BIN`.
fn server_binary() -> String {
    std::env::var("LATCH_BENCH_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_latch").to_string())
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `latch serve --demo` on a fresh SQLite database in a temporary directory.
fn start_server() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let master = latch::crypto::MasterKey::generate();
    let master_key = master.encode();
    let mut child = Command::new(server_binary())
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .env_remove("LATCH_CONFIG")
        .env("LATCH_MASTER_KEY", &master_key)
        .env("LATCH_WORKERS", "2")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("the latch binary");
    // Drain the banner so the server never blocks on a full pipe.
    let stdout = BufReader::new(child.stdout.take().unwrap());
    std::thread::spawn(move || stdout.lines().map_while(Result::ok).for_each(drop));
    Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        master_key,
        secret: latch::directory::bootstrap::demo_client_secret(&master),
        dir,
    }
}

impl Server {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    async fn wait_ready(&self, http: &reqwest::Client) {
        for _ in 0..400 {
            let ready = http.get(format!("{}/health/ready", self.base)).send().await;
            if ready.is_ok_and(|r| r.status() == 200) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not become ready");
    }

    /// Sets the realm's access-token lifetime with the command line, as an
    /// operator would; the running server learns it from the event log.
    fn set_lifetime(&self, seconds: u64) {
        let output = Command::new(server_binary())
            .args(["realm", "update", REALM, "--access-token-lifetime"])
            .arg(seconds.to_string())
            .current_dir(self.dir.path())
            .env_remove("LATCH_CONFIG")
            .env("LATCH_MASTER_KEY", &self.master_key)
            .env("RUST_LOG", "warn")
            .output()
            .expect("latch realm update");
        assert!(output.status.success(), "realm update: {output:?}");
    }

    fn endpoint(&self, what: &str) -> String {
        format!(
            "{}/realms/{REALM}/protocol/openid-connect/{what}",
            self.base
        )
    }
}

/// What the load did, counted by every connection.
#[derive(Default)]
struct Counts {
    minted: AtomicU64,
    introspected: AtomicU64,
    revoked: AtomicU64,
    errors: AtomicU64,
}

impl Counts {
    fn total(&self) -> u64 {
        self.minted.load(Ordering::Relaxed)
            + self.introspected.load(Ordering::Relaxed)
            + self.revoked.load(Ordering::Relaxed)
    }
}

/// One connection's requests, paced to its share of the rate.
struct Pacer {
    next: tokio::time::Instant,
    every: Duration,
}

impl Pacer {
    async fn wait(&mut self) {
        tokio::time::sleep_until(self.next).await;
        // A late request does not make the next ones come faster.
        self.next = (self.next + self.every).max(tokio::time::Instant::now());
    }
}

#[derive(Clone)]
struct Client {
    http: reqwest::Client,
    token_url: Arc<str>,
    introspect_url: Arc<str>,
    revoke_url: Arc<str>,
    secret: Arc<str>,
    counts: Arc<Counts>,
}

impl Client {
    async fn form(&self, url: &str, form: &[(&str, &str)]) -> Option<reqwest::Response> {
        let response = self
            .http
            .post(url)
            .basic_auth("demo-app", Some(&*self.secret))
            .form(form)
            .send()
            .await
            .ok()
            .filter(|r| r.status() == 200);
        if response.is_none() {
            self.counts.errors.fetch_add(1, Ordering::Relaxed);
        }
        response
    }

    async fn mint(&self) -> Option<String> {
        let response = self
            .form(&self.token_url, &[("grant_type", "client_credentials")])
            .await?;
        let body: serde_json::Value = response.json().await.ok()?;
        self.counts.minted.fetch_add(1, Ordering::Relaxed);
        body["access_token"].as_str().map(str::to_string)
    }

    async fn introspect(&self, token: &str) {
        if let Some(response) = self.form(&self.introspect_url, &[("token", token)]).await {
            let _ = response.bytes().await;
            self.counts.introspected.fetch_add(1, Ordering::Relaxed);
        }
    }

    async fn revoke(&self, token: &str) {
        if let Some(response) = self.form(&self.revoke_url, &[("token", token)]).await {
            let _ = response.bytes().await;
            self.counts.revoked.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One connection: cycles of `mix` (mint m tokens, introspect i times and
/// revoke r times, spread over the cycle's tokens) until `stop`.
async fn connection(client: Client, mix: (u64, u64, u64), every: Duration, stop: Arc<AtomicBool>) {
    let mut pacer = Pacer {
        next: tokio::time::Instant::now(),
        every,
    };
    while !stop.load(Ordering::Relaxed) {
        let mut tokens = Vec::new();
        for _ in 0..mix.0 {
            pacer.wait().await;
            tokens.extend(client.mint().await);
        }
        if tokens.is_empty() {
            continue;
        }
        for n in 0..mix.1 {
            pacer.wait().await;
            client.introspect(&tokens[n as usize % tokens.len()]).await;
        }
        for n in 0..mix.2 {
            pacer.wait().await;
            client.revoke(&tokens[n as usize % tokens.len()]).await;
        }
    }
}

/// One reading of the server's memory and size gauges.
struct Sample {
    at: Duration,
    rss_kib: u64,
    anon_kib: u64,
    requests: u64,
    gauges: Vec<(String, String)>,
}

fn proc_status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// The `latch_in_memory_entries` gauges `/metrics` shows, by structure
/// (none on builds without them).
async fn size_gauges(http: &reqwest::Client, base: &str) -> Vec<(String, String)> {
    let Ok(response) = http.get(format!("{base}/metrics")).send().await else {
        return Vec::new();
    };
    let text = response.text().await.unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("latch_in_memory_entries{structure=\""))
        .filter_map(|l| l.split_once("\"} "))
        .map(|(structure, value)| (structure.to_string(), value.to_string()))
        .collect()
}

async fn sample(
    server: &Server,
    http: &reqwest::Client,
    started: Instant,
    counts: &Counts,
) -> Sample {
    let sample = Sample {
        at: started.elapsed(),
        rss_kib: proc_status_kib(server.pid(), "VmRSS:"),
        anon_kib: proc_status_kib(server.pid(), "RssAnon:"),
        requests: counts.total(),
        gauges: size_gauges(http, &server.base).await,
    };
    let gauges: Vec<String> = sample
        .gauges
        .iter()
        .map(|(n, v)| format!("{n}={v}"))
        .collect();
    println!(
        "  t={:>5.0}s  RSS {:>6.1} MiB  anon {:>6.1} MiB  requests {:>8}  {}",
        sample.at.as_secs_f64(),
        mib(sample.rss_kib),
        mib(sample.anon_kib),
        sample.requests,
        gauges.join(" ")
    );
    sample
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Least-squares slope of RSS over time, in MiB per minute.
fn slope_mib_per_min(samples: &[&Sample]) -> Option<f64> {
    if samples.len() < 2 {
        return None;
    }
    let n = samples.len() as f64;
    let xs: Vec<f64> = samples.iter().map(|s| s.at.as_secs_f64() / 60.0).collect();
    let ys: Vec<f64> = samples.iter().map(|s| mib(s.rss_kib)).collect();
    let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
    let sxy: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// Starts the connections; returns the flag that stops them.
fn start_load(
    server: &Server,
    http: &reqwest::Client,
    settings: &Settings,
    counts: &Arc<Counts>,
) -> (Arc<AtomicBool>, Vec<tokio::task::JoinHandle<()>>) {
    let client = Client {
        http: http.clone(),
        token_url: server.endpoint("token").into(),
        introspect_url: server.endpoint("token/introspect").into(),
        revoke_url: server.endpoint("revoke").into(),
        secret: server.secret.as_str().into(),
        counts: Arc::clone(counts),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let every = Duration::from_secs_f64(settings.connections as f64 / settings.rate as f64);
    let tasks = (0..settings.connections)
        .map(|_| {
            tokio::spawn(connection(
                client.clone(),
                settings.mix,
                every,
                Arc::clone(&stop),
            ))
        })
        .collect();
    (stop, tasks)
}

/// Samples every `every` until `until` has passed since `started`.
async fn sample_until(
    server: &Server,
    http: &reqwest::Client,
    started: Instant,
    counts: &Counts,
    every: Duration,
    until: Duration,
    samples: &mut Vec<Sample>,
) {
    loop {
        let next = every * (samples.len() as u32);
        if next > until {
            return;
        }
        tokio::time::sleep_until((started + next).into()).await;
        samples.push(sample(server, http, started, counts).await);
    }
}

fn report(settings: &Settings, samples: &[Sample], load_end: Duration, counts: &Counts) {
    let steady: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.at >= Duration::from_secs(60) && s.at <= load_end)
        .collect();
    let start = samples.first().map(|s| s.rss_kib).unwrap_or(0);
    let peak = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let last = samples.last().map(|s| s.rss_kib).unwrap_or(0);
    let during: Vec<&Sample> = samples.iter().filter(|s| s.at <= load_end).collect();
    let requests = during.last().map(|s| s.requests).unwrap_or(0);
    println!("\nRSS every {} s (MiB):", settings.sample.as_secs());
    let curve: Vec<String> = samples
        .iter()
        .map(|s| format!("{:.1}", mib(s.rss_kib)))
        .collect();
    println!("  {}", curve.join(" "));
    println!(
        "requests {} ({:.0}/s: {} minted, {} introspected, {} revoked, {} errors)",
        requests,
        requests as f64 / load_end.as_secs_f64(),
        counts.minted.load(Ordering::Relaxed),
        counts.introspected.load(Ordering::Relaxed),
        counts.revoked.load(Ordering::Relaxed),
        counts.errors.load(Ordering::Relaxed),
    );
    match slope_mib_per_min(&steady) {
        Some(slope) => println!(
            "slope after the first minute: {slope:.3} MiB/min ({:.0} bytes per request)",
            slope * 1024.0 * 1024.0 / (requests as f64 / load_end.as_secs_f64() * 60.0)
        ),
        None => println!("slope after the first minute: too few samples"),
    }
    println!(
        "RSS at start {:.1} MiB, peak {:.1} MiB, after every token expired {:.1} MiB",
        mib(start),
        mib(peak),
        mib(last)
    );
}

fn main() {
    let settings = Settings::from_env();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run(settings));
}

async fn run(settings: Settings) {
    let server = start_server();
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    server.wait_ready(&http).await;
    server.set_lifetime(settings.lifetime_s);
    // The server reads the realm change from the log (every 500 ms).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let drain = Duration::from_secs(settings.lifetime_s + INDEX_MARGIN_S + HOUSEKEEPING_S + 15);
    println!(
        "soak: {} ({}), {:.1} min at {} req/s over {} connections, mix mint:introspect:revoke {}:{}:{}, tokens live {} s; then {} s for them to expire",
        server_binary(),
        server.base,
        settings.load.as_secs_f64() / 60.0,
        settings.rate,
        settings.connections,
        settings.mix.0,
        settings.mix.1,
        settings.mix.2,
        settings.lifetime_s,
        drain.as_secs()
    );
    let counts = Arc::new(Counts::default());
    let started = Instant::now();
    let mut samples = Vec::new();
    let (stop, tasks) = start_load(&server, &http, &settings, &counts);
    sample_until(
        &server,
        &http,
        started,
        &counts,
        settings.sample,
        settings.load,
        &mut samples,
    )
    .await;
    tokio::time::sleep_until((started + settings.load).into()).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    let load_end = started.elapsed();
    println!(
        "load stopped at {:.0}s; waiting for every token to expire",
        load_end.as_secs_f64()
    );
    let until = load_end + drain;
    sample_until(
        &server,
        &http,
        started,
        &counts,
        settings.sample,
        until,
        &mut samples,
    )
    .await;
    tokio::time::sleep_until((started + until).into()).await;
    samples.push(sample(&server, &http, started, &counts).await);
    report(&settings, &samples, load_end, &counts);
}
