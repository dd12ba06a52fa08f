//! The token request: an Authorization header line, then the form body.
#![no_main]

use latch_protocol::{token, Params};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(0);
    let (header, body) = data.split_at(split);
    let header = std::str::from_utf8(header).ok().filter(|h| !h.is_empty());
    let basic = token::basic_credentials(header);
    let Ok(params) = Params::parse(body.get(1..).unwrap_or_default()) else {
        return;
    };
    if let Ok(basic) = basic {
        let _ = token::client_credentials(basic, &params);
    }
    if let Ok(request) = token::parse(&params) {
        if let token::Grant::AuthorizationCode {
            code_verifier: Some(v),
            ..
        } = &request.grant
        {
            let _ = latch_protocol::pkce::s256_matches(
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                v,
            );
        }
    }
});
