//! Settings > Outbox: listing, reading and retrying queued mail, for operator admins only.

use crate::helpers::*;
use app::api::{ListOutbox, ReadOutboxMessage, RequestPasswordReset, RetryOutboxMessage};
use app::server::entities::{audit_log, outbox};
use app::server::mail::SmtpMailer;
use app::server::services::outbox::{MAX_ATTEMPTS, PAGE_SIZE, deliver_due};
use app::server::services::recovery::handle_reset_requests;
use app::types::{CodeRequested, OutboxMessage, OutboxMessageBody, OutboxPage};
use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

async fn list(browser: &Browser, status: &str, before: &str) -> FnResult<OutboxPage> {
    browser
        .call::<ListOutbox, _>(&[("status", status), ("before", before)])
        .await
}

#[tokio::test]
async fn admins_read_the_outbox_page_by_page_and_retry_failed_mail() {
    let app = spawn_app().await;
    let acme = app.browser("acme");
    for _ in 0..(PAGE_SIZE + 5) {
        // Distinct identifiers: the resend throttle is per identifier.
        let id = format!("nobody{}@acme.test", uuid::Uuid::new_v4().simple());
        let _: CodeRequested = acme
            .call::<RequestPasswordReset, _>(&[("identifier", &id)])
            .await
            .unwrap();
    }
    let _: CodeRequested = acme
        .call::<RequestPasswordReset, _>(&[("identifier", "bob@acme.test")])
        .await
        .unwrap();
    assert_eq!(app.count(outbox::Entity).await, 0, "the request only queues");
    assert_eq!(
        handle_reset_requests(&app.state, 500).await.unwrap() as u64,
        PAGE_SIZE + 6
    );
    assert_eq!(app.count(outbox::Entity).await, 1, "only a real account gets mail");

    // Make enough mail for two pages: every bob reset code is one more message.
    for _ in 0..PAGE_SIZE {
        app.clock.advance(Duration::minutes(13));
        let _: CodeRequested = acme
            .call::<RequestPasswordReset, _>(&[("identifier", "bob@acme.test")])
            .await
            .unwrap();
        handle_reset_requests(&app.state, 10).await.unwrap();
    }
    let total = app.count(outbox::Entity).await;
    assert_eq!(total, PAGE_SIZE + 1);

    let admin = app.browser("admin");
    admin.sign_in("admin@demo-msp.test", DEMO_PASSWORD).await.unwrap();
    let first = list(&admin, "", "").await.unwrap();
    assert_eq!(first.messages.len() as u64, PAGE_SIZE);
    assert_eq!((first.pending, first.sent, first.failed), (total, 0, 0));
    assert!(!first.smtp_configured);
    assert_eq!(first.messages[0].recipient, "bob@acme.test");
    assert_eq!(first.messages[0].tenant_name.as_deref(), Some("Acme Corp"));
    assert!(
        first.messages.windows(2).all(|w| w[0].created_at >= w[1].created_at),
        "newest first"
    );
    let cursor = first.next_cursor.clone().expect("a second page");
    let second = list(&admin, "", &cursor).await.unwrap();
    assert_eq!(second.messages.len(), 1);
    assert_eq!(second.next_cursor, None);
    assert!(!first.messages.iter().any(|m| m.id == second.messages[0].id));

    // Reading a message opens its sealed body, and is audited.
    let newest = first.messages[0].id.to_string();
    let body: OutboxMessageBody = admin.call::<ReadOutboxMessage, _>(&[("id", &newest)]).await.unwrap();
    assert_eq!(body.subject, "Your Acme Corp password reset code");
    assert!(
        body.text
            .lines()
            .any(|l| l.trim().len() == 6 && l.trim().bytes().all(|b| b.is_ascii_digit()))
    );
    assert!(body.text.contains("It works for 10 minutes"));
    let reads = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("outbox.message_read"))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(reads, 1);

    // Delivery fails to a closed port until the message is marked failed; then retry it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mailer = SmtpMailer::from_url(&format!("smtp://127.0.0.1:{closed}"), "no-reply@localhost").unwrap();
    for _ in 0..MAX_ATTEMPTS {
        deliver_due(&app.state, &mailer, 500).await.unwrap();
        app.clock.advance(Duration::hours(2));
    }
    // Hours went by: a fresh session.
    admin.sign_in("admin@demo-msp.test", DEMO_PASSWORD).await.unwrap();
    let failed = list(&admin, "failed", "").await.unwrap();
    assert_eq!(failed.failed, total);
    assert!(
        failed
            .messages
            .iter()
            .all(|m| m.status == "failed" && m.last_error.is_some())
    );
    let retried: OutboxMessage = admin.call::<RetryOutboxMessage, _>(&[("id", &newest)]).await.unwrap();
    assert_eq!((retried.status.as_str(), retried.attempts), ("pending", 0));
    assert_eq!(list(&admin, "pending", "").await.unwrap().messages.len(), 1);

    // Bad input: a clear message, nothing changed.
    for (status, before, field) in [("bounced", "", "status"), ("", "not-a-cursor", "before")] {
        let (code, error) = list(&admin, status, before).await.unwrap_err();
        assert_eq!(code, 422);
        assert!(!error.field_messages(field).is_empty());
    }
    let (code, _) = admin
        .call::<ReadOutboxMessage, OutboxMessageBody>(&[("id", &uuid::Uuid::nil().to_string())])
        .await
        .unwrap_err();
    assert_eq!(code, 404);
    let (code, _) = admin
        .call::<RetryOutboxMessage, OutboxMessage>(&[("id", "nope")])
        .await
        .unwrap_err();
    assert_eq!(code, 400);
}

