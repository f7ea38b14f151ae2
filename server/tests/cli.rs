//! The `latchkey` binary itself: migrate, demo, token create, and serve answering with that token.

use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn latchkey(db_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .env("LATCHKEY_DATABASE_URL", db_url)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run latchkey")
}

#[tokio::test]
async fn migrate_demo_token_and_serve() {
    let dir = tempfile::tempdir().unwrap();
    let db_url = format!("sqlite://{}?mode=rwc", dir.path().join("cli.db").display());

    let migrate = latchkey(&db_url, &["migrate"]);
    assert!(migrate.status.success(), "{migrate:?}");

    let demo = latchkey(&db_url, &["demo"]);
    let printed = String::from_utf8(demo.stdout).unwrap();
    assert!(demo.status.success());
    assert!(printed.contains("http://admin.localhost:3000") && printed.contains("http://acme.localhost:3000"));
    assert!(printed.contains("admin@demo-msp.test") && printed.contains("Latchkey-demo-2026"));
    let again = latchkey(&db_url, &["demo"]);
    assert!(
        String::from_utf8(again.stdout)
            .unwrap()
            .starts_with("Demo data already present.")
    );

    let token = latchkey(&db_url, &["token", "create", "--email", "readonly@demo-msp.test"]);
    assert!(token.status.success(), "{token:?}");
    let token = String::from_utf8(token.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("lk_") && token.len() > 40);

    let unknown = latchkey(&db_url, &["token", "create", "--email", "nobody@demo-msp.test"]);
    assert!(!unknown.status.success());
    assert!(
        String::from_utf8(unknown.stderr)
            .unwrap()
            .contains("No user has the email nobody@demo-msp.test")
    );

    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut server = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--site-dir",
            dir.path().to_str().unwrap(),
        ])
        .env("LATCHKEY_DATABASE_URL", &db_url)
        .env("LATCHKEY_BASE_DOMAIN", format!("localhost:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..100 {
        if client
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            ready = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let me = client
        .get(format!("http://127.0.0.1:{port}/api/v1/users/me"))
        .bearer_auth(&token)
        .send()
        .await;
    server.kill().ok();
    server.wait().ok();
    assert!(ready, "server never became ready");
    let me: serde_json::Value = me.unwrap().json().await.unwrap();
    assert_eq!(me["email"], "readonly@demo-msp.test");
    assert_eq!(me["displayName"], "Rita Readonly");
}

#[test]
fn bad_flags_are_refused_with_a_message() {
    let output = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["serve", "--listen", "not-an-address"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("invalid value 'not-an-address'")
    );
    let output = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(["--public-scheme", "ftp", "migrate"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let output = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .arg("migrate")
        .env("LATCHKEY_ENCRYPTION_KEY", "too-short-to-be-a-key")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("must be 32 bytes"), "{stderr}");
    assert!(!stderr.contains("too-short-to-be-a-key"), "the value is not echoed");
}
