//! The logout request, and the ID token hint it may carry.
#![no_main]

use latch_protocol::{jws, logout, Params};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(params) = Params::parse(data) else {
        return;
    };
    if let Ok(request) = logout::parse(&params) {
        if let Some(hint) = &request.id_token_hint {
            let _ = jws::parse(hint, "JWT");
        }
        assert!(
            request.post_logout_redirect_uri.is_none()
                || request.client_id.is_some()
                || request.id_token_hint.is_some()
        );
    }
});
