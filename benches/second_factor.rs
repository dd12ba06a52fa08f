//! What a second factor adds to a sign-in, on one core: the password check
//! (argon2id, the sign-in's main cost) beside the code check (the sealed
//! secret opened, the ±1 window's codes computed and compared). The code's
//! other cost is one database insert (the step claimed), measured by the
//! API tests' timings, not here.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

use criterion::{criterion_group, criterion_main, Criterion};
use latch::crypto::MasterKey;
use latch::login::second_factor::SECRET_PURPOSE;
use latch::login::totp::{self, OtpParams};

fn sign_in(c: &mut Criterion) {
    let stored = latch::login::password::hash("correct horse battery staple").unwrap();
    c.bench_function("password check (argon2id)", |b| {
        b.iter(|| latch::login::password::verify("correct horse battery staple", &stored))
    });

    let master = MasterKey::generate();
    let secret = totp::new_secret();
    let sealed = master.seal(SECRET_PURPOSE, b"credential-id", &secret);
    let params = OtpParams {
        sub_type: "totp".into(),
        digits: 6,
        period: 30,
        algorithm: "HmacSHA1".into(),
        counter: 0,
    };
    let now = 1_800_000_015;
    let code = totp::code_at(&secret, &params, now + 30);
    c.bench_function("second factor code check (open + window of 3)", |b| {
        b.iter(|| {
            let secret = master
                .open(SECRET_PURPOSE, b"credential-id", &sealed)
                .unwrap();
            totp::matching_step(&secret, &params, &code, now, 1).unwrap()
        })
    });
    c.bench_function("enrolment page (secret, URI, QR code as SVG)", |b| {
        b.iter(|| {
            let secret = totp::new_secret();
            let uri = totp::otpauth_uri(&secret, &params, "demo", "alice");
            totp::qr_svg(&uri).unwrap().len()
        })
    });
}

criterion_group!(benches, sign_in);
criterion_main!(benches);
