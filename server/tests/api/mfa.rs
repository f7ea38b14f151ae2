//! Multi-factor authentication over HTTP: enrollment where enforced, the code after the
//! password, replay, recovery codes, the cooldown and the lock.

use crate::helpers::*;
use app::api::{
    ConfirmTotpEnrollment, GetMyAccount, GetMyMfa, RegenerateRecoveryCodes, RemoveMfaFactor, StartTotpEnrollment,
    VerifyMfa,
};
use app::server::Clock;
use app::server::entities::{memberships, mfa_factors, recovery_codes, security_events};
use app::server::services::account_actions;
use app::server::services::mfa::{code_at, secret_from_base32};
use app::types::{MfaStep, MyAccount, MyMfa, RecoveryCodes, TotpEnrollment};
use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};

/// Signs `identifier` in on `label` and sets up an authenticator; returns the browser, the raw
/// secret and the recovery codes.
pub async fn enrolled(app: &TestApp, label: &str, identifier: &str) -> (Browser, Vec<u8>, Vec<String>) {
    let browser = app.browser(label);
    browser.sign_in(identifier, DEMO_PASSWORD).await.unwrap();
    let enrollment: TotpEnrollment = browser
        .call::<StartTotpEnrollment, _>(&[("password", DEMO_PASSWORD)])
        .await
        .unwrap();
    let secret = secret_from_base32(&enrollment.secret).unwrap();
    let code = code_at(&secret, app.clock.now());
    let codes: RecoveryCodes = browser
        .call::<ConfirmTotpEnrollment, _>(&[("factor_id", &enrollment.factor_id.to_string()), ("code", &code)])
        .await
        .unwrap();
    (browser, secret, codes.codes)
}

async fn events_of(app: &TestApp, event_type: &str) -> u64 {
    security_events::Entity::find()
        .filter(security_events::Column::EventType.eq(event_type))
        .count(&app.state.db)
        .await
        .unwrap()
}

async fn verify(browser: &Browser, code: &str) -> FnResult<()> {
    browser.call::<VerifyMfa, _>(&[("code", code)]).await
}

#[tokio::test]
async fn an_enforcing_workspace_makes_users_enroll_then_asks_for_a_code_each_sign_in() {
    let app = spawn_app().await;
    let ivy = app.browser("initech");
    let viewer = ivy.sign_in("ivy", DEMO_PASSWORD).await.unwrap();
    assert_eq!(viewer.mfa_step, Some(MfaStep::Enroll));
    let (status, error) = ivy.call::<GetMyAccount, MyAccount>(&[]).await.unwrap_err();
    assert_eq!((status, error.code()), (403, "mfa_enrollment_required"));

    // The first factor asks for the password again too.
    let (status, error) = ivy
        .call::<StartTotpEnrollment, TotpEnrollment>(&[("password", "")])
        .await
        .unwrap_err();
    assert_eq!(status, 422);
    assert!(!error.field_messages("password").is_empty());
    let enrollment: TotpEnrollment = ivy
        .call::<StartTotpEnrollment, _>(&[("password", DEMO_PASSWORD)])
        .await
        .unwrap();
    assert!(enrollment.issuer.starts_with("Initech (initech.localhost"));
    assert!(enrollment.otpauth_url.starts_with("otpauth://totp/"));
    assert!(enrollment.qr_png_base64.starts_with("iVBOR"), "a PNG");
    let secret = secret_from_base32(&enrollment.secret).unwrap();
    let stored = mfa_factors::Entity::find_by_id(enrollment.factor_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !stored
            .secret_enc
            .unwrap()
            .windows(secret.len())
            .any(|w| w == secret.as_slice()),
        "the secret is sealed at rest"
    );
    let factor_id = enrollment.factor_id.to_string();
    let now = app.clock.now();
    for bad in [
        "",
        "12345",
        "1234567",
        "abcdef",
        &code_at(&secret, now + Duration::minutes(5)),
    ] {
        let (status, _) = ivy
            .call::<ConfirmTotpEnrollment, RecoveryCodes>(&[("factor_id", &factor_id), ("code", bad)])
            .await
            .unwrap_err();
        assert_eq!(status, 422, "{bad:?}");
    }
    let codes: RecoveryCodes = ivy
        .call::<ConfirmTotpEnrollment, _>(&[("factor_id", &factor_id), ("code", &code_at(&secret, now))])
        .await
        .unwrap();
    assert_eq!(codes.codes.len(), 10);
    assert_eq!(app.count(recovery_codes::Entity).await, 10);
    assert!(ivy.host_info().await.viewer.unwrap().mfa_step.is_none());
    ivy.call::<GetMyAccount, MyAccount>(&[]).await.unwrap();
    assert_eq!(events_of(&app, "mfa_enrolled").await, 1);

    // The next sign-in asks for a code; the one used at enrollment is refused as a replay.
    let again = app.browser("initech");
    let viewer = again.sign_in("ivy", DEMO_PASSWORD).await.unwrap();
    assert_eq!(viewer.mfa_step, Some(MfaStep::Verify));
    let (status, error) = again.call::<GetMyAccount, MyAccount>(&[]).await.unwrap_err();
    assert_eq!((status, error.code()), (403, "mfa_required"));
    let (status, error) = verify(&again, &code_at(&secret, now)).await.unwrap_err();
    assert_eq!(status, 422);
    assert!(error.message().contains("already used"));
    assert_eq!(events_of(&app, "totp_replay").await, 1);
    app.clock.advance(Duration::seconds(30));
    verify(&again, &code_at(&secret, app.clock.now())).await.unwrap();
    again.call::<GetMyAccount, MyAccount>(&[]).await.unwrap();

    // The last factor cannot be removed where MFA is enforced.
    let mfa: MyMfa = again.call::<GetMyMfa, _>(&[]).await.unwrap();
    assert_eq!(
        (mfa.factors.len(), mfa.recovery_codes_left, mfa.enforced),
        (1, 10, true)
    );
    let (status, _) = again
        .call::<RemoveMfaFactor, ()>(&[("factor_id", &factor_id), ("password", DEMO_PASSWORD)])
        .await
        .unwrap_err();
    assert_eq!(status, 409);
}

