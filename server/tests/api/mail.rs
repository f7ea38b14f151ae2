//! Outbox delivery through a real SMTP server (aiosmtpd, started per test).

use crate::helpers::*;
use app::server::Clock;
use app::server::entities::outbox;
use app::server::mail::{OutgoingEmail, SmtpMailer};
use app::server::services::outbox::{MAX_ATTEMPTS, deliver_due, enqueue_email};
use sea_orm::EntityTrait;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// An SMTP server that files each message it receives as a `.eml` file.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    pub folder: tempfile::TempDir,
}

impl SmtpSink {
    pub fn start() -> Self {
        let python = std::env::var("LATCHKEY_TEST_PYTHON").unwrap_or_else(|_| {
            format!(
                "{}/.cache/latchkey/py/bin/python",
                std::env::var("HOME").unwrap_or_default()
            )
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let folder = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/smtp_sink.py");
        let mut child = Command::new(&python)
            .args([script, &port.to_string(), folder.path().to_str().unwrap()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {python} (scripts/setup.sh installs aiosmtpd): {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "SMTP sink did not start");
        Self { child, port, folder }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// The messages received so far, oldest first, as raw RFC 5322 text.
    pub fn messages(&self) -> Vec<String> {
        let mut paths: Vec<_> = std::fs::read_dir(self.folder.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        paths.sort();
        paths.into_iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Mailbox {
    pub sink: SmtpSink,
    pub mailer: SmtpMailer,
}

impl Mailbox {
    pub fn new() -> Self {
        let sink = SmtpSink::start();
        let mailer = SmtpMailer::from_url(&sink.url(), "Latchkey <no-reply@localhost>").unwrap();
        Self { sink, mailer }
    }

    /// Delivers the outbox and returns every message received so far.
    pub async fn deliver(&self, app: &TestApp) -> Vec<String> {
        deliver_due(&app.state, &self.mailer, 50).await.unwrap();
        self.sink.messages()
    }

    /// The code in the newest message.
    pub async fn latest_code(&self, app: &TestApp) -> String {
        let messages = self.deliver(app).await;
        let last = messages.last().expect("a message");
        let subject = last.lines().find(|l| l.starts_with("Subject:")).expect("subject");
        subject.rsplit(' ').next().unwrap().trim().to_owned()
    }
}

/// Undoes quoted-printable line folding, enough to read a link.
pub fn unfold(mail: &str) -> String {
    mail.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
}

/// The token of the link in a mail.
pub fn link_token(mail: &str) -> String {
    let mail = unfold(mail);
    let start = mail.find("#token=").expect("link in the mail") + "#token=".len();
    mail[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

fn email(to: &str, text: &str) -> OutgoingEmail {
    OutgoingEmail {
        to: to.into(),
        subject: "Your Acme Corp code".into(),
        text: text.into(),
        html: Some(format!("<p>{text}</p>")),
    }
}

#[tokio::test]
async fn queued_mail_is_sealed_and_delivered_over_smtp() {
    let app = spawn_app().await;
    let sink = SmtpSink::start();
    let now = app.clock.now();
    enqueue_email(
        &app.state.db,
        &app.state.cipher,
        None,
        &email("bob@acme.test", "Your code is 482913"),
        now,
    )
    .await
    .unwrap();
    let row = outbox::Entity::find().one(&app.state.db).await.unwrap().unwrap();
    assert!(
        !row.body_text_enc.windows(6).any(|w| w == b"482913"),
        "the code is not stored in clear"
    );

    let mailer = SmtpMailer::from_url(&sink.url(), "Latchkey <no-reply@localhost>").unwrap();
    let report = deliver_due(&app.state, &mailer, 10).await.unwrap();
    assert_eq!(report.sent, 1);
    let messages = sink.messages();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].contains("To: bob@acme.test"));
    assert!(messages[0].contains("482913"));
    assert!(messages[0].contains("text/html"));
    let row = outbox::Entity::find().one(&app.state.db).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 1));
    // Nothing left to send: a second round sends nothing twice.
    assert_eq!(deliver_due(&app.state, &mailer, 10).await.unwrap().sent, 0);
}

#[tokio::test]
async fn failures_are_retried_with_backoff_then_marked_failed() {
    let app = spawn_app().await;
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mailer = SmtpMailer::from_url(&format!("smtp://127.0.0.1:{closed_port}"), "no-reply@localhost").unwrap();
    let now = app.clock.now();
    enqueue_email(
        &app.state.db,
        &app.state.cipher,
        None,
        &email("bob@acme.test", "hello"),
        now,
    )
    .await
    .unwrap();
    let report = deliver_due(&app.state, &mailer, 10).await.unwrap();
    assert_eq!(report.retried, 1);
    let row = outbox::Entity::find().one(&app.state.db).await.unwrap().unwrap();
    assert!(row.last_error.is_some());
    assert_eq!(row.next_attempt_at - now, chrono::Duration::seconds(60));
    // Not due yet.
    assert_eq!(deliver_due(&app.state, &mailer, 10).await.unwrap(), Default::default());
    for _ in 1..MAX_ATTEMPTS {
        app.clock.advance(chrono::Duration::hours(1));
        deliver_due(&app.state, &mailer, 10).await.unwrap();
    }
    let row = outbox::Entity::find().one(&app.state.db).await.unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.attempts), ("failed", MAX_ATTEMPTS));
}
