//! Crash consistency: the real `latchkey serve` takes a burst of admin actions over the REST API,
//! is killed with SIGKILL midway and started again on the same database. Every change that was
//! applied has its audit row, no change is half-applied, and every queued email reaches the SMTP
//! server exactly once per Message-ID (the outbox id), including the ones the killed process had
//! claimed. Runs on SQLite, and on PostgreSQL when LATCHKEY_TEST_PG_URL is set.

#[path = "support/smtp_sink.rs"]
mod smtp_sink;

use app::server::entities::{audit_log, memberships, one_time_secrets, outbox, users};
use sea_orm::{ColumnTrait, ConnectionTrait, Database, DatabaseConnection, EntityTrait, QueryFilter};
use serde_json::{Value, json};
use smtp_sink::SmtpSink;
use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

const EMAIL_DOMAIN: &str = "crash.example.test";
/// The server is killed once this many actions have been answered.
const KILL_AFTER: usize = 60;
const WORKERS: usize = 3;
/// Short, so what the killed process had claimed is sent again within the test.
const OUTBOX_LEASE_SECS: &str = "3";

async fn fresh_database() -> (String, Option<tempfile::TempDir>) {
    match std::env::var("LATCHKEY_TEST_PG_URL") {
        Ok(base) => {
            let name = format!("latchkey_test_{}", Uuid::new_v4().simple());
            let admin = Database::connect(format!("{base}/postgres")).await.unwrap();
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
            admin.close().await.ok();
            (format!("{base}/{name}"), None)
        }
        Err(_) => {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("crash.db").display());
            (url, Some(dir))
        }
    }
}