#[tokio::test]
async fn recovery_codes_work_once_and_can_be_replaced() {
    let app = spawn_app().await;
    let (_, _, codes) = enrolled(&app, "acme", "bob").await;
    let browser = app.browser("acme");
    browser.sign_in("bob", DEMO_PASSWORD).await.unwrap();
    verify(&browser, &codes[0].to_lowercase()).await.unwrap();
    assert_eq!(events_of(&app, "recovery_code_used").await, 1);
    let mfa: MyMfa = browser.call::<GetMyMfa, _>(&[]).await.unwrap();
    assert_eq!(mfa.recovery_codes_left, 9);

    let other = app.browser("acme");
    other.sign_in("bob", DEMO_PASSWORD).await.unwrap();
    let (status, _) = verify(&other, &codes[0]).await.unwrap_err();
    assert_eq!(status, 422, "a used code is refused");

    let (status, error) = browser
        .call::<RegenerateRecoveryCodes, RecoveryCodes>(&[("password", "not the password")])
        .await
        .unwrap_err();
    assert_eq!(status, 422);
    assert!(!error.field_messages("password").is_empty());
    let fresh: RecoveryCodes = browser
        .call::<RegenerateRecoveryCodes, _>(&[("password", DEMO_PASSWORD)])
        .await
        .unwrap();
    assert_eq!(fresh.codes.len(), 10);
    let (status, _) = verify(&other, &codes[1]).await.unwrap_err();
    assert_eq!(status, 422, "the old set is void");
    verify(&other, &fresh.codes[0]).await.unwrap();

    // Bob's factor is optional on acme: he may remove it, with his password.
    let factor = mfa.factors[0].id.to_string();
    let (status, _) = browser
        .call::<RemoveMfaFactor, ()>(&[("factor_id", &factor), ("password", "wrong password!")])
        .await
        .unwrap_err();
    assert_eq!(status, 422);
    let _: () = browser
        .call::<RemoveMfaFactor, _>(&[("factor_id", &factor), ("password", DEMO_PASSWORD)])
        .await
        .unwrap();
    assert_eq!(app.count(recovery_codes::Entity).await, 0);
    let viewer = app.browser("acme").sign_in("bob", DEMO_PASSWORD).await.unwrap();
    assert_eq!(viewer.mfa_step, None);
}

