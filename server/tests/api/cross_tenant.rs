//! One person, many workspaces (docs/design.md): what one workspace's admin does may not reach
//! the person's other workspaces. Each test is an attack a hostile tenant administrator tried,
//! and what must come of it.

use crate::helpers::{Browser, DEMO_PASSWORD, TestApp, api_call, api_token, spawn_app};
use crate::mail::{Mailbox, link_token};
use crate::mfa::enrolled;
use app::api::{
    AcceptInvite, BeginImpersonation, ChangeMyPassword, GetInvite, ImpersonateUser, RegenerateRecoveryCodes,
    StartTotpEnrollment,
};
use app::server::Clock;
use app::server::entities::{memberships, mfa_factors, recovery_codes, sessions, users};
use app::server::services::mfa::code_at;
use app::types::{AccessLink, InviteInfo, RecoveryCodes, TotpEnrollment};
use reqwest::Method;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::{Value, json};
use uuid::Uuid;

const ATTACKER_PASSWORD: &str = "attacker chosen passphrase 77";
const OWNER_PASSWORD: &str = "umbrella owner real passphrase 12";

async fn status_of(app: &TestApp, email: &str, slug: &str) -> Option<String> {
    let user_id = app.user_id(email).await;
    memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .filter(memberships::Column::TenantId.eq(app.tenant_id(slug).await))
        .one(&app.state.db)
        .await
        .unwrap()
        .map(|m| m.status)
}

