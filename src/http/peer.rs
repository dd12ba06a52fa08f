//! Who is on the other end of a request: the address and the browser, as
//! the audit trail and the user's list of devices record them.

use actix_web::http::header;
use actix_web::HttpRequest;

use crate::login::session::Origin;

/// The caller's IP address (the direct peer; Latch trusts no forwarding header).
pub fn ip(req: &HttpRequest) -> Option<String> {
    req.peer_addr().map(|a| a.ip().to_string())
}

/// Where a sign-in comes from.
pub fn origin(req: &HttpRequest) -> Origin {
    Origin {
        user_agent: req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        ip: ip(req),
    }
}