#[tokio::test]
async fn five_wrong_codes_start_a_cooldown_and_three_cooldowns_lock_the_account() {
    let app = spawn_app().await;
    let (_, secret, _) = enrolled(&app, "acme", "pat").await;
    let acme_id = app.tenant_id("acme").await;
    let pat_id = app.user_id("pat@partner.test").await;
    let membership = || async {
        memberships::Entity::find()
            .filter(memberships::Column::UserId.eq(pat_id))
            .filter(memberships::Column::TenantId.eq(acme_id))
            .one(&app.state.db)
            .await
            .unwrap()
            .unwrap()
    };
    for round in 1..=3 {
        let browser = app.browser("acme");
        browser.sign_in("pat", DEMO_PASSWORD).await.unwrap();
        let wrong = code_at(&secret, app.clock.now() + Duration::minutes(10));
        for attempt in 1..=4 {
            let (status, error) = verify(&browser, &wrong).await.unwrap_err();
            assert_eq!(status, 422, "round {round}, attempt {attempt}");
            assert!(error.message().contains("Ref "), "a support reference");
        }
        let (status, error) = verify(&browser, &wrong).await.unwrap_err();
        if round < 3 {
            assert_eq!(status, 403);
            assert!(error.message().contains("Too many wrong codes"), "{error:?}");
            let m = membership().await;
            assert_eq!(m.status, "cooldown");
            assert_eq!(m.cooldown_until, Some(app.clock.now() + Duration::hours(1)));
            let right = code_at(&secret, app.clock.now());
            let (status, _) = verify(&browser, &right).await.unwrap_err();
            assert_eq!(status, 403, "no code works during the cooldown");
            app.clock.advance(Duration::minutes(61));
        } else {
            assert_eq!((status, error.code()), (423, "account_locked"));
            assert!(error.reference().is_some());
        }
    }
    assert_eq!(events_of(&app, "cooldown_activated").await, 3);
    assert_eq!(events_of(&app, "account_lock").await, 1);
    let m = membership().await;
    assert_eq!(m.status, "locked");
    let (status, error) = app.browser("acme").sign_in("pat", DEMO_PASSWORD).await.unwrap_err();
    assert_eq!(
        (status, error.message()),
        (423, "Your account is locked. Contact your administrator.")
    );
}

#[tokio::test]
async fn bad_codes_and_other_users_factors_change_nothing() {
    let app = spawn_app().await;
    let (bob, _, _) = enrolled(&app, "acme", "bob").await;
    let alice = app.browser("acme");
    alice.sign_in("alice", DEMO_PASSWORD).await.unwrap();
    let bobs_factor = mfa_factors::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    let (status, _) = alice
        .call::<ConfirmTotpEnrollment, RecoveryCodes>(&[("factor_id", &bobs_factor), ("code", "123456")])
        .await
        .unwrap_err();
    assert_eq!(status, 422);
    let (status, _) = alice
        .call::<RemoveMfaFactor, ()>(&[("factor_id", &bobs_factor), ("password", DEMO_PASSWORD)])
        .await
        .unwrap_err();
    assert_eq!(status, 404);
    assert_eq!(app.count(mfa_factors::Entity).await, 1);

    let browser = app.browser("acme");
    browser.sign_in("bob", DEMO_PASSWORD).await.unwrap();
    for bad in [
        "",
        "12 34",
        "1234567890",
        "ABCD-EFG",
        "ABCD-EFG1",
        &"9".repeat(300),
        "12345\u{0}",
    ] {
        let (status, error) = verify(&browser, bad).await.unwrap_err();
        assert_eq!(status, 422, "{bad:?}");
        assert!(!error.field_messages("code").is_empty());
    }
    let m = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(app.user_id("bob@acme.test").await))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(m.mfa_failed_attempts, 0, "malformed input is not a guess");
    let (status, _) = verify(&bob, "123456").await.unwrap_err();
    assert_eq!(status, 409, "a verified session needs no code");
    let (status, _) = verify(&app.browser("acme"), "123456").await.unwrap_err();
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_password_reset_keeps_mfa() {
    let app = spawn_app().await;
    let (_, secret, _) = enrolled(&app, "acme", "bob").await;
    let owner = app.actor("owner@acme.test", "acme").await;
    let (bob_id, acme_id) = (app.user_id("bob@acme.test").await, app.tenant_id("acme").await);
    let temporary =
        app::server::services::temporary_passwords::generate(&app.state, &owner, &Default::default(), bob_id, acme_id)
            .await
            .unwrap();
    let browser = app.browser("acme");
    let viewer = browser.sign_in("bob", &temporary.temporary_password).await.unwrap();
    assert_eq!(
        viewer.mfa_step,
        Some(MfaStep::Verify),
        "MFA first, then the new password"
    );
    assert!(viewer.must_change_password);
    app.clock.advance(Duration::seconds(30));
    verify(&browser, &code_at(&secret, app.clock.now())).await.unwrap();
    let (status, error) = browser.call::<GetMyAccount, MyAccount>(&[]).await.unwrap_err();
    assert_eq!((status, error.code()), (403, "password_change_required"));
    assert_eq!(app.count(mfa_factors::Entity).await, 1);
}

