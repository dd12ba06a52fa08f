//! The revocation index check alone, with 1,000,000 revoked jtis and
//! 100,000 ended sessions in it. Also reports the index's memory per entry
//! (RSS growth while filling it).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use criterion::{criterion_group, criterion_main, Criterion};
use latch::revocation::{Index, TokenFacts};

fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

fn filled_index() -> (Index, String, String) {
    const JTIS: usize = 1_000_000;
    const SIDS: usize = 100_000;
    let ids: Vec<String> = (0..JTIS + SIDS)
        .map(|_| latch::crypto::random_token::<16>())
        .collect();
    let before = rss_bytes();
    let index = Index::default();
    for jti in &ids[..JTIS] {
        index.insert_denied(jti, None, i64::MAX);
    }
    for sid in &ids[JTIS..] {
        index.insert_denied(&latch::crypto::random_token::<16>(), Some(sid), i64::MAX);
    }
    let grown = rss_bytes().saturating_sub(before);
    let entries = index.len();
    eprintln!(
        "index: {entries} entries, RSS grew {:.1} MiB = {:.1} bytes per entry",
        grown as f64 / 1048576.0,
        grown as f64 / entries as f64
    );
    (index, ids[0].clone(), ids[JTIS].clone())
}

fn bench(c: &mut Criterion) {
    let (index, revoked_jti, ended_sid) = filled_index();
    let live_jti = latch::crypto::random_token::<16>();
    let live_sid = latch::crypto::random_token::<16>();
    let facts = |jti: &'static str, sid: &'static str| TokenFacts {
        realm_id: "realm",
        jti,
        sid: Some(sid),
        subject: "user",
        client_id: "client",
        issued_at_ms: 1,
    };
    let (live_jti, live_sid): (&'static str, &'static str) = (
        Box::leak(live_jti.into_boxed_str()),
        Box::leak(live_sid.into_boxed_str()),
    );
    let (revoked_jti, ended_sid): (&'static str, &'static str) = (
        Box::leak(revoked_jti.into_boxed_str()),
        Box::leak(ended_sid.into_boxed_str()),
    );
    c.bench_function("index check, live token", |b| {
        b.iter(|| {
            index
                .check(std::hint::black_box(&facts(live_jti, live_sid)))
                .is_ok()
        })
    });
    c.bench_function("index check, revoked jti", |b| {
        b.iter(|| {
            index
                .check(std::hint::black_box(&facts(revoked_jti, live_sid)))
                .is_err()
        })
    });
    c.bench_function("index check, ended session", |b| {
        b.iter(|| {
            index
                .check(std::hint::black_box(&facts(live_jti, ended_sid)))
                .is_err()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
