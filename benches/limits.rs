//! The rate limiter's own cost per request: one `take` on a bucket keyed by
//! an IP address, with 100,000 other addresses' buckets present (and the
//! failure-budget peek the sign-in path does first).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use criterion::{criterion_group, criterion_main, Criterion};
use latch::limits::{Limiter, Rate};

fn limiter(c: &mut Criterion) {
    let limiter = Limiter::new(Rate::per_second(1_000_000, 1_000_000));
    let addresses: Vec<String> = (0..100_000u32)
        .map(|i| format!("10.{}.{}.{}", i >> 16, (i >> 8) & 255, i & 255))
        .collect();
    for ip in &addresses {
        let _ = limiter.take(&("protocol", ip.as_str()), 0);
    }
    let mut now = 0i64;
    let mut i = 0usize;
    c.bench_function("limiter take (100k keys)", |b| {
        b.iter(|| {
            now += 1;
            i = (i + 7919) % addresses.len();
            limiter.take(&("protocol", addresses[i].as_str()), now)
        })
    });
    let failures = Limiter::new(Rate::per_minute(30));
    c.bench_function("failure budget peek (hit)", |b| {
        b.iter(|| {
            i = (i + 7919) % addresses.len();
            failures.exhausted(&("login", addresses[i].as_str()), now)
        })
    });
}

criterion_group!(benches, limiter);
criterion_main!(benches);
