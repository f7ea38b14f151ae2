//! Outbox delivery through a real SMTP server (aiosmtpd, started per test).

use crate::helpers::*;
use app::server::Clock;
use app::server::entities::outbox;
use app::server::mail::{OutgoingEmail, SmtpMailer};
use app::server::services::outbox::{MAX_ATTEMPTS, deliver_due, enqueue_email};
use sea_orm::EntityTrait;

pub use crate::smtp_sink::SmtpSink;

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
        assert!(
            !subject.bytes().any(|b| b.is_ascii_digit()),
            "no code in the subject: {subject}"
        );
        unfold(last)
            .lines()
            .map(str::trim)
            .find(|l| l.len() == 6 && l.bytes().all(|b| b.is_ascii_digit()))
            .expect("a code on a line of its own")
            .to_owned()
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
        idempotency_key: None,
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
    let message_id = format!("Message-ID: <{}@localhost>", row.id);
    assert!(
        messages[0].contains(&message_id),
        "the outbox id is the idempotency key"
    );
    // Nothing left to send: a second round sends nothing twice.
    assert_eq!(deliver_due(&app.state, &mailer, 10).await.unwrap().sent, 0);

    // A process killed after the SMTP server took the message but before it marked the row
    // sent leaves it pending; the retry carries the same Message-ID, and the receiver keeps one.
    let mut unmarked: outbox::ActiveModel = row.clone().into();
    unmarked.status = sea_orm::Set("pending".into());
    sea_orm::ActiveModelTrait::update(unmarked, &app.state.db)
        .await
        .unwrap();
    assert_eq!(
        deliver_due(&app.state, &mailer, 10).await.unwrap().sent,
        0,
        "claimed until the lease ends"
    );
    app.clock.advance(chrono::Duration::minutes(6));
    assert_eq!(deliver_due(&app.state, &mailer, 10).await.unwrap().sent, 1);
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(sink.duplicates(), [format!("<{}@localhost>", row.id)]);
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