#[tokio::test]
async fn a_configured_key_seals_totp_secrets() {
    let app = spawn_app().await;
    let key = [42u8; 32];
    let state = server::startup::build_state(
        app.state.db.clone(),
        (*app.state.config).clone(),
        app.state.clock.clone(),
        app.state.hasher.clone(),
        Some(key),
    )
    .await
    .unwrap();
    let actor = app.actor("bob@acme.test", "acme").await;
    let enrollment = app::server::services::mfa::start_totp(
        &state,
        &actor,
        &app::server::RequestMeta::default(),
        DEMO_PASSWORD.into(),
    )
    .await
    .unwrap();
    let row = mfa_factors::Entity::find_by_id(enrollment.factor_id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let sealed = row.secret_enc.unwrap();
    let opened = app::server::crypto::Cipher::new(&key).open(&sealed).unwrap();
    assert_eq!(Some(opened), secret_from_base32(&enrollment.secret));
    assert_eq!(app.state.cipher.open(&sealed), None, "the stored key does not open it");
}

#[tokio::test]
async fn the_operator_org_can_enforce_mfa_too() {
    use app::server::entities::tenants;
    use sea_orm::{ActiveModelTrait, Set};
    let app = spawn_app().await;
    let operator = tenants::Entity::find()
        .filter(tenants::Column::Slug.eq("admin"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut active: tenants::ActiveModel = operator.into();
    active.is_mfa_enforced = Set(true);
    active.update(&app.state.db).await.unwrap();
    let console = app.browser("admin");
    let viewer = console.sign_in("admin@demo-msp.test", DEMO_PASSWORD).await.unwrap();
    assert_eq!(viewer.mfa_step, Some(MfaStep::Enroll));
    let (status, error) = console
        .call::<app::api::ListOutbox, app::types::OutboxPage>(&[("status", ""), ("before", "")])
        .await
        .unwrap_err();
    assert_eq!(
        (status, error.code()),
        (403, "mfa_enrollment_required"),
        "admin screens wait for MFA"
    );
}

/// Forty wrong codes at once get five comparisons: each takes a try of the factor's budget
/// before the code is compared, so the rest find the factor paused.
#[tokio::test]
async fn parallel_wrong_codes_get_five_comparisons() {
    let app = spawn_app().await;
    let (_, secret, _) = enrolled(&app, "acme", "bob").await;
    let browser = app.browser("acme");
    browser.sign_in("bob", DEMO_PASSWORD).await.unwrap();
    let wrong = code_at(&secret, app.clock.now() + Duration::minutes(10));
    let answers = futures::future::join_all((0..40).map(|_| verify(&browser, &wrong))).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.as_ref().unwrap_err().0).collect();
    assert_eq!(events_of(&app, "invalid_code").await, 5, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 4, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 403).count(), 36, "{statuses:?}");
    assert_eq!(events_of(&app, "cooldown_activated").await, 1);
}

/// A factor's budget is the person's: wrong codes on one workspace leave none on another, and
/// only an admin of every workspace of the person gives it back early.
#[tokio::test]
async fn a_second_workspace_gives_a_factor_no_fresh_budget() {
    let app = spawn_app().await;
    app.use_passwords("globex").await;
    let (_, secret, codes) = enrolled(&app, "acme", "pat").await;
    let acme = app.browser("acme");
    acme.sign_in("pat", DEMO_PASSWORD).await.unwrap();
    let wrong = code_at(&secret, app.clock.now() + Duration::minutes(10));
    for _ in 0..5 {
        verify(&acme, &wrong).await.unwrap_err();
    }
    let globex = app.browser("globex");
    globex.sign_in("pat", DEMO_PASSWORD).await.unwrap();
    for code in [wrong.clone(), code_at(&secret, app.clock.now())] {
        let (status, error) = verify(&globex, &code).await.unwrap_err();
        assert_eq!(status, 403, "{error:?}");
        assert!(error.message().contains("Too many wrong codes"), "{error:?}");
    }
    assert_eq!(events_of(&app, "invalid_code").await, 5, "no comparison while paused");

    // Acme's own admin ends acme's cooldown, but the authenticator stays paused: pat belongs
    // to globex too.
    let pat = app.user_id("pat@partner.test").await;
    let meta = app::server::RequestMeta::default();
    let reset = |email: &'static str, slug: &'static str| {
        let app = &app;
        let meta = &meta;
        async move {
            let actor = app.actor(email, slug).await;
            let acme_id = app.tenant_id("acme").await;
            account_actions::reset_cooldown(&app.state, &actor, meta, pat, acme_id).await
        }
    };
    reset("owner@acme.test", "acme").await.unwrap();
    let acme = app.browser("acme");
    acme.sign_in("pat", DEMO_PASSWORD).await.unwrap();
    let (status, _) = verify(&acme, &code_at(&secret, app.clock.now())).await.unwrap_err();
    assert_eq!(status, 403, "still paused");

    // Recovery codes have a budget of their own.
    verify(&globex, &codes[0]).await.unwrap();

    // An operator admin reaches every workspace of pat: the budgets start again.
    reset("admin@demo-msp.test", "admin").await.unwrap();
    let acme = app.browser("acme");
    acme.sign_in("pat", DEMO_PASSWORD).await.unwrap();
    verify(&acme, &code_at(&secret, app.clock.now() + Duration::seconds(30)))
        .await
        .unwrap();
}
