//! The revocation event stream: server-sent Security Event Tokens, in
//! order, filtered per client, resumable with Last-Event-ID.

use std::time::Duration;

use crate::helpers::{claims, header, spawn_app, Backend, TestApp};

struct Sse {
    response: reqwest::Response,
    buffer: String,
}

#[derive(Debug, Clone)]
struct Frame {
    id: i64,
    kind: String,
    set: serde_json::Value,
}

impl Sse {
    async fn open(app: &TestApp, client: (&str, &str), last_event_id: Option<i64>) -> Sse {
        let mut request = app
            .client
            .get(format!(
                "{}/protocol/openid-connect/revocations",
                app.issuer("demo")
            ))
            .basic_auth(client.0, Some(client.1));
        if let Some(id) = last_event_id {
            request = request.header("Last-Event-ID", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Sse {
            response,
            buffer: String::new(),
        }
    }

    /// The next event within `limit`, skipping comments; `None` on timeout.
    async fn next(&mut self, limit: Duration) -> Option<Frame> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut id, mut kind, mut data) = (None, None, None);
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = v.parse().ok();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        kind = Some(v.to_string());
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = Some(v.to_string());
                    }
                }
                if let (Some(id), Some(kind), Some(data)) = (id, kind, data) {
                    assert_eq!(header(&data)["typ"], "secevent+jwt");
                    return Some(Frame {
                        id,
                        kind,
                        set: claims(&data),
                    });
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk())
                .await
                .ok()?
                .ok()??;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// Revokes a service token of demo-app, ends a session of alice from the
