//! The authorization request: parameters, target, and the rest.
#![no_main]

use latch_protocol::{authorize, Params};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(params) = Params::parse(data) else {
        return;
    };
    if let Ok(target) = authorize::target(&params) {
        let _ = authorize::loopback_matches("http://127.0.0.1/callback", &target.redirect_uri);
    }
    if let Ok(request) = authorize::parse(&params) {
        if let Some(challenge) = &request.code_challenge {
            assert!(latch_protocol::pkce::valid_value(challenge));
        }
        assert!(!(request.prompt.none && request.prompt.login));
    }
    let _ = params.encode();
});