fn latchkey(db_url: &str, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_latchkey"))
        .args(args)
        .env("LATCHKEY_DATABASE_URL", db_url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(output.status.success(), "latchkey {args:?}: {output:?}");
    String::from_utf8(output.stdout).unwrap()
}

struct Server {
    child: Child,
    base: String,
}

impl Server {
    async fn start(db_url: &str, smtp_url: &str, log: &std::path::Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_latchkey"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(["--smtp-url", smtp_url, "--outbox-lease-secs", OUTBOX_LEASE_SECS])
            .args(["--api-rate-limit", "100000", "--site-dir", "/nonexistent"])
            .env("LATCHKEY_DATABASE_URL", db_url)
            .env("LATCHKEY_BASE_DOMAIN", format!("localhost:{port}"))
            .env("RUST_LOG", "warn")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = Self {
            child,
            base: format!("http://127.0.0.1:{port}/api/v1"),
        };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            let ready = client.get(format!("http://127.0.0.1:{port}/readyz")).send().await;
            if ready.is_ok_and(|r| r.status() == 200) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not become ready");
    }

    fn kill(&mut self) {
        // Child::kill sends SIGKILL: no shutdown code runs.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the burst saw answered with success before the kill.
#[derive(Default)]
struct Answered {
    invited: BTreeMap<String, Uuid>,
    resends: BTreeMap<Uuid, usize>,
    actions: usize,
    failures_after_kill: usize,
}

async fn burst(base: String, token: String, tenant_id: Uuid, worker: usize, answered: Arc<Mutex<Answered>>) {
    let client = reqwest::Client::new();
    for round in 0.. {
        // Paced, so the burst is still going when the delivery worker starts (after ~2 s).
        tokio::time::sleep(Duration::from_millis(40)).await;
        let email = format!("w{worker}-r{round}@{EMAIL_DOMAIN}");
        let invite = client
            .post(format!("{base}/users"))
            .bearer_auth(&token)
            .json(&json!({ "email": email, "displayName": format!("Crash {worker}-{round}"), "tenantId": tenant_id }))
            .send()
            .await;
        let user_id = match invite {
            Ok(response) if response.status() == 201 => {
                let body: Value = response.json().await.unwrap();
                let user_id: Uuid = body["userId"].as_str().unwrap().parse().unwrap();
                let mut answered = answered.lock().unwrap();
                answered.invited.insert(email, user_id);
                answered.actions += 1;
                user_id
            }
            Ok(response) => panic!("invite answered {}: {:?}", response.status(), response.text().await),
            Err(_) => {
                answered.lock().unwrap().failures_after_kill += 1;
                return;
            }
        };
        let resend = client
            .post(format!("{base}/users/{user_id}/invite/resend"))
            .bearer_auth(&token)
            .json(&json!({ "tenantId": tenant_id }))
            .send()
            .await;
        match resend {
            Ok(response) if response.status().is_success() => {
                let mut answered = answered.lock().unwrap();
                *answered.resends.entry(user_id).or_default() += 1;
                answered.actions += 1;
            }
            Ok(response) => panic!("resend answered {}: {:?}", response.status(), response.text().await),
            Err(_) => {
                answered.lock().unwrap().failures_after_kill += 1;
                return;
            }
        }
    }
}

async fn audited(db: &DatabaseConnection, action: &str, user_id: Uuid) -> usize {
    audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq(action))
        .filter(audit_log::Column::TargetId.eq(user_id.to_string()))
        .all(db)
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_server_killed_mid_burst_loses_nothing_it_answered_and_half_applies_nothing() {
    let (db_url, _sqlite_dir) = fresh_database().await;
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("server.log");
    latchkey(&db_url, &["demo"]);
    let token = latchkey(&db_url, &["token", "create", "--email", "admin@demo-msp.test"])
        .trim()
        .to_owned();
    let sink = SmtpSink::start();
    let mut server = Server::start(&db_url, &sink.url(), &log).await;

    let tenants: Value = reqwest::Client::new()
        .get(format!("{}/tenants", server.base))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let acme = tenants["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "acme")
        .expect("the demo's acme");
    let acme_id: Uuid = acme["id"].as_str().unwrap().parse().unwrap();

    let answered = Arc::new(Mutex::new(Answered::default()));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| tokio::spawn(burst(server.base.clone(), token.clone(), acme_id, w, answered.clone())))
        .collect();
    // Killed once the delivery worker is at work too, so some messages are likely claimed.
    while answered.lock().unwrap().actions < KILL_AFTER || sink.messages().len() < 3 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    for worker in workers {
        worker.await.unwrap();
    }
    let answered = Arc::try_unwrap(answered).ok().unwrap().into_inner().unwrap();
    assert!(answered.failures_after_kill >= 1, "requests were in flight at the kill");

    let _restarted = Server::start(&db_url, &sink.url(), &log).await;
    let db = Database::connect(&db_url).await.unwrap();

    // Every invite or resend that was answered is there, with its audit rows.
    for (email, user_id) in &answered.invited {
        let user = users::Entity::find_by_id(*user_id).one(&db).await.unwrap();
        assert_eq!(
            user.map(|u| u.email).as_deref(),
            Some(email.as_str()),
            "answered invite lost"
        );
        let resends = answered.resends.get(user_id).copied().unwrap_or(0);
        assert!(audited(&db, "user.invite_resent", *user_id).await >= resends);
    }

    // Every account the burst created, answered or in flight at the kill, is whole: user,
    // pending membership, a live invite link, the invite's audit row and its email; and every
    // resend that happened has its audit row and its email.
    let created = users::Entity::find()
        .filter(users::Column::Email.ends_with(EMAIL_DOMAIN))
        .all(&db)
        .await
        .unwrap();
    assert!(created.len() >= answered.invited.len());
    let mut in_flight = 0;
    for user in &created {
        if !answered.invited.contains_key(&user.email) {
            in_flight += 1;
        }
        let membership = memberships::Entity::find()
            .filter(memberships::Column::UserId.eq(user.id))
            .all(&db)
            .await
            .unwrap();
        assert_eq!(membership.len(), 1, "{}: one membership", user.email);
        assert_eq!(membership[0].status, "pending");
        let links = one_time_secrets::Entity::find()
            .filter(one_time_secrets::Column::UserId.eq(user.id))
            .all(&db)
            .await
            .unwrap();
        let live_links = links.iter().filter(|l| l.superseded_at.is_none()).count();
        assert_eq!(live_links, 1, "{}: one live invite link", user.email);
        assert_eq!(audited(&db, "user.invited", user.id).await, 1, "{}", user.email);
        let resent = audited(&db, "user.invite_resent", user.id).await;
        assert_eq!(links.len(), 1 + resent, "{}: a link per invite and resend", user.email);
        let mails = outbox::Entity::find()
            .filter(outbox::Column::Recipient.eq(&user.email))
            .all(&db)
            .await
            .unwrap();
        assert_eq!(
            mails.len(),
            1 + resent,
            "{}: an email per invite and resend",
            user.email
        );
    }
    let audit_rows = audit_log::Entity::find()
        .filter(audit_log::Column::Action.is_in(["user.invited", "user.invite_resent"]))
        .all(&db)
        .await
        .unwrap();
    let created_ids: BTreeSet<String> = created.iter().map(|u| u.id.to_string()).collect();
    assert!(
        audit_rows
            .iter()
            .all(|row| row.target_id.as_ref().is_some_and(|id| created_ids.contains(id))),
        "no audit row without its change"
    );

    // The restarted server delivers everything, what the killed one had claimed included.
    let mut pending = usize::MAX;
    for _ in 0..600 {
        pending = outbox::Entity::find()
            .filter(outbox::Column::Status.ne("sent"))
            .all(&db)
            .await
            .unwrap()
            .len();
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pending, 0, "every outbox message is sent after the restart");
    let queued: BTreeSet<String> = outbox::Entity::find()
        .all(&db)
        .await
        .unwrap()
        .iter()
        .map(|row| row.id.to_string())
        .collect();
    let stored = sink.messages();
    let delivered: Vec<String> = stored
        .iter()
        .filter_map(|mail| {
            let line = mail
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("message-id:"))?;
            let id = line.split_once('<')?.1.split_once('@')?.0;
            Some(id.to_owned())
        })
        .collect();
    let delivered_set: BTreeSet<String> = delivered.iter().cloned().collect();
    assert_eq!(delivered.len(), delivered_set.len(), "one stored copy per message");
    assert_eq!(delivered_set, queued, "every outbox message reached the SMTP server");
    println!(
        "crash consistency: {} actions answered before SIGKILL, {} accounts created ({} of them in flight), \
         {} audit rows, {} messages delivered once each, {} copies sent again after the restart and dropped by Message-ID",
        answered.actions,
        created.len(),
        in_flight,
        audit_rows.len(),
        delivered_set.len(),
        sink.duplicates().len(),
    );
}