#[tokio::test]
async fn only_operator_admins_with_settings_rights_see_the_outbox() {
    let app = spawn_app().await;
    let support = app.browser("admin");
    support.sign_in("support@demo-msp.test", DEMO_PASSWORD).await.unwrap();
    let (status, _) = list(&support, "", "").await.unwrap_err();
    assert_eq!(status, 403);
    let owner = app.browser("acme");
    owner.sign_in("alice", DEMO_PASSWORD).await.unwrap();
    let (status, error) = list(&owner, "", "").await.unwrap_err();
    assert_eq!(status, 403);
    assert!(error.message().contains("operator"));
    let (status, _) = list(&app.browser("admin"), "", "").await.unwrap_err();
    assert_eq!(status, 401);
}

/// With a mail server the bodies are their recipients' alone: codes, links and temporary
/// passwords cannot be read in the console, while recipient, subject and status can.
#[tokio::test]
async fn with_a_mail_server_no_message_body_can_be_read() {
    let app = spawn_app_with(|state| {
        let mut config = (*state.config).clone();
        config.smtp_configured = true;
        state.config = std::sync::Arc::new(config);
    })
    .await;
    let acme = app.browser("acme");
    let _: app::types::CodeRequested = acme
        .call::<RequestPasswordReset, _>(&[("identifier", "bob@acme.test")])
        .await
        .unwrap();
    app::server::services::recovery::handle_reset_requests(&app.state, 10)
        .await
        .unwrap();
    let admin = app.browser("admin");
    admin.sign_in("admin@demo-msp.test", DEMO_PASSWORD).await.unwrap();
    let page = list(&admin, "", "").await.unwrap();
    assert!(page.smtp_configured);
    let message = page
        .messages
        .iter()
        .find(|m| m.recipient == "bob@acme.test")
        .expect("the reset code is queued");
    let subject = message.subject.clone().unwrap_or_default();
    assert!(subject.contains("password reset code"), "{subject}");
    assert!(
        !subject.bytes().any(|b| b.is_ascii_digit()),
        "the code is not in the subject"
    );
    let (status, error) = admin
        .call::<ReadOutboxMessage, OutboxMessageBody>(&[("id", &message.id.to_string())])
        .await
        .unwrap_err();
    assert_eq!(status, 403);
    assert!(error.message().contains("sealed"), "{}", error.message());
    assert_eq!(crate::helpers::audited(&app, "outbox.message_read").await, 0);
}
