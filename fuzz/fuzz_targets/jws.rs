//! Token parsing: structure, header policy, claims and time checks.
#![no_main]

use latch_protocol::jws;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    for typ in [
        "at+jwt",
        "JWT",
        "logout+jwt",
        "secevent+jwt",
        "statuslist+jwt",
    ] {
        if let Ok(parsed) = jws::parse(token, typ) {
            // What the signature covers is the token's own first two parts.
            assert!(token.starts_with(parsed.signing_input));
            assert_eq!(parsed.signing_input.matches('.').count(), 1);
            if let Ok(claims) = serde_json::from_slice::<serde_json::Value>(&parsed.payload) {
                let number = |name: &str| claims.get(name).and_then(|v| v.as_i64());
                if let (Some(exp), Some(iat)) = (number("exp"), number("iat")) {
                    let _ = jws::check_times(exp, iat, number("nbf"), 1_800_000_000, 30);
                }
            }
        }
    }
});
