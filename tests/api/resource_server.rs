//! The example API (examples/resource_server): tokens checked locally,
//! revocations learned from the event stream, sockets closed on revocation.

#[path = "../../examples/resource_server/api.rs"]
mod api;

use std::time::{Duration, Instant};

use actix_web::{web, App, HttpServer};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

use crate::helpers::{spawn_app, Backend, TestApp};

async fn start_api(app: &TestApp) -> String {
    let mut client = crate::helpers::new_client("my-api");
    client.introspect_any = true;
    let secret = app.add_client("demo", client).await.unwrap();
    let verifier = latch::verify::Verifier::start(&app.issuer("demo"), "my-api", &secret)
        .await
        .unwrap();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(verifier.clone()))
            .configure(api::routes)
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let addr = server.addrs()[0];
    tokio::spawn(server.run());
    // Let the verifier's event stream connect.
    tokio::time::sleep(Duration::from_millis(300)).await;
    format!("127.0.0.1:{}", addr.port())
}

async fn example_api_rejects_revoked_tokens_and_closes_their_sockets(backend: Backend) {
    let app = spawn_app(backend).await;
    let api = start_api(&app).await;
    let http = reqwest::Client::new();
    let me = |token: String| {
        let (http, api) = (http.clone(), api.clone());
        async move {
            http.get(format!("http://{api}/api/me"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };

    let tokens = app.alice_tokens("openid").await;
    let access = tokens["access_token"].as_str().unwrap().to_string();
    assert_eq!(me(access.clone()).await, 200);
    assert_eq!(app.revoke(&access, None).await.status(), 200);
    let started = Instant::now();
    while me(access.clone()).await != 401 {
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the API never learned of the revocation"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rest_took = started.elapsed();

    let tokens = app.alice_tokens("openid").await;
    let access = tokens["access_token"].as_str().unwrap();
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{api}/ws?access_token={access}"))
            .await
            .unwrap();
    socket.send(Message::Text("ping".into())).await.unwrap();
    let echo = socket.next().await.unwrap().unwrap();
    assert_eq!(echo.into_text().unwrap().as_str(), "ping");

    let logout = format!(
        "{}/protocol/openid-connect/logout?id_token_hint={}",
        app.issuer("demo"),
        tokens["id_token"].as_str().unwrap()
    );
    let logout_started = Instant::now();
    assert_eq!(
        app.browser().get(&logout).send().await.unwrap().status(),
        200
    );
    let closed = tokio::time::timeout(Duration::from_secs(2), socket.next())
        .await
        .expect("socket closed")
        .unwrap()
        .unwrap();
    let ws_took = logout_started.elapsed();
    match closed {
        Message::Close(Some(frame)) => {
            assert_eq!(u16::from(frame.code), 1008);
            assert_eq!(frame.reason.as_str(), "token revoked");
        }
        other => panic!("expected a close frame, got {other:?}"),
    }
    assert!(
        ws_took < Duration::from_millis(100),
        "socket closed {ws_took:?} after end-session"
    );

    // Checked by status list: the list fetched after a revocation shows it.
    let revoked = app.service_token().await;
    let kept = app.service_token().await;
    assert_eq!(app.revoke(&revoked, None).await.status(), 200);
    let by_list = |token: String| {
        let (http, api) = (http.clone(), api.clone());
        async move {
            http.get(format!("http://{api}/api/me/status-list"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(by_list(revoked).await, 401);
    assert_eq!(by_list(kept).await, 200);
    assert!(
        rest_took < Duration::from_millis(100),
        "REST rejection after {rest_took:?}"
    );
    assert_eq!(me(access.to_string()).await, 401);
}

crate::both_backends!(example_api_rejects_revoked_tokens_and_closes_their_sockets);
