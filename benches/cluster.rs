//! Fan-out between nodes: three `latch serve` processes on one PostgreSQL
//! and Redis. Revocations go through node A; for each, the time until
//! nodes B and C both report the token inactive is measured (introspection
//! polled every half millisecond). Then the same with Redis unreachable for
//! B and C (polling only), and the sustained revocation rate through A.
//!
//! ```sh
//! cargo bench --bench cluster -- [--revocations N] [--postgres URL] [--redis URL]
//! ```
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Node {
    child: Child,
    base: String,
}

impl Drop for Node {
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
    latch::store::init_crypto_library();
    let name = format!("latch_bench_{}", latch::crypto::random_id());
    let mut conn = diesel::PgConnection::establish(admin).expect("PostgreSQL reachable");
    conn.batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let mut url = url::Url::parse(admin).unwrap();
    url.set_path(&name);
    url.to_string()
}

async fn start(
    db: &str,
    key: &str,
    redis: &str,
    channel: &str,
    poll_ms: u64,
    public_base: &str,
) -> Node {
    let port = free_port();
    let dir = std::env::temp_dir();
    let child = Command::new(env!("CARGO_BIN_EXE_latch"))
        .args(["serve", "--demo", "--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--public-base",
            public_base,
            "--redis",
            redis,
            "--revocation-poll-ms",
            &poll_ms.to_string(),
        ])
        .current_dir(dir)
        .env("LATCH_DATABASE", db)
        .env("LATCH_MASTER_KEY", key)
        .env("LATCH_REDIS_CHANNEL", channel)
        .env("LATCH_WORKERS", "1")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    for _ in 0..400 {
        if let Ok(r) = http.get(format!("{base}/health/ready")).send().await {
            let v: serde_json::Value = r.json().await.unwrap_or_default();
            if v["checks"]["fanout"] == "connected"
                || (redis.ends_with(":1") && v["status"] == "UP")
            {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Node { child, base }
}

fn percentiles(mut v: Vec<f64>) -> String {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let p = |q: f64| v[((v.len() as f64 * q) as usize).min(v.len() - 1)];
    format!(
        "p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms over {}",
        p(0.5),
        p(0.99),
        v[v.len() - 1],
        v.len()
    )
}

struct Cluster {
    a: Node,
    others: Vec<Node>,
    secret: String,
}

async fn mint(http: &reqwest::Client, base: &str, secret: &str, n: usize) -> Vec<String> {
    let mut tokens = Vec::with_capacity(n);
    for _ in 0..n {
        let v: serde_json::Value = http
            .post(format!("{base}/realms/demo/protocol/openid-connect/token"))
            .basic_auth("demo-app", Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        tokens.push(v["access_token"].as_str().unwrap().to_string());
    }
    tokens
}

async fn active(http: &reqwest::Client, base: &str, secret: &str, token: &str) -> bool {
    let v: serde_json::Value = http
        .post(format!(
            "{base}/realms/demo/protocol/openid-connect/token/introspect"
        ))
        .basic_auth("demo-app", Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["active"] == true
}

/// Revokes each token through A and waits until every other node rejects it.
async fn propagation(
    cluster: &Arc<Cluster>,
    tokens: Vec<String>,
    workers: usize,
    limit: Duration,
) -> (Vec<f64>, usize) {
    let queue = Arc::new(std::sync::Mutex::new(tokens));
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (cluster, queue) = (cluster.clone(), queue.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let (mut lat, mut misses) = (Vec::new(), 0);
            loop {
                let Some(token) = queue.lock().unwrap().pop() else {
                    break;
                };
                let response = http
                    .post(format!(
                        "{}/realms/demo/protocol/openid-connect/revoke",
                        cluster.a.base
                    ))
                    .basic_auth("demo-app", Some(&cluster.secret))
                    .form(&[("token", token.as_str())])
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 200);
                let t0 = Instant::now();
                let mut pending: Vec<&Node> = cluster.others.iter().collect();
                while !pending.is_empty() && t0.elapsed() < limit {
                    let mut still = Vec::new();
                    for node in pending {
                        if active(&http, &node.base, &cluster.secret, &token).await {
                            still.push(node);
                        }
                    }
                    pending = still;
                    if !pending.is_empty() {
                        tokio::time::sleep(Duration::from_micros(500)).await;
                    }
                }
                if pending.is_empty() {
                    lat.push(t0.elapsed().as_secs_f64() * 1000.0);
                } else {
                    misses += 1;
                }
            }
            (lat, misses)
        }));
    }
    let (mut all, mut misses) = (Vec::new(), 0);
    for t in tasks {
        let (l, m) = t.await.unwrap();
        all.extend(l);
        misses += m;
    }
    (all, misses)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let revocations: usize = arg("--revocations")
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let postgres =
        arg("--postgres").unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let redis = arg("--redis").unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let key = latch::crypto::MasterKey::generate().encode();
        let secret = latch::directory::bootstrap::demo_client_secret(&latch::crypto::MasterKey::parse(&key).unwrap());
        let base = "https://id.latch.test";
        let http = reqwest::Client::new();

        let db = fresh_postgres(&postgres);
        let channel = format!("latch-bench:{}", latch::crypto::random_id());
        let a = start(&db, &key, &redis, &channel, 500, base).await;
        let others = vec![start(&db, &key, &redis, &channel, 500, base).await, start(&db, &key, &redis, &channel, 500, base).await];
        let cluster = Arc::new(Cluster { a, others, secret: secret.clone() });
        eprintln!("minting {revocations} tokens");
        let tokens = mint(&http, &cluster.a.base, &secret, revocations).await;
        let started = Instant::now();
        let (lat, misses) = propagation(&cluster, tokens, 8, Duration::from_secs(2)).await;
        println!(
            "fan-out (Redis up, poll 500 ms): revoke on A → rejected on B and C: {}; misses {misses}; {:.0} revocations/s with the checks",
            percentiles(lat),
            revocations as f64 / started.elapsed().as_secs_f64()
        );

        let sustained = mint(&http, &cluster.a.base, &secret, 20_000).await;
        let queue = Arc::new(std::sync::Mutex::new(sustained));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..32 {
            let (queue, cluster) = (queue.clone(), cluster.clone());
            tasks.push(tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut n = 0;
                while let Some(token) = { let t = queue.lock().unwrap().pop(); t } {
                    let r = http
                        .post(format!("{}/realms/demo/protocol/openid-connect/revoke", cluster.a.base))
                        .basic_auth("demo-app", Some(&cluster.secret))
                        .form(&[("token", token.as_str())])
                        .send()
                        .await
                        .unwrap();
                    if r.status() == 200 {
                        n += 1;
                    }
                }
                n
            }));
        }
        let mut done = 0;
        for t in tasks {
            done += t.await.unwrap();
        }
        println!("sustained: {:.0} durable revocations/s through node A (3 nodes on 2 cores, Redis fan-out on)", done as f64 / started.elapsed().as_secs_f64());
        drop(cluster);

        let channel = format!("latch-bench:{}", latch::crypto::random_id());
        let a = start(&db, &key, &redis, &channel, 500, base).await;
        let others = vec![
            start(&db, &key, "redis://127.0.0.1:1", &channel, 500, base).await,
            start(&db, &key, "redis://127.0.0.1:1", &channel, 500, base).await,
        ];
        let cluster = Arc::new(Cluster { a, others, secret: secret.clone() });
        let tokens = mint(&http, &cluster.a.base, &secret, 200).await;
        let (lat, misses) = propagation(&cluster, tokens, 8, Duration::from_secs(3)).await;
        println!("polling only (Redis unreachable for B and C, poll 500 ms): {}; misses {misses}", percentiles(lat));
    });
}
