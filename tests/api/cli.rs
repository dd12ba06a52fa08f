use std::process::Command;

use crate::helpers::{latch_bin, run_cli, spawn_app, stderr, stdout, Backend};

async fn duplicate_client_is_refused_and_nothing_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    let args = [
        "client",
        "create",
        "--realm",
        "demo",
        "--client-id",
        "shop",
        "--redirect-uri",
        "https://shop.example/cb",
    ];
    let first = app.cli(&args);
    assert!(
        first.status.success(),
        "{}",
        crate::helpers::describe(&first)
    );
    assert!(stdout(&first).contains("client secret (shown only now): "));

    let second = app.cli(&args);
    assert_eq!(second.status.code(), Some(1));
    assert_eq!(
        stderr(&second).trim(),
        "latch: client `shop` already exists in realm `demo`"
    );
}

async fn short_client_secret_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let output = app.cli(&[
        "client",
        "create",
        "--realm",
        "demo",
        "--client-id",
        "weak",
        "--secret",
        "hunter2",
        "--redirect-uri",
        "https://weak.example/cb",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("at least 32 characters"),
        "{}",
        stderr(&output)
    );
}

async fn public_client_cannot_use_client_credentials(backend: Backend) {
    let app = spawn_app(backend).await;
    let output = app.cli(&[
        "client",
        "create",
        "--realm",
        "demo",
        "--client-id",
        "spa",
        "--public",
        "--grant-type",
        "client_credentials",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("public client cannot use the client_credentials grant"));
}

async fn duplicate_realm_and_user_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let realm = app.cli(&["realm", "create", "demo"]);
    assert_eq!(realm.status.code(), Some(1));
    assert_eq!(stderr(&realm).trim(), "latch: realm `demo` already exists");

    let create = [
        "user",
        "create",
        "--realm",
        "demo",
        "--username",
        "Bob",
        "--password-stdin",
    ];
    let user = app.cli_with_stdin(&create, "a long passphrase\n");
    assert!(user.status.success(), "{}", stderr(&user));
    assert!(stdout(&user).contains("created user bob"));
    let again = app.cli_with_stdin(&create, "another passphrase\n");
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(
        stderr(&again).trim(),
        "latch: user `bob` already exists in realm `demo`"
    );
}

async fn unknown_realm_in_cli_is_a_clear_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let output = app.cli(&["keys", "list", "--realm", "nowhere"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output).trim(), "latch: realm `nowhere` not found");
}

async fn wrong_master_key_refuses_to_start(backend: Backend) {
    let app = spawn_app(backend).await;
    let other = latch::crypto::MasterKey::generate().encode();
    let output = run_cli(&app.db, &other, &["migrate"], "");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("the master key does not match this database"),
        "{}",
        stderr(&output)
    );
}

crate::both_backends!(
    duplicate_client_is_refused_and_nothing_changes,
    short_client_secret_is_refused,
    public_client_cannot_use_client_credentials,
    duplicate_realm_and_user_are_refused,
    unknown_realm_in_cli_is_a_clear_error,
    wrong_master_key_refuses_to_start,
);

fn latch_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(latch_bin())
        .current_dir(dir)
        .env_remove("LATCH_DATABASE")
        .env_remove("LATCH_DATABASE_URL")
        .env_remove("LATCH_MASTER_KEY")
        .env_remove("LATCH_CONFIG")
        .args(args)
        .output()
        .expect("run latch")
}

#[test]
fn malformed_config_file_names_the_setting_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("latch.toml"), "listen = 8080\n").unwrap();
    let output = latch_in(dir.path(), &["migrate"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert_eq!(message.lines().count(), 1, "{message}");
    assert!(
        message.contains("invalid configuration: listen:"),
        "{message}"
    );

    std::fs::write(dir.path().join("latch.toml"), "lisen = \"127.0.0.1:1\"\n").unwrap();
    let output = latch_in(dir.path(), &["migrate"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("lisen"), "{}", stderr(&output));

    std::fs::write(dir.path().join("latch.toml"), "listen = [\n").unwrap();
    let output = latch_in(dir.path(), &["migrate"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("latch.toml"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bad_settings_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["--database", "mysql://db/x", "migrate"], "database:"),
        (&["serve", "--listen", "nonsense"], "listen:"),
        (
            &["serve", "--revocation-poll-ms", "0"],
            "revocation_poll_ms:",
        ),
        (&["serve", "--tls-cert", "missing.pem"], "tls_key:"),
        (
            &["--database", "postgres://127.0.0.1:1/x", "migrate"],
            "master_key:",
        ),
    ];
    for (args, setting) in cases {
        let output = latch_in(dir.path(), args);
        let message = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {message}");
        assert_eq!(message.lines().count(), 1, "{message}");
        assert!(message.contains(setting), "{args:?}: {message}");
    }
}

#[test]
fn unreachable_database_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let key = latch::crypto::MasterKey::generate().encode();
    let output = Command::new(latch_bin())
        .current_dir(dir.path())
        .env("LATCH_MASTER_KEY", key)
        .args([
            "--database",
            "postgres://nobody@127.0.0.1:1/none",
            "migrate",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.starts_with("latch: database unavailable: cannot open postgres://"),
        "{message}"
    );
}

#[test]
fn sqlite_master_key_file_is_created_once_with_mode_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let first = latch_in(dir.path(), &["migrate"]);
    assert!(
        first.status.success(),
        "{}",
        crate::helpers::describe(&first)
    );
    assert!(
        stdout(&first).contains("password: "),
        "admin password shown on first start"
    );
    let key_file = dir.path().join("latch.db.key");
    let mode = std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let key = std::fs::read_to_string(&key_file).unwrap();

    let second = latch_in(dir.path(), &["realm", "create", "acme"]);
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(!stdout(&second).contains("password"));
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key);
}

#[test]
fn private_keys_are_not_stored_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    assert!(latch_in(dir.path(), &["migrate"]).status.success());
    let bytes = std::fs::read(dir.path().join("latch.db")).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("PRIVATE KEY"));
    // A PKCS#8 EC key starts with this DER prefix; sealed keys never do.
    let pkcs8_ec = [0x30u8, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13];
    assert!(!bytes.windows(pkcs8_ec.len()).any(|w| w == pkcs8_ec));
}