async fn invite(app: &TestApp, token: &str, body: Value) -> Value {
    let answer = api_call(app, Method::POST, token, "/users", Some(body)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body
}

fn token_of(url: &str) -> String {
    url.rsplit("#token=").next().unwrap().to_owned()
}

async fn accept(
    browser: &Browser,
    token: &str,
    password: &str,
    code: Option<&str>,
) -> Result<(), (u16, app::AppError)> {
    let mut form = vec![("token", token), ("password", password), ("confirm", password)];
    if let Some(code) = code {
        form.push(("code", code));
    }
    browser.call::<AcceptInvite, ()>(&form).await
}

/// The invite's answer for a new address and for one that already has an account: the same
/// fields, the same status, nothing about the person.
fn same_answer(a: &Value, b: &Value) {
    let shape = |v: &Value| {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        (keys, v["status"].clone())
    };
    assert_eq!(shape(a), shape(b));
    assert_eq!(a["status"], "pending");
    assert!(a.get("existingUser").is_none());
}

#[tokio::test]
async fn pre_registering_an_address_gives_no_way_into_the_workspace_that_later_invites_it() {
    let app = spawn_app().await;
    // Globex signs in with SSO in the demo; this attack needs a password workspace.
    app.use_passwords("globex").await;
    let mailbox = Mailbox::new();
    let acme_admin = api_token(&app, "owner@acme.test", "acme").await;
    let globex_admin = api_token(&app, "admin@globex.test", "globex").await;

    // acme's admin invites an address acme does not own, makes an access link and accepts it
    // with a password of their choosing.
    let body = invite(
        &app,
        &acme_admin,
        json!({ "email": "cto@umbrella.test", "displayName": "CTO" }),
    )
    .await;
    let cto = body["userId"].as_str().unwrap().to_owned();
    let link = api_call(
        &app,
        Method::POST,
        &acme_admin,
        &format!("/users/{cto}/access-link"),
        None,
    )
    .await;
    assert_eq!(link.status, 201, "{}", link.body);
    accept(
        &app.browser("acme"),
        &token_of(link.body["url"].as_str().unwrap()),
        ATTACKER_PASSWORD,
        None,
    )
    .await
    .unwrap();
    mailbox.deliver(&app).await;

    // Later globex's admin invites the same address as Administrator: pending, and told
    // exactly what a new address would be told.
    let cto_answer = invite(
        &app,
        &globex_admin,
        json!({ "email": "cto@umbrella.test", "displayName": "CTO", "role": "administrator" }),
    )
    .await;
    let new_answer = invite(
        &app,
        &globex_admin,
        json!({ "email": "cfo@umbrella.test", "displayName": "CFO", "role": "administrator" }),
    )
    .await;
    same_answer(&cto_answer, &new_answer);
    assert_eq!(
        status_of(&app, "cto@umbrella.test", "globex").await.as_deref(),
        Some("pending")
    );

    // The attacker's password does not open globex, and neither do globex's own access links
    // or temporary passwords for this account.
    assert!(
        app.browser("globex")
            .sign_in("cto@umbrella.test", ATTACKER_PASSWORD)
            .await
            .is_err()
    );
    let link = api_call(
        &app,
        Method::POST,
        &globex_admin,
        &format!("/users/{cto}/access-link"),
        None,
    )
    .await;
    assert_eq!(link.status, 201, "an access link is made, as for anyone");
    let dead = token_of(link.body["url"].as_str().unwrap());
    let globex = app.browser("globex");
    let (status, _) = globex
        .call::<GetInvite, InviteInfo>(&[("token", &dead)])
        .await
        .unwrap_err();
    assert_eq!(status, 422);
    assert!(accept(&globex, &dead, ATTACKER_PASSWORD, None).await.is_err());
    let temp = api_call(
        &app,
        Method::POST,
        &globex_admin,
        &format!("/users/{cto}/temporary-password"),
        None,
    )
    .await;
    assert_eq!(temp.status, 403, "{}", temp.body);
    assert_eq!(
        status_of(&app, "cto@umbrella.test", "globex").await.as_deref(),
        Some("pending")
    );

    // Days later the person who owns the mailbox resets the password through it and accepts.
    app.clock.advance(chrono::Duration::days(1));
    let mails = mailbox.deliver(&app).await;
    let invite_mail = mails
        .iter()
        .find(|m| m.contains("To: cto@umbrella.test") && m.contains("invited to Globex"))
        .expect("the invite reached the mailbox");
    let token = link_token(invite_mail);
    let info: InviteInfo = globex.call::<GetInvite, _>(&[("token", &token)]).await.unwrap();
    assert!(info.has_password, "the account is proved, not set up again");
    let _: app::types::CodeRequested = globex
        .call::<app::api::RequestPasswordReset, _>(&[("identifier", "cto@umbrella.test")])
        .await
        .unwrap();
    app::server::services::recovery::handle_reset_requests(&app.state, 10)
        .await
        .unwrap();
    let code = mailbox.latest_code(&app).await;
    let ticket: app::types::ResetTicket = globex
        .call::<app::api::VerifyResetCode, _>(&[("identifier", "cto@umbrella.test"), ("code", &code)])
        .await
        .unwrap();
    let _: () = globex
        .call::<app::api::CompletePasswordReset, _>(&[
            ("token", ticket.token.as_str()),
            ("password", OWNER_PASSWORD),
            ("confirm", OWNER_PASSWORD),
        ])
        .await
        .unwrap();
    accept(&globex, &token, OWNER_PASSWORD, None).await.unwrap();
    assert_eq!(
        status_of(&app, "cto@umbrella.test", "globex").await.as_deref(),
        Some("active")
    );
    assert!(
        app.browser("globex")
            .sign_in("cto@umbrella.test", ATTACKER_PASSWORD)
            .await
            .is_err(),
        "the attacker's password is gone"
    );
    app.browser("globex")
        .sign_in("cto@umbrella.test", OWNER_PASSWORD)
        .await
        .unwrap();
}

/// The operator admin's console session, and the admin's factor, set up before the attack.
async fn operator_admin_with_a_factor(app: &TestApp) -> (Browser, Vec<u8>) {
    let (console, secret, _) = enrolled(app, "admin", "admin@demo-msp.test").await;
    (console, secret)
}

async fn factor_count(app: &TestApp, user_id: Uuid) -> u64 {
    mfa_factors::Entity::find()
        .filter(mfa_factors::Column::UserId.eq(user_id))
        .count(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn inviting_an_operator_admin_gives_a_tenant_admin_no_hold_over_them() {
    let app = spawn_app().await;
    let mailbox = Mailbox::new();
    let (console, secret) = operator_admin_with_a_factor(&app).await;
    let mail_before = mailbox.deliver(&app).await.len();
    let admin_id = app.user_id("admin@demo-msp.test").await;
    let acme_id = app.tenant_id("acme").await;
    let acme_admin = api_token(&app, "owner@acme.test", "acme").await;

    let answer = invite(
        &app,
        &acme_admin,
        json!({ "email": "admin@demo-msp.test", "displayName": "X" }),
    )
    .await;
    let fresh = invite(
        &app,
        &acme_admin,
        json!({ "email": "nobody-yet@acme.test", "displayName": "Y" }),
    )
    .await;
    same_answer(&answer, &fresh);
    assert_eq!(
        status_of(&app, "admin@demo-msp.test", "acme").await.as_deref(),
        Some("pending")
    );

    // What acme's admin reads of the person is acme's alone, and reads as a new account.
    let seen = api_call(&app, Method::GET, &acme_admin, &format!("/users/{admin_id}"), None).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    let text = seen.body.to_string();
    for foreign in ["Demo MSP", "admin.localhost", "Authenticator app"] {
        assert!(!text.contains(foreign), "{foreign} in {text}");
    }
    assert_eq!(seen.body["memberships"].as_array().unwrap().len(), 1);
    assert_eq!(seen.body["factors"], json!([]));
    assert_eq!(seen.body["sessions"], json!([]));
    assert_eq!(seen.body["activeSessions"], 0);
    assert_eq!(seen.body["hasPassword"], false);
    assert!(seen.body["recoveryCodesLeft"].is_null());
    assert_eq!(seen.body["reach"], "invited");
    let listed = api_call(
        &app,
        Method::GET,
        &acme_admin,
        "/users?q=admin%40demo-msp&mfa=enrolled",
        None,
    )
    .await;
    assert_eq!(listed.body["users"], json!([]), "the MFA filter does not tell");
    let listed = api_call(&app, Method::GET, &acme_admin, "/users?q=admin%40demo-msp", None).await;
    assert_eq!(listed.body["users"][0]["mfaEnrolled"], false);
    assert_eq!(listed.body["users"][0]["reach"], "invited");

    // Nothing that reaches the person beyond acme is open to acme's admin.
    let factors_before = factor_count(&app, admin_id).await;
    for (path, body) in [
        (
            "/users/mfa/reset".to_owned(),
            json!({ "ids": [admin_id], "level": "user", "tenantId": acme_id }),
        ),
        (
            "/users/mfa/reset".to_owned(),
            json!({ "ids": [admin_id], "level": "org", "tenantId": acme_id }),
        ),
    ] {
        let answer = api_call(&app, Method::PUT, &acme_admin, &path, Some(body)).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_ne!(answer.body["results"][0]["result"], "done", "{}", answer.body);
    }
    for path in ["password-reset-link", "temporary-password", "lock"] {
        let body = match path {
            "lock" => json!({ "tenantId": acme_id, "reason": "attack" }),
            _ => json!({ "tenantId": acme_id }),
        };
        let answer = api_call(
            &app,
            Method::POST,
            &acme_admin,
            &format!("/users/{admin_id}/{path}"),
            Some(body),
        )
        .await;
        assert!(
            matches!(answer.status, 403 | 409),
            "{path}: {} {}",
            answer.status,
            answer.body
        );
    }
    let answer = api_call(
        &app,
        Method::POST,
        &acme_admin,
        &format!("/users/{admin_id}/email"),
        Some(json!({ "email": "attacker@evil.test" })),
    )
    .await;
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert_eq!(factor_count(&app, admin_id).await, factors_before);
    assert!(
        console.host_info().await.viewer.is_some(),
        "the console session lives on"
    );
    let mails = mailbox.deliver(&app).await;
    let sent: Vec<&String> = mails[mail_before..].iter().filter(|m| !m.contains("invited")).collect();
    assert!(sent.is_empty(), "only invites went out: {sent:?}");

    // The admin accepts from the mailbox, proving password and factor; acme's admin still
    // acts on acme's membership only.
    let resend = api_call(
        &app,
        Method::POST,
        &acme_admin,
        &format!("/users/{admin_id}/invite/resend"),
        None,
    )
    .await;
    assert_eq!(resend.status, 202, "{}", resend.body);
    let mail = mailbox.deliver(&app).await.pop().unwrap();
    let token = link_token(&mail);
    let acme = app.browser("acme");
    let info: InviteInfo = acme.call::<GetInvite, _>(&[("token", &token)]).await.unwrap();
    assert!(info.has_password && info.needs_code);
    let (status, error) = accept(&acme, &token, DEMO_PASSWORD, None).await.unwrap_err();
    assert_eq!(status, 422);
    assert!(!error.field_messages("code").is_empty());
    let code = code_at(&secret, app.clock.now() + chrono::Duration::seconds(30));
    accept(&acme, &token, DEMO_PASSWORD, Some(&code)).await.unwrap();
    assert_eq!(
        status_of(&app, "admin@demo-msp.test", "acme").await.as_deref(),
        Some("active")
    );

    let seen = api_call(&app, Method::GET, &acme_admin, &format!("/users/{admin_id}"), None).await;
    assert_eq!(seen.body["reach"], "beyond");
    assert_eq!(
        seen.body["factors"],
        json!([]),
        "the factor was set up on the admin console"
    );
    let reset = api_call(
        &app,
        Method::PUT,
        &acme_admin,
        "/users/mfa/reset",
        Some(json!({ "ids": [admin_id], "level": "user", "tenantId": acme_id })),
    )
    .await;
    assert_eq!(reset.body["results"][0]["result"], "forbidden", "{}", reset.body);
    let lock = api_call(
        &app,
        Method::POST,
        &acme_admin,
        &format!("/users/{admin_id}/lock"),
        Some(json!({ "tenantId": acme_id, "reason": "mine now" })),
    )
    .await;
    assert_eq!(lock.status, 200, "{}", lock.body);
    assert_eq!(factor_count(&app, admin_id).await, factors_before);
    assert!(
        console.host_info().await.viewer.is_some(),
        "a lock on acme ends acme's sessions only"
    );
}

#[tokio::test]
async fn an_empty_mfa_reset_does_nothing_and_says_why() {
    let app = spawn_app().await;
    let mailbox = Mailbox::new();
    let admin = api_token(&app, "admin@demo-msp.test", "admin").await;
    let acme_id = app.tenant_id("acme").await;
    let bob = app.user_id("bob@acme.test").await;
    let session = app.browser("acme");
    session.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap();
    mailbox.deliver(&app).await;
    for level in ["user", "org"] {
        let body = json!({ "ids": [bob], "level": level, "tenantId": acme_id });
        let answer = api_call(&app, Method::PUT, &admin, "/users/mfa/reset", Some(body)).await;
        assert_eq!(answer.status, 200);
        let row = &answer.body["results"][0];
        assert_eq!(row["result"], "skipped", "{level}: {row}");
        assert!(row["message"].as_str().unwrap().contains("nothing to reset"), "{row}");
    }
    assert!(session.host_info().await.viewer.is_some(), "no session ended");
    assert!(mailbox.deliver(&app).await.is_empty(), "no email");
    assert_eq!(crate::helpers::audited(&app, "user.mfa_reset").await, 0);
}

#[tokio::test]
async fn an_impersonating_admin_cannot_bind_a_factor_or_change_the_password() {
    let app = spawn_app().await;
    let acme = app.tenant_id("acme").await.to_string();
    let bob = app.user_id("bob@acme.test").await.to_string();
    let admin = app.browser("admin");
    admin.sign_in("admin@demo-msp.test", DEMO_PASSWORD).await.unwrap();
    let link: AccessLink = admin
        .call::<ImpersonateUser, _>(&[("user_id", bob.as_str()), ("tenant_id", acme.as_str())])
        .await
        .unwrap();
    let tab = app.browser("acme");
    tab.call::<BeginImpersonation, ()>(&[("token", &token_of(&link.url))])
        .await
        .unwrap();
    let (status, _) = tab
        .call::<StartTotpEnrollment, TotpEnrollment>(&[("password", DEMO_PASSWORD)])
        .await
        .unwrap_err();
    assert_eq!(status, 403);
    let (status, _) = tab
        .call::<RegenerateRecoveryCodes, RecoveryCodes>(&[("password", DEMO_PASSWORD)])
        .await
        .unwrap_err();
    assert_eq!(status, 403);
    let (status, _) = tab
        .call::<ChangeMyPassword, ()>(&[
            ("current", DEMO_PASSWORD),
            ("password", ATTACKER_PASSWORD),
            ("confirm", ATTACKER_PASSWORD),
        ])
        .await
        .unwrap_err();
    assert_eq!(status, 403);
    let bob_id = app.user_id("bob@acme.test").await;
    assert_eq!(factor_count(&app, bob_id).await, 0);
    let codes = recovery_codes::Entity::find()
        .filter(recovery_codes::Column::UserId.eq(bob_id))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(codes, 0);
}

#[tokio::test]
async fn a_factor_needs_the_password_again_or_a_fresh_sso_sign_in() {
    let app = spawn_app().await;
    // Bob, signed in with his password: even his first factor asks for it again.
    let bob = app.browser("acme");
    bob.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap();
    for wrong in ["", "not his password at all"] {
        let (status, error) = bob
            .call::<StartTotpEnrollment, TotpEnrollment>(&[("password", wrong)])
            .await
            .unwrap_err();
        assert_eq!(status, 422);
        assert!(!error.field_messages("password").is_empty());
    }
    let _: TotpEnrollment = bob
        .call::<StartTotpEnrollment, _>(&[("password", DEMO_PASSWORD)])
        .await
        .unwrap();

    // An account without a password (it signs in through SSO) has only its sign-in to show:
    // the session must be a few minutes old at most.
    let ivy = app.user_id("ivy@initech.test").await;
    let mut user: users::ActiveModel = users::Entity::find_by_id(ivy)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    let browser = app.browser("initech");
    browser.sign_in("ivy@initech.test", DEMO_PASSWORD).await.unwrap();
    user.password_hash = Set(None);
    user.update(&app.state.db).await.unwrap();
    let _: TotpEnrollment = browser
        .call::<StartTotpEnrollment, _>(&[("password", "")])
        .await
        .unwrap();
    app.clock
        .advance(app::server::services::mfa::FRESH_SIGN_IN + chrono::Duration::seconds(1));
    let _ = browser.host_info().await;
    let (status, _) = browser
        .call::<StartTotpEnrollment, TotpEnrollment>(&[("password", "")])
        .await
        .unwrap_err();
    assert_eq!(status, 403);
    let live = sessions::Entity::find()
        .filter(sessions::Column::UserId.eq(ivy))
        .count(&app.state.db)
        .await
        .unwrap();
    assert!(live > 0);
}