/// command line and resets her password: a jti, a sid and a user event.
/// Returns the token and the sid.
async fn three_revocations(app: &TestApp) -> (String, String) {
    let service = app.service_token().await;
    assert_eq!(app.revoke(&service, None).await.status(), 200);
    let tokens = app.alice_tokens("openid").await;
    let sid = claims(tokens["access_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(app
        .cli(&["session", "end", "--realm", "demo", &sid])
        .status
        .success());
    let output = app.cli_with_stdin(
        &[
            "user",
            "set-password",
            "--realm",
            "demo",
            "--username",
            "alice",
        ],
        "another long passphrase\n",
    );
    assert!(output.status.success());
    (service, sid)
}

async fn subscribers_see_their_revocations_in_order_and_resume_exactly(backend: Backend) {
    let app = spawn_app(backend).await;
    let secret = app.demo_secret();
    let mut stream = Sse::open(&app, ("demo-app", &secret), None).await;
    let mut other = crate::helpers::new_client("bystander");
    other
        .grant_types
        .push(latch::directory::clients::GrantType::ClientCredentials);
    let other_secret = app.add_client("demo", other).await.unwrap();
    let mut bystander = Sse::open(&app, ("bystander", &other_secret), None).await;

    let (service, sid) = three_revocations(&app).await;

    let wait = Duration::from_secs(3);
    let first = stream.next(wait).await.expect("jti event");
    assert_eq!(first.kind, "jti");
    assert_eq!(first.set["latch"]["subject"], claims(&service)["jti"]);
    assert!(first.set["events"]
        .get("urn:latch:event-type:token-revoked")
        .is_some());
    assert_eq!(first.set["aud"], "demo-app");
    let second = stream.next(wait).await.expect("sid event");
    assert_eq!(second.kind, "sid");
    assert_eq!(
        second.set["sub_id"],
        serde_json::json!({"format": "opaque", "id": sid})
    );
    let session_revoked = &second.set["events"]
        ["https://schemas.openid.net/secevent/caep/event-type/session-revoked"];
    assert!(session_revoked["event_timestamp"].is_i64());
    let third = stream.next(wait).await.expect("user event");
    assert_eq!(third.kind, "user");
    let change = &third.set["events"]
        ["https://schemas.openid.net/secevent/caep/event-type/credential-change"];
    assert_eq!(change["credential_type"], "password");
    assert_eq!(change["change_type"], "update");
    assert_eq!(third.set["sub_id"]["format"], "iss_sub");
    assert!(first.id < second.id && second.id < third.id);

    // Resuming after the first event yields exactly the second and the third.
    let mut resumed = Sse::open(&app, ("demo-app", &secret), Some(first.id)).await;
    let again: Vec<i64> = vec![
        resumed.next(wait).await.unwrap().id,
        resumed.next(wait).await.unwrap().id,
    ];
    assert_eq!(again, vec![second.id, third.id]);
    assert!(
        resumed.next(Duration::from_millis(500)).await.is_none(),
        "nothing repeated"
    );

    // A client that never took part learns nothing of alice.
    assert!(bystander.next(Duration::from_millis(500)).await.is_none());
    assert!(app.cli(&["realm", "logout-all", "demo"]).status.success());
    let realm = bystander
        .next(wait)
        .await
        .expect("realm events concern everyone");
    assert_eq!(realm.kind, "realm");
}

async fn the_stream_is_for_authenticated_clients(backend: Backend) {
    let app = spawn_app(backend).await;
    let response = app
        .get("/realms/demo/protocol/openid-connect/revocations")
        .await;
    assert_eq!(response.status(), 401);
    let wrong = app
        .client
        .get(format!(
            "{}/protocol/openid-connect/revocations",
            app.issuer("demo")
        ))
        .basic_auth("demo-app", Some("wrong-secret-wrong-secret-wrong-secret"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
}

crate::both_backends!(
    subscribers_see_their_revocations_in_order_and_resume_exactly,
    the_stream_is_for_authenticated_clients,
    a_removed_authenticator_app_is_a_credential_change,
);

/// Removing an authenticator app ends the session that used it: the
/// stream says so as CAEP credential-change (`app`, `delete`) about the
/// user in that session.
async fn a_removed_authenticator_app_is_a_credential_change(backend: Backend) {
    use crate::second_factor as factor;
    let app = spawn_app(backend).await;
    let secret = app.demo_secret();
    let password = app.alice_password();
    factor::require_totp(&app, "alice").await;
    let (totp, _) = factor::enrol(&app, &app.browser(), "alice", &password).await;
    let browser = app.browser();
    let (url, verifier) = app.demo_auth_url("openid", &[]);
    let form = factor::code_form_for(&app, &browser, &url, "alice", &password).await;
    let response = app.submit(&browser, form.with("otp", &totp.code(1))).await;
    let code = crate::helpers::location_params(&response)["code"].clone();
    let tokens = app.redeem(&code, &verifier).await;
    let access = claims(tokens["access_token"].as_str().unwrap());
    let mut stream = Sse::open(&app, ("demo-app", &secret), None).await;

    let alice = factor::user_id(&app, "alice").await;
    let (_, list) = app
        .admin(
            reqwest::Method::GET,
            &format!("/demo/users/{alice}/credentials"),
            serde_json::Value::Null,
        )
        .await;
    let otp = list[1]["id"].as_str().unwrap().to_string();
    let (status, _) = app
        .admin(
            reqwest::Method::DELETE,
            &format!("/demo/users/{alice}/credentials/{otp}"),
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(status, 204);
    let key = "https://schemas.openid.net/secevent/caep/event-type/credential-change";
    loop {
        let frame = stream
            .next(Duration::from_secs(3))
            .await
            .expect("a credential-change event");
        if frame.kind != "sid" {
            continue;
        }
        let change = &frame.set["events"][key];
        assert_eq!(change["credential_type"], "app", "{}", frame.set);
        assert_eq!(change["change_type"], "delete");
        assert_eq!(frame.set["sub_id"]["format"], "complex");
        assert_eq!(frame.set["sub_id"]["user"]["sub"], alice.as_str());
        assert_eq!(frame.set["sub_id"]["session"]["id"], access["sid"]);
        break;
    }
}
