//! An API that accepts Latch access tokens and honours revocation.
//!
//! ```sh
//! LATCH_ISSUER=http://127.0.0.1:8080/realms/demo \
//! LATCH_CLIENT_ID=my-api LATCH_CLIENT_SECRET=... \
//! cargo run --example resource_server
//! ```
//!
//! The client must be registered with `--introspect-any` (a resource server)
//! so Latch's event stream tells it about every token of the realm.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::too_many_lines
)]

#[path = "resource_server/api.rs"]
mod api;

use actix_web::{web, App, HttpServer};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("set {name}"));
    let listen = std::env::var("LISTEN").unwrap_or_else(|_| "127.0.0.1:8090".into());
    let verifier = latch::verify::Verifier::start(
        &var("LATCH_ISSUER"),
        &var("LATCH_CLIENT_ID"),
        &var("LATCH_CLIENT_SECRET"),
    )
    .await
    .map_err(std::io::Error::other)?;
    println!("resource server on http://{listen} (GET /api/me, WebSocket /ws)");
    HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(verifier.clone()))
            .configure(api::routes)
    })
    .bind(listen)?
    .run()
    .await
}
