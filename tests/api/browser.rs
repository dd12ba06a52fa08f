//! End to end in a real, headless Chromium (Debian's `chromium` driven
//! through `chromedriver`): an operator signs in to the admin console,
//! creates a user, sees that user's session appear when they sign in from a
//! second browser, ends it, and the user's next request is refused; then
//! the user signs out another device from the account page. A single-page
//! app served from another origin signs in with PKCE and calls the token
//! and userinfo endpoints with `fetch`, so Chromium itself enforces CORS.
//! Screenshots go to `test-output/browser/`.
//!
//! Without chromedriver on the machine the test says so and passes, unless
//! `LATCH_BROWSER_TESTS=require` (as in CI), when it fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};

use crate::helpers::{free_port, Backend, TestApp};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// chromedriver on a free port, stopped on drop.
pub(crate) struct Driver {
    child: Child,
    pub(crate) url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn start_driver() -> Driver {
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let url = format!("http://127.0.0.1:{port}");
    let driver = Driver { child, url };
    for _ in 0..100 {
        if reqwest::get(format!("{}/status", driver.url)).await.is_ok() {
            return driver;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

/// A new browser with its own profile: its own cookies, its own sessions.
/// Its console is kept (`goog:loggingPrefs`), for tests that read it.
pub(crate) async fn browser(driver: &Driver, profile: &Path) -> Client {
    let args = [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,900",
        &format!("--user-data-dir={}", profile.display()),
    ];
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "binary": CHROMIUM, "args": args }),
    );
    caps.insert(
        "goog:loggingPrefs".into(),
        serde_json::json!({ "browser": "ALL" }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

struct Shots {
    dir: PathBuf,
    taken: usize,
}

impl Shots {
    fn new() -> Shots {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("test-output/browser");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Shots { dir, taken: 0 }
    }

    async fn take(&mut self, browser: &Client, name: &str) {
        self.taken += 1;
        let png = browser.screenshot().await.expect("screenshot");
        std::fs::write(self.dir.join(format!("{:02}-{name}.png", self.taken)), png).unwrap();
    }
}

pub(crate) async fn fill(browser: &Client, selector: &str, value: &str) {
    let field = browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"));
    field.send_keys(value).await.unwrap();
}

pub(crate) async fn click(browser: &Client, selector: &str) {
    browser
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("{selector}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Waits until the page's heading is `expected` (pages change under a
/// click, so an element found a moment ago may already be gone).
pub(crate) async fn expect_heading(browser: &Client, expected: &str) {
    let mut seen = String::new();
    for _ in 0..100 {
        if let Ok(h1) = browser.find(Locator::Css("h1")).await {
            if let Ok(text) = h1.text().await {
                if text == expected {
                    return;
                }
                seen = text;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let url = browser
        .current_url()
        .await
        .map(|u| u.to_string())
        .unwrap_or_default();
    panic!("expected the page `{expected}`, still on `{seen}` at {url}");
}

/// On a login page: username, password, submit.
pub(crate) async fn sign_in(browser: &Client, username: &str, password: &str) {
    expect_heading(browser, "Sign in").await;
    fill(browser, "#username", username).await;
    fill(browser, "#password", password).await;
    click(browser, "form button[type=submit]").await;
}

/// Waits until the page shows `text`.
async fn expect_text(browser: &Client, text: &str) {
    for _ in 0..100 {
        if browser.source().await.is_ok_and(|html| html.contains(text)) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the page never showed `{text}`");
}

async fn live_sessions_of(app: &TestApp, username: &str) -> usize {
    let (status, sessions) = app
        .admin(
            reqwest::Method::GET,
            "/demo/sessions",
            serde_json::Value::Null,
        )
        .await;
    assert_eq!(status, 200);
    sessions
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["username"] == username)
        .count()
}

/// Whether chromedriver is here; without it a test is skipped, unless
/// `LATCH_BROWSER_TESTS=require`.
pub(crate) fn chromium_available() -> bool {
    if Path::new(CHROMEDRIVER).exists() {
        return true;
    }
    let required = std::env::var("LATCH_BROWSER_TESTS").is_ok_and(|v| v == "require");
    assert!(
        !required,
        "{CHROMEDRIVER} is missing and LATCH_BROWSER_TESTS=require"
    );
    eprintln!("skipping a Chromium test: {CHROMEDRIVER} is not installed (apt-get install chromium chromium-driver)");
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_ends_a_session_and_a_user_signs_out_a_device_in_chromium() {
    if !chromium_available() {
        return;
    }
    let app = crate::helpers::spawn_app(Backend::Sqlite).await;
    let driver = start_driver().await;
    let profiles = tempfile::tempdir().unwrap();
    let mut shots = Shots::new();
    let admin_password = app.admin_password.clone().unwrap();

    // The operator signs in to the console through Latch's own login.
    let operator = browser(&driver, &profiles.path().join("operator")).await;
    operator.goto(&app.url("/admin/console")).await.unwrap();
    sign_in(&operator, "admin", &admin_password).await;
    expect_heading(&operator, "Realms").await;
    shots.take(&operator, "console-realms").await;

    // … and creates a user.
    operator
        .goto(&app.url("/admin/console/realms/demo/users"))
        .await
        .unwrap();
    fill(&operator, "#new-user #username", "bob").await;
    fill(&operator, "#new-user #password", "bob's first password").await;
    click(&operator, "#new-user button[type=submit]").await;
    expect_heading(&operator, "bob").await;
    shots.take(&operator, "console-user-created").await;

    // Bob signs in from a second browser and sees his account page.
    let laptop = browser(&driver, &profiles.path().join("laptop")).await;
    laptop.goto(&app.url("/realms/demo/account")).await.unwrap();
    sign_in(&laptop, "bob", "bob's first password").await;
    expect_heading(&laptop, "Your account").await;
    shots.take(&laptop, "account-signed-in").await;

    // The operator sees bob's session and ends it (with a confirmation).
    operator
        .goto(&app.url("/admin/console/realms/demo/sessions"))
        .await
        .unwrap();
    let row = operator
        .wait()
        .at_most(Duration::from_secs(10))
        .for_element(Locator::Css("tr[data-user=\"bob\"]"))
        .await
        .expect("bob's session is listed");
    assert!(
        row.text().await.unwrap().contains("Chrome"),
        "the device is named"
    );
    shots.take(&operator, "console-sessions").await;
    click(&operator, "tr[data-user=\"bob\"] button").await;
    expect_heading(&operator, "End session").await;
    shots.take(&operator, "console-confirm").await;
    click(&operator, "#confirm").await;
    expect_heading(&operator, "Sessions").await;
    expect_text(&operator, "Session ended").await;
    assert!(
        operator
            .find(Locator::Css("tr[data-user=\"bob\"]"))
            .await
            .is_err(),
        "the row is gone"
    );
    shots.take(&operator, "console-session-ended").await;
    assert_eq!(live_sessions_of(&app, "bob").await, 0);

    // Bob's next request is refused: the account page asks him to sign in.
    laptop.refresh().await.unwrap();
    expect_heading(&laptop, "Sign in").await;
    shots.take(&laptop, "account-session-ended").await;

    // Bob signs in on the laptop and on a phone, then signs the phone out
    // from the laptop's account page.
    sign_in(&laptop, "bob", "bob's first password").await;
    expect_heading(&laptop, "Your account").await;
    let phone = browser(&driver, &profiles.path().join("phone")).await;
    phone.goto(&app.url("/realms/demo/account")).await.unwrap();
    sign_in(&phone, "bob", "bob's first password").await;
    expect_heading(&phone, "Your account").await;
    assert_eq!(live_sessions_of(&app, "bob").await, 2);
    laptop.refresh().await.unwrap();
    let rows = laptop
        .find_all(Locator::Css("#sessions tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    shots.take(&laptop, "account-two-devices").await;
    click(&laptop, "#sessions tbody tr button.danger").await;
    expect_text(&laptop, "That device is signed out").await;
    assert_eq!(
        laptop
            .find_all(Locator::Css("#sessions tbody tr"))
            .await
            .unwrap()
            .len(),
        1
    );
    shots.take(&laptop, "account-device-signed-out").await;
    phone.refresh().await.unwrap();
    expect_heading(&phone, "Sign in").await;
    assert_eq!(live_sessions_of(&app, "bob").await, 1);

    for client in [operator, laptop, phone] {
        let _ = client.close().await;
    }
    assert!(shots.taken >= 8);
}

/// Serves one HTML page for every path on a free port of 127.0.0.1: a
/// web origin of its own. `@BODY@` in the page becomes the request's body
/// (HTML-escaped), so a page can show what was posted to it. Returns the
/// origin.
async fn serve_page(html: String) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let html = html.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                let head_end = loop {
                    if let Some(at) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        break at + 4;
                    }
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                };
                let head = String::from_utf8_lossy(&request[..head_end]).to_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while request.len() < head_end + length {
                    match stream.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let body = String::from_utf8_lossy(&request[head_end..head_end + length])
                    .replace('&', "&amp;")
                    .replace('<', "&lt;");
                let html = html.replace("@BODY@", &body);
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
                    html.len()
                );
                let _ = stream.write_all(response.as_bytes()).await;
            });
        }
    });
    origin
}

/// A single-page app's callback: redeems the code with `fetch`, then calls
/// userinfo with the access token (a request that needs a preflight), and
/// writes what it could read into `#out`.
fn spa_page(app: &TestApp, verifier: &str) -> String {
    let token = app.url("/realms/demo/protocol/openid-connect/token");
    let userinfo = app.url("/realms/demo/protocol/openid-connect/userinfo");
    format!(
        r#"<!doctype html><meta charset="utf-8"><title>SPA</title><pre id="out">working</pre>
<script>
(async () => {{
  const out = document.getElementById("out");
  try {{
    const code = new URLSearchParams(location.search).get("code") || "no-code";
    const redeemed = await fetch("{token}", {{
      method: "POST",
      body: new URLSearchParams({{
        grant_type: "authorization_code", code, client_id: "spa",
        redirect_uri: location.origin + "/callback", code_verifier: "{verifier}"
      }})
    }});
    const tokens = await redeemed.json();
    const info = await fetch("{userinfo}", {{
      headers: {{ Authorization: "Bearer " + tokens.access_token }}
    }});
    const claims = await info.json();
    out.textContent = JSON.stringify({{
      token: redeemed.status, userinfo: info.status, username: claims.preferred_username
    }});
  }} catch (e) {{
    out.textContent = "blocked: " + e.name;
  }}
}})();
</script>"#
    )
}

/// Opens a code request of realm `demo` (`openid`, S256 PKCE, and
/// `params`: client, redirect URI, state, challenge…) and signs alice in.
async fn alice_signs_in_to(browser: &Client, app: &TestApp, params: &[(&str, &str)]) {
    let mut all = vec![
        ("response_type", "code"),
        ("scope", "openid"),
        ("code_challenge_method", "S256"),
    ];
    all.extend_from_slice(params);
    browser.goto(&app.auth_url("demo", &all)).await.unwrap();
    sign_in(browser, "alice", &app.alice_password()).await;
}

/// Waits until `#out` no longer says `working`; returns what it says.
async fn page_result(browser: &Client) -> String {
    for _ in 0..100 {
        if let Ok(out) = browser.find(Locator::Css("#out")).await {
            if let Ok(text) = out.text().await {
                if text != "working" {
                    return text;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the page's script never finished");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_page_app_on_another_origin_signs_in_with_cors_in_chromium() {
    if !chromium_available() {
        return;
    }
    let app = crate::helpers::spawn_app(Backend::Sqlite).await;
    let (verifier, challenge) = crate::helpers::pkce();
    let spa = serve_page(spa_page(&app, &verifier)).await;
    let elsewhere = serve_page(spa_page(&app, &verifier)).await;
    let callback = format!("{spa}/callback");
    let (status, _) = app
        .admin(
            reqwest::Method::POST,
            "/demo/clients",
            serde_json::json!({
                "clientId": "spa", "publicClient": true,
                "redirectUris": [callback], "webOrigins": ["+"]
            }),
        )
        .await;
    assert_eq!(status, 201);
    let driver = start_driver().await;
    let profiles = tempfile::tempdir().unwrap();
    let chromium = browser(&driver, &profiles.path().join("spa")).await;

    // The app's own origin: sign-in, then the code and userinfo over CORS.
    alice_signs_in_to(
        &chromium,
        &app,
        &[
            ("client_id", "spa"),
            ("redirect_uri", &callback),
            ("state", "s1"),
            ("code_challenge", &challenge),
        ],
    )
    .await;
    let result: serde_json::Value =
        serde_json::from_str(&page_result(&chromium).await).expect("the app read both answers");
    assert_eq!(
        result,
        serde_json::json!({"token": 200, "userinfo": 200, "username": "alice"})
    );

    // Another origin: Chromium refuses the page the token endpoint's answer.
    chromium
        .goto(&format!("{elsewhere}/callback?code=stolen"))
        .await
        .unwrap();
    assert_eq!(page_result(&chromium).await, "blocked: TypeError");
    let _ = chromium.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_post_relying_party_gets_its_code_posted_in_chromium() {
    if !chromium_available() {
        return;
    }
    let app = crate::helpers::spawn_app(Backend::Sqlite).await;
    let rp =
        serve_page(r#"<!doctype html><title>RP</title><pre id="out">@BODY@</pre>"#.into()).await;
    let callback = format!("{rp}/signin-oidc");
    let (status, _) = app
        .admin(
            reqwest::Method::POST,
            "/demo/clients",
            serde_json::json!({"clientId": "rp", "publicClient": true, "redirectUris": [callback]}),
        )
        .await;
    assert_eq!(status, 201);
    let driver = start_driver().await;
    let profiles = tempfile::tempdir().unwrap();
    let chromium = browser(&driver, &profiles.path().join("rp")).await;
    let (verifier, challenge) = crate::helpers::pkce();
    alice_signs_in_to(
        &chromium,
        &app,
        &[
            ("client_id", "rp"),
            ("response_mode", "form_post"),
            ("redirect_uri", &callback),
            ("state", "s2"),
            ("code_challenge", &challenge),
        ],
    )
    .await;

    // The auto-submitting form ran under its CSP and posted to the RP.
    let mut posted = String::new();
    for _ in 0..100 {
        if chromium
            .current_url()
            .await
            .is_ok_and(|u| u.as_str() == callback)
        {
            if let Ok(out) = chromium.find(Locator::Css("#out")).await {
                posted = out.text().await.unwrap_or_default();
                if !posted.is_empty() {
                    break;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let fields: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(posted.as_bytes())
            .into_owned()
            .collect();
    assert_eq!(
        fields.get("state").map(String::as_str),
        Some("s2"),
        "{posted}"
    );
    assert_eq!(fields["iss"], app.issuer("demo"));
    let redeemed = app
        .client
        .post(app.url("/realms/demo/protocol/openid-connect/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", fields["code"].as_str()),
            ("client_id", "rp"),
            ("redirect_uri", callback.as_str()),
            ("code_verifier", verifier.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(redeemed.status(), 200);
    let tokens: serde_json::Value = redeemed.json().await.unwrap();
    assert!(tokens["id_token"].is_string());
    let _ = chromium.close().await;
}
