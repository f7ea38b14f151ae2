//! The SMS factor against a real local HTTP server speaking the Twilio Messages API, which
//! answers with the statuses the test queues (201, 400, 500 ...).

use crate::helpers::*;
use app::api::{ConfirmSmsEnrollment, GetMfaOptions, ReportNotMyNumber, SendSmsCode, StartSmsEnrollment, VerifyMfa};
use app::server::entities::{outbox, security_events};
use app::server::sms::TwilioSms;
use app::types::{MfaOptions, MfaStep, RecoveryCodes, SmsSent};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Provider {
    answers: VecDeque<u16>,
    /// (authorization header, form body) of each request.
    received: Vec<(String, String)>,
}

type Shared = Arc<Mutex<Provider>>;

async fn messages(State(shared): State<Shared>, headers: HeaderMap, body: String) -> (StatusCode, String) {
    let mut provider = shared.lock().unwrap();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    provider.received.push((auth, body));
    let status = provider.answers.pop_front().unwrap_or(201);
    let answer = match status {
        201 => r#"{"sid": "SM123", "status": "queued"}"#.to_owned(),
        400 => {
            r#"{"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400}"#.to_owned()
        }
        _ => r#"{"code": 20500, "message": "Internal Server Error", "status": 500}"#.to_owned(),
    };
    (StatusCode::from_u16(status).unwrap(), answer)
}

async fn start_provider(answers: &[u16]) -> (String, Shared) {
    let shared: Shared = Arc::new(Mutex::new(Provider {
        answers: answers.iter().copied().collect(),
        received: Vec::new(),
    }));
    let router = axum::Router::new()
        .route(
            "/2010-04-01/Accounts/AC123/Messages.json",
            axum::routing::post(messages),
        )
        .with_state(shared.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}/2010-04-01/Accounts/AC123/Messages.json"), shared)
}

/// The code in the newest text message the provider received.
fn last_code(shared: &Shared) -> String {
    let provider = shared.lock().unwrap();
    let (_, body) = provider.received.last().expect("a message");
    let body = body.replace('+', " ");
    body.split(|c: char| !c.is_ascii_digit())
        .find(|part| part.len() == 6)
        .expect("a 6-digit code")
        .to_owned()
}

async fn events_with(app: &TestApp, event_type: &str) -> Vec<security_events::Model> {
    security_events::Entity::find()
        .filter(security_events::Column::EventType.eq(event_type))
        .all(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn sms_codes_and_provider_failures() {
    let (url, provider) = start_provider(&[201, 400, 500, 201]).await;
    let app = spawn_app_with(|state| {
        state.sms = Some(Arc::new(TwilioSms::new(
            url.clone(),
            "AC123".into(),
            "token-456".into(),
            "+15550000000".into(),
        )));
    })
    .await;

    let bob = app.browser("acme");
    bob.sign_in("bob", DEMO_PASSWORD).await.unwrap();
    let (status, error) = bob
        .call::<StartSmsEnrollment, SmsSent>(&[("phone", "12345"), ("password", DEMO_PASSWORD)])
        .await
        .unwrap_err();
    assert_eq!(status, 422);
    assert!(!error.field_messages("phone").is_empty());
    let sent: SmsSent = bob
        .call::<StartSmsEnrollment, _>(&[("phone", "+1 (415) 555-0100"), ("password", DEMO_PASSWORD)])
        .await
        .unwrap();
    assert_eq!(sent.masked_phone, "••• 0100");
    {
        let received = &provider.lock().unwrap().received;
        let (auth, body) = &received[0];
        assert!(auth.starts_with("Basic "), "basic auth with the account and token");
        assert!(
            body.contains("To=%2B14155550100") && body.contains("From=%2B15550000000"),
            "{body}"
        );
    }
    let factor_id = sent.factor_id.to_string();
    let (status, _) = bob
        .call::<ConfirmSmsEnrollment, RecoveryCodes>(&[("factor_id", &factor_id), ("code", "abc")])
        .await
        .unwrap_err();
    assert_eq!(status, 422);
    let codes: RecoveryCodes = bob
        .call::<ConfirmSmsEnrollment, _>(&[("factor_id", &factor_id), ("code", &last_code(&provider))])
        .await
        .unwrap();
    assert_eq!(codes.codes.len(), 10);

    // Next sign-in: the text message is offered; the provider refuses, then fails, then sends.
    app.clock.advance(Duration::seconds(61));
    let browser = app.browser("acme");
    let viewer = browser.sign_in("bob", DEMO_PASSWORD).await.unwrap();
    assert_eq!(viewer.mfa_step, Some(MfaStep::Verify));
    let options: MfaOptions = browser.call::<GetMfaOptions, _>(&[]).await.unwrap();
    assert_eq!((options.totp, options.sms_phone.as_deref()), (false, Some("••• 0100")));

    let (status, error) = browser.call::<SendSmsCode, SmsSent>(&[]).await.unwrap_err();
    assert_eq!(status, 500);
    assert!(
        error
            .message()
            .contains("answered 400: The 'To' number is not a valid phone number."),
        "{error:?}"
    );
    assert!(error.reference().is_some());
    let failures = events_with(&app, "sms_failure").await;
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].detail.as_ref().unwrap()["status"], 400);

    let (status, _) = browser.call::<SendSmsCode, SmsSent>(&[]).await.unwrap_err();
    assert_eq!(status, 429, "60 seconds between texts");
    app.clock.advance(Duration::seconds(61));
    let (status, error) = browser.call::<SendSmsCode, SmsSent>(&[]).await.unwrap_err();
    assert_eq!(status, 500);
    assert!(error.message().contains("answered 500"));
    let provider_failures = events_with(&app, "mfa_provider_failure").await;
    assert_eq!(provider_failures[0].detail.as_ref().unwrap()["status"], 500);

    app.clock.advance(Duration::seconds(61));
    let _: SmsSent = browser.call::<SendSmsCode, _>(&[]).await.unwrap();
    let code = last_code(&provider);
    let _: () = browser.call::<VerifyMfa, _>(&[("code", &code)]).await.unwrap();
    assert!(browser.host_info().await.viewer.unwrap().mfa_step.is_none());

    let sms_rows = outbox::Entity::find()
        .filter(outbox::Column::Channel.eq("sms"))
        .all(&app.state.db)
        .await
        .unwrap();
    let statuses: Vec<&str> = sms_rows.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["sent", "failed", "failed", "sent"]);
    assert!(
        sms_rows
            .iter()
            .all(|r| !String::from_utf8_lossy(&r.body_text_enc).contains(&code))
    );

    // A code works once.
    let other = app.browser("acme");
    other.sign_in("bob", DEMO_PASSWORD).await.unwrap();
    let (status, _) = other.call::<VerifyMfa, ()>(&[("code", &code)]).await.unwrap_err();
    assert_eq!(status, 422);

    // "It's not my phone number".
    let reference: String = other.call::<ReportNotMyNumber, _>(&[]).await.unwrap();
    let reports = events_with(&app, "not_my_number").await;
    assert_eq!(reports.len(), 1);
    assert_eq!(reports[0].reference, reference);
}

#[tokio::test]
async fn without_a_provider_there_is_no_sms_factor() {
    let app = spawn_app().await;
    let bob = app.browser("acme");
    bob.sign_in("bob", DEMO_PASSWORD).await.unwrap();
    let (status, error) = bob
        .call::<StartSmsEnrollment, SmsSent>(&[("phone", "+14155550100"), ("password", DEMO_PASSWORD)])
        .await
        .unwrap_err();
    assert_eq!(status, 409);
    assert!(error.message().contains("not set up"));
}
