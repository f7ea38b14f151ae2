//! Forgot password with an emailed code, end to end over HTTP and real SMTP.

use crate::helpers::*;
use crate::mail::{Mailbox, link_token, unfold};
use app::api::{CompletePasswordReset, GetAccountWords, RequestPasswordReset, VerifyResetCode};
use app::domain::password_strength;
use app::server::entities::security_events;
use app::types::{CodeRequested, ResetTicket};
use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

const NEW_PASSWORD: &str = "violet kettle orbit 42";

async fn request(browser: &Browser, identifier: &str) -> FnResult<CodeRequested> {
    browser
        .call::<RequestPasswordReset, _>(&[("identifier", identifier)])
        .await
}

async fn verify(browser: &Browser, identifier: &str, code: &str) -> FnResult<ResetTicket> {
    browser
        .call::<VerifyResetCode, _>(&[("identifier", identifier), ("code", code)])
        .await
}

async fn complete(browser: &Browser, token: &str, password: &str, confirm: &str) -> FnResult<()> {
    browser
        .call::<CompletePasswordReset, _>(&[("token", token), ("password", password), ("confirm", confirm)])
        .await
}

#[tokio::test]
async fn code_by_email_then_new_password_ends_every_session() {
    let app = spawn_app().await;
    let mailbox = Mailbox::new();
    let old_session = app.browser("acme");
    old_session.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap();

    let acme = app.browser("acme");
    assert_eq!(request(&acme, "Bob@Acme.test").await.unwrap().resend_after_secs, 60);
    let messages = mailbox.deliver(&app).await;
    assert_eq!(messages.len(), 1);
    assert!(messages[0].contains("To: bob@acme.test") && messages[0].contains("Acme Corp"));
    assert!(
        messages[0].contains(&app.url("acme", "")),
        "the mail names the host the code works on"
    );
    let code = mailbox.latest_code(&app).await;
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()), "{code}");

    let ticket = verify(&acme, "bob@acme.test", &code).await.unwrap();
    complete(&acme, &ticket.token, NEW_PASSWORD, NEW_PASSWORD)
        .await
        .unwrap();

    assert!(
        old_session.host_info().await.viewer.is_none(),
        "a reset signs out every session"
    );
    assert!(acme.sign_in("bob@acme.test", DEMO_PASSWORD).await.is_err());
    acme.sign_in("bob@acme.test", NEW_PASSWORD)
        .await
        .expect("new password works");
    let messages = mailbox.deliver(&app).await;
    assert!(
        messages.last().unwrap().contains("password was changed"),
        "the user is told"
    );
    let resets = security_events::Entity::find()
        .filter(security_events::Column::EventType.eq("password_reset"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(resets.len(), 1);

    // The ticket and the code are single-use.
    let (status, _) = complete(&acme, &ticket.token, NEW_PASSWORD, NEW_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(status, 422);
    assert_eq!(verify(&acme, "bob@acme.test", &code).await.unwrap_err().0, 422);
}

#[tokio::test]
async fn unknown_accounts_get_the_same_answer_and_the_same_throttle() {
    let app = spawn_app().await;
    let mailbox = Mailbox::new();
    let acme = app.browser("acme");
    let known = request(&acme, "bob@acme.test").await.unwrap();
    let unknown = request(&acme, "ghost@acme.test").await.unwrap();
    assert_eq!(known, unknown);
    assert_eq!(mailbox.deliver(&app).await.len(), 1, "only the real account gets mail");

    let (known_status, known_error) = request(&acme, "bob@acme.test").await.unwrap_err();
    let (unknown_status, unknown_error) = request(&acme, "ghost@acme.test").await.unwrap_err();
    assert_eq!(
        (known_status, known_error.message()),
        (unknown_status, unknown_error.message())
    );
    assert_eq!(known_status, 429);
    assert!(
        matches!(
            known_error,
            app::AppError::RateLimited {
                retry_after_secs: 60,
                ..
            }
        ),
        "{known_error:?}"
    );

    // 60 s apart, at most 5 an hour.
    for _ in 0..4 {
        app.clock.advance(Duration::seconds(61));
        request(&acme, "bob@acme.test").await.unwrap();
    }
    app.clock.advance(Duration::seconds(61));
    let (status, error) = request(&acme, "bob@acme.test").await.unwrap_err();
    assert_eq!(status, 429);
    assert!(error.message().contains("minutes"), "{error:?}");
    app.clock.advance(Duration::minutes(60));
    request(&acme, "bob@acme.test").await.unwrap();
}

#[tokio::test]
async fn wrong_expired_superseded_and_foreign_codes_do_nothing() {
    let app = spawn_app().await;
    let mailbox = Mailbox::new();
    let acme = app.browser("acme");
    request(&acme, "bob@acme.test").await.unwrap();
    let first = mailbox.latest_code(&app).await;

    // A code from acme does nothing on admin; globex (SSO) offers no password recovery at all.
    assert_eq!(
        verify(&app.browser("admin"), "bob@acme.test", &first)
            .await
            .unwrap_err()
            .0,
        422
    );
    let (status, error) = request(&app.browser("globex"), "pat@partner.test").await.unwrap_err();
    assert_eq!(status, 403);
    assert!(error.message().contains("SSO"));

    // A resend voids the older code.
    app.clock.advance(Duration::seconds(61));
    request(&acme, "bob@acme.test").await.unwrap();
    let second = mailbox.latest_code(&app).await;
    if first != second {
        assert!(
            verify(&acme, "bob@acme.test", &first).await.is_err(),
            "superseded code refused"
        );
    }

    for bad in ["", "12345", "1234567", "abcdef", "12 34 5x"] {
        let (status, error) = verify(&acme, "bob@acme.test", bad).await.unwrap_err();
        assert_eq!(status, 422, "{bad:?}");
        assert!(error.field_messages("code")[0].contains("6-digit"), "{bad:?}");
    }

    // Expired after 10 minutes.
    app.clock.advance(Duration::minutes(11));
    let (_, error) = verify(&acme, "bob@acme.test", &second).await.unwrap_err();
    assert!(error.message().contains("no longer works"), "{error:?}");
    assert_eq!(newest_code_state(&app).await, "expired", "the admins see why");
}

/// How many codes were compared with the one sent (the Invalid Code events of wrong codes).
async fn codes_compared(app: &TestApp) -> usize {
    security_events::Entity::find()
        .filter(security_events::Column::EventType.eq("invalid_code"))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.detail.as_ref().is_some_and(|d| d["state"] == "wrong"))
        .count()
}

/// What the newest Invalid Code event says of the code (the answer itself says the same for
/// every state).
async fn newest_code_state(app: &TestApp) -> String {
    use sea_orm::QueryOrder;
    security_events::Entity::find()
        .filter(security_events::Column::EventType.eq("invalid_code"))
        .order_by_desc(security_events::Column::Id)
        .one(&app.state.db)
        .await
        .unwrap()
        .and_then(|e| e.detail)
        .and_then(|d| d["state"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

#[tokio::test]
async fn five_wrong_codes_and_a_resend_does_not_reset_the_count() {
    let app = spawn_app().await;
    let mailbox = Mailbox::new();
    let acme = app.browser("acme");
    request(&acme, "bob@acme.test").await.unwrap();
    let code = mailbox.latest_code(&app).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let (_, error) = verify(&acme, "bob@acme.test", wrong).await.unwrap_err();
        assert!(
            error.message().contains("not right") && error.message().contains("Ref "),
            "{error:?}"
        );
    }
    let (_, error) = verify(&acme, "bob@acme.test", &code).await.unwrap_err();
    assert!(error.message().contains("no longer works"), "{error:?}");
    assert_eq!(newest_code_state(&app).await, "too_many_wrong_codes");
    app.clock.advance(Duration::seconds(61));
    request(&acme, "bob@acme.test").await.unwrap();
    let fresh = mailbox.latest_code(&app).await;
    let (_, error) = verify(&acme, "bob@acme.test", &fresh).await.unwrap_err();
    assert!(error.message().contains("no longer works"), "{error:?}");
    assert_eq!(
        newest_code_state(&app).await,
        "too_many_wrong_codes",
        "resending never resets the count"
    );
    let compared = codes_compared(&app).await;
    assert_eq!(compared, 5);
}

#[tokio::test]
async fn the_new_password_must_pass_the_rules() {
    let app = spawn_app().await;
    let mailbox = Mailbox::new();
    let acme = app.browser("acme");
    request(&acme, "bob").await.unwrap();
    let code = mailbox.latest_code(&app).await;
    let ticket = verify(&acme, "bob", &code).await.unwrap();
    // The strength meter runs the server's own check with the ticket account's words.
    let words: Vec<String> = acme
        .call::<GetAccountWords, _>(&[("token", &ticket.token)])
        .await
        .unwrap();
    for word in ["bob@acme.test", "bob builder", "builder", "bob", "acme", "acme corp"] {
        assert!(words.iter().any(|w| w == word), "{word} in {words:?}");
    }
    let as_refs: Vec<&str> = words.iter().map(String::as_str).collect();
    let weak = password_strength("password1234", &as_refs);
    assert!(weak.score < 3 && weak.problem.is_some());
    let strong = password_strength(NEW_PASSWORD, &as_refs);
    assert!(strong.score >= 3 && strong.problem.is_none(), "{strong:?}");
    assert!(password_strength("bob@acme.test1", &as_refs).problem.is_some());
    // Built from the account and the workspace: refused, with the reason, over HTTP too.
    let built = password_strength("builder.acme-2026!", &as_refs);
    assert!(
        built
            .problem
            .as_deref()
            .is_some_and(|p| p.contains("account's details")),
        "{built:?}"
    );
    let (status, _) = acme
        .call::<GetAccountWords, Vec<String>>(&[("token", "nope")])
        .await
        .unwrap_err();
    assert_eq!(status, 422);
    let long = "a".repeat(129);
    for (password, confirm, field, words) in [
        ("short", "short", "password", "at least 12"),
        ("password1234", "password1234", "password", "too easy to guess"),
        ("bob@acme.test!!", "bob@acme.test!!", "password", "account's details"),
        (
            "builder.acme-2026!",
            "builder.acme-2026!",
            "password",
            "account's details",
        ),
        (long.as_str(), long.as_str(), "password", "at most 128"),
        (NEW_PASSWORD, "something else entirely", "confirm", "not the same"),
    ] {
        let (status, error) = complete(&acme, &ticket.token, password, confirm).await.unwrap_err();
        assert_eq!(status, 422, "{password}");
        assert!(
            error.field_messages(field).iter().any(|m| m.contains(words)),
            "{password}: {error:?}"
        );
    }
    assert_eq!(
        complete(&acme, "not-a-ticket", NEW_PASSWORD, NEW_PASSWORD)
            .await
            .unwrap_err()
            .0,
        422
    );
    // The refusals above did not use the ticket up.
    complete(&acme, &ticket.token, NEW_PASSWORD, NEW_PASSWORD)
        .await
        .unwrap();

    // A second change within 3 hours is refused with the designed message.
    app.clock.advance(Duration::minutes(5));
    request(&acme, "bob").await.unwrap();
    let code = mailbox.latest_code(&app).await;
    let ticket = verify(&acme, "bob", &code).await.unwrap();
    let (status, error) = complete(
        &acme,
        &ticket.token,
        "another fine passphrase 7",
        "another fine passphrase 7",
    )
    .await
    .unwrap_err();
    assert_eq!(status, 403);
    assert!(
        error
            .message()
            .starts_with("Your password was changed less than 3 hours ago")
    );
}

#[tokio::test]
async fn an_admin_reset_link_works_once_on_its_host_and_bypasses_the_minimum_age() {
    use app::server::entities::{audit_log, users};
    use app::server::services::recovery::send_reset_link;
    use sea_orm::{ActiveModelTrait, Set};
    let app = spawn_app().await;
    let mailbox = Mailbox::new();
    let meta = app::server::RequestMeta::default();
    let bob = app.user_id("bob@acme.test").await;
    let acme_id = app.tenant_id("acme").await;
    // Bob changed his password a minute ago: only an admin reset may change it again now.
    let mut row: users::ActiveModel = users::Entity::find_by_id(bob)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    row.password_changed_at = Set(Some(app::server::Clock::now(&app.clock) - Duration::minutes(1)));
    row.update(&app.state.db).await.unwrap();
    let session = app.browser("acme");
    session.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap();

    let support = app.actor("support@demo-msp.test", "admin").await;
    send_reset_link(&app.state, &support, &meta, bob, acme_id)
        .await
        .unwrap();
    let mail = mailbox.deliver(&app).await.pop().unwrap();
    assert!(unfold(&mail).contains(&app.url("acme", "/set-password#token=")));
    let token = link_token(&mail);

    // Worthless on another host.
    assert_eq!(
        complete(&app.browser("admin"), &token, NEW_PASSWORD, NEW_PASSWORD)
            .await
            .unwrap_err()
            .0,
        422
    );
    complete(&app.browser("acme"), &token, NEW_PASSWORD, NEW_PASSWORD)
        .await
        .expect("admin reset bypasses the minimum age");
    assert!(session.host_info().await.viewer.is_none(), "sessions ended");
    assert_eq!(
        complete(&app.browser("acme"), &token, NEW_PASSWORD, NEW_PASSWORD)
            .await
            .unwrap_err()
            .0,
        422
    );
    let audit = audit_log::Entity::find().all(&app.state.db).await.unwrap();
    assert_eq!(audit.len(), 1);
    assert_eq!(
        (audit[0].action.as_str(), audit[0].actor_user_id),
        ("user.password_reset_link_sent", Some(support.user.id))
    );

    // Expired after 24 hours.
    send_reset_link(&app.state, &support, &meta, bob, acme_id)
        .await
        .unwrap();
    let token = link_token(&mailbox.deliver(&app).await.pop().unwrap());
    app.clock.advance(Duration::hours(25));
    assert_eq!(
        complete(&app.browser("acme"), &token, NEW_PASSWORD, NEW_PASSWORD)
            .await
            .unwrap_err()
            .0,
        422
    );
}

#[tokio::test]
async fn reset_links_respect_roles_tenants_and_account_state() {
    use app::server::services::recovery::send_reset_link;
    let app = spawn_app().await;
    let meta = app::server::RequestMeta::default();
    let acme_id = app.tenant_id("acme").await;
    let globex_id = app.tenant_id("globex").await;
    let bob = app.user_id("bob@acme.test").await;

    let readonly = app.actor("readonly@demo-msp.test", "admin").await;
    let error = send_reset_link(&app.state, &readonly, &meta, bob, acme_id)
        .await
        .unwrap_err();
    assert_eq!(error.status(), 403);

    let acme_admin = app.actor("owner@acme.test", "acme").await;
    send_reset_link(&app.state, &acme_admin, &meta, bob, acme_id)
        .await
        .expect("tenant admin on own tenant");
    let gina = app.user_id("admin@globex.test").await;
    assert_eq!(
        send_reset_link(&app.state, &acme_admin, &meta, gina, globex_id)
            .await
            .unwrap_err()
            .status(),
        404
    );

    let operator_admin = app.actor("admin@demo-msp.test", "admin").await;
    let error = send_reset_link(&app.state, &operator_admin, &meta, gina, globex_id)
        .await
        .unwrap_err();
    assert_eq!(
        error.message(),
        "Password reset is not available: this account signs in with SSO."
    );
    let carol = app.user_id("carol@acme.test").await;
    assert_eq!(
        send_reset_link(&app.state, &operator_admin, &meta, carol, acme_id)
            .await
            .unwrap_err()
            .status(),
        409
    );
    // Bob has no membership on globex.
    assert_eq!(
        send_reset_link(&app.state, &operator_admin, &meta, bob, globex_id)
            .await
            .unwrap_err()
            .status(),
        404
    );
}

#[tokio::test]
async fn changing_my_password_needs_the_current_one_and_respects_the_minimum_age() {
    use app::api::ChangeMyPassword;
    let app = spawn_app().await;
    let mailbox = Mailbox::new();
    let other_browser = app.browser("acme");
    other_browser.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap();
    let acme = app.browser("acme");
    acme.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap();
    let change = |current: &'static str, password: &'static str, confirm: &'static str| {
        let acme = &acme;
        async move {
            acme.call::<ChangeMyPassword, ()>(&[("current", current), ("password", password), ("confirm", confirm)])
                .await
        }
    };
    let words: Vec<String> = acme.call::<GetAccountWords, _>(&[("token", "")]).await.unwrap();
    assert!(
        words.contains(&"bob@acme.test".to_owned()),
        "the signed-in user's meter weighs their own details"
    );

    let (status, error) = change("wrong current pw", NEW_PASSWORD, NEW_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(status, 422);
    assert!(!error.field_messages("current").is_empty());
    let (_, error) = change(DEMO_PASSWORD, "password1234", "password1234").await.unwrap_err();
    assert!(error.field_messages("password")[0].contains("too easy to guess"));
    let (_, error) = change(DEMO_PASSWORD, NEW_PASSWORD, "something else!!")
        .await
        .unwrap_err();
    assert!(!error.field_messages("confirm").is_empty());

    change(DEMO_PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await.unwrap();
    assert!(other_browser.host_info().await.viewer.is_none(), "other sessions ended");
    assert!(acme.host_info().await.viewer.is_none(), "this session ended too");
    assert!(
        mailbox
            .deliver(&app)
            .await
            .last()
            .unwrap()
            .contains("password was changed")
    );
    let changes = security_events::Entity::find()
        .filter(security_events::Column::EventType.eq("password_change"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(changes.len(), 1);

    // Within 3 hours a second change is refused; the sign-in itself works.
    acme.sign_in("bob@acme.test", NEW_PASSWORD).await.unwrap();
    let (status, error) = change(NEW_PASSWORD, "another fine passphrase 7", "another fine passphrase 7")
        .await
        .unwrap_err();
    assert_eq!(status, 403);
    assert!(
        error
            .message()
            .starts_with("Your password was changed less than 3 hours ago")
    );
    app.clock.advance(Duration::hours(3));
    acme.sign_in("bob@acme.test", NEW_PASSWORD).await.unwrap();
    change(NEW_PASSWORD, "another fine passphrase 7", "another fine passphrase 7")
        .await
        .unwrap();
    // Signed out, the change is refused.
    let (status, _) = change("another fine passphrase 7", NEW_PASSWORD, NEW_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_request_only_queues_and_the_worker_handles_it_once() {
    use app::server::entities::{one_time_secrets, outbox, reset_requests};
    use app::server::services::recovery::handle_reset_requests;
    let app = spawn_app().await;
    let acme = app.browser("acme");
    request(&acme, "bob@acme.test").await.unwrap();
    request(&acme, "ghost@acme.test").await.unwrap();
    // Known and unknown wrote the same thing: a throttle and a queued request each.
    let queued = reset_requests::Entity::find().all(&app.state.db).await.unwrap();
    assert_eq!(queued.len(), 2);
    assert!(
        queued
            .iter()
            .all(|r| !r.identifier_enc.windows(5).any(|w| w == b"ghost" || w == b"bob@a")),
        "identifiers are sealed"
    );
    assert_eq!(app.count(outbox::Entity).await, 0);
    assert_eq!(app.count(one_time_secrets::Entity).await, 0);

    // A worker that took a request and died: the request waits for its lease, then is handled.
    let taken = reset_requests::ActiveModel {
        claimed_until: sea_orm::Set(app::server::Clock::now(&app.clock) + Duration::minutes(5)),
        ..queued[0].clone().into()
    };
    sea_orm::ActiveModelTrait::update(taken, &app.state.db).await.unwrap();
    assert_eq!(handle_reset_requests(&app.state, 10).await.unwrap(), 1);
    app.clock.advance(Duration::minutes(6));
    assert_eq!(handle_reset_requests(&app.state, 10).await.unwrap(), 1);
    assert_eq!(
        handle_reset_requests(&app.state, 10).await.unwrap(),
        0,
        "each is handled once"
    );
    assert_eq!(app.count(reset_requests::Entity).await, 0);
    assert_eq!(app.count(outbox::Entity).await, 1, "only bob gets mail");
    assert_eq!(app.count(one_time_secrets::Entity).await, 1);
}

/// Forty wrong codes at once get five comparisons, no more: each try is taken before the code
/// is compared.
#[tokio::test]
async fn parallel_wrong_codes_get_five_comparisons_at_most() {
    let app = spawn_app().await;
    let mailbox = Mailbox::new();
    let acme = app.browser("acme");
    request(&acme, "bob").await.unwrap();
    let code = mailbox.latest_code(&app).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let tries = (0..40).map(|_| verify(&acme, "bob", wrong));
    let answers = futures::future::join_all(tries).await;
    assert!(answers.iter().all(|a| matches!(a, Err((422, _)))), "{answers:?}");
    let compared = codes_compared(&app).await;
    assert!(compared <= 5, "{compared} comparisons");
    // The right code is out of tries now too.
    assert!(matches!(verify(&acme, "bob", &code).await, Err((422, _))));
}
