//! Lock Account, Unlock Account, Reset Cooldown and Reset MFA over REST.

use crate::helpers::*;
use crate::mfa::enrolled;
use app::server::entities::{memberships, mfa_factors, security_events};
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

async fn send(app: &TestApp, method: reqwest::Method, token: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app
        .raw_client()
        .request(method, format!("http://{}/api/v1{path}", app.addr))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn lock_and_unlock_an_account() {
    let app = spawn_app().await;
    let support = api_token(&app, "support@demo-msp.test", "admin").await;
    let bob = app.user_id("bob@acme.test").await;
    let session = app.browser("acme");
    session.sign_in("bob", DEMO_PASSWORD).await.unwrap();

    let post = reqwest::Method::POST;
    let (status, body) = send(
        &app,
        post.clone(),
        &support,
        &format!("/users/{bob}/lock"),
        Some(json!({ "reason": "bad\u{7}" })),
    )
    .await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("validation_failed"))
    );
    let (status, body) = send(
        &app,
        post.clone(),
        &support,
        &format!("/users/{bob}/lock"),
        Some(json!({ "reason": "Reported a lost laptop" })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(
        session.host_info().await.viewer.is_none(),
        "the lock ends bob's sessions"
    );
    let (status, error) = app.browser("acme").sign_in("bob", DEMO_PASSWORD).await.unwrap_err();
    assert_eq!(
        (status, error.message()),
        (423, "Your account is locked. Contact your administrator.")
    );
    let (status, _) = send(&app, post.clone(), &support, &format!("/users/{bob}/lock"), None).await;
    assert_eq!(status, 409, "already locked");
    assert_eq!(audited(&app, "user.locked").await, 1);

    let readonly = api_token(&app, "readonly@demo-msp.test", "admin").await;
    let (status, _) = send(&app, post.clone(), &readonly, &format!("/users/{bob}/unlock"), None).await;
    assert_eq!(status, 403);
    let globex = api_token(&app, "admin@globex.test", "globex").await;
    let (status, _) = send(
        &app,
        post.clone(),
        &globex,
        &format!("/users/{bob}/unlock"),
        Some(json!({ "tenantId": app.tenant_id("acme").await })),
    )
    .await;
    assert_eq!(status, 404, "another tenant's admin cannot reach acme's users");
    let (status, body) = send(&app, post.clone(), &support, &format!("/users/{bob}/unlock"), None).await;
    assert_eq!(status, 200, "{body}");
    app.browser("acme").sign_in("bob", DEMO_PASSWORD).await.unwrap();
    assert_eq!(audited(&app, "user.unlocked").await, 1);
}

#[tokio::test]
async fn unlock_lifts_the_sign_in_failure_lock() {
    let app = spawn_app().await;
    let owner = api_token(&app, "owner@acme.test", "acme").await;
    let acme = app.browser("acme");
    for _ in 0..5 {
        acme.sign_in("bob", "wrong password here").await.unwrap_err();
    }
    let (status, _) = acme.sign_in("bob", DEMO_PASSWORD).await.unwrap_err();
    assert_eq!(status, 423);
    let bob = app.user_id("bob@acme.test").await;
    let (status, body) = send(
        &app,
        reqwest::Method::POST,
        &owner,
        &format!("/users/{bob}/unlock"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    app.browser("acme").sign_in("bob", DEMO_PASSWORD).await.unwrap();
}

#[tokio::test]
async fn reset_cooldown_ends_a_running_cooldown_only() {
    let app = spawn_app().await;
    let support = api_token(&app, "support@demo-msp.test", "admin").await;
    let erin = app.user_id("erin@acme.test").await;
    let path = format!("/users/{erin}/cooldown/reset");
    let (status, body) = send(&app, reqwest::Method::POST, &support, &path, None).await;
    assert_eq!(status, 200, "{body}");
    let membership = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(erin))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (
            membership.status.as_str(),
            membership.cooldown_until,
            membership.mfa_failed_attempts
        ),
        ("active", None, 0)
    );
    let (status, body) = send(&app, reqwest::Method::POST, &support, &path, None).await;
    assert_eq!(status, 409);
    assert!(body["error"]["message"].as_str().unwrap().contains("no cooldown"));
    assert_eq!(audited(&app, "user.cooldown_reset").await, 1);
}

#[tokio::test]
async fn bulk_mfa_reset_answers_per_user() {
    let app = spawn_app().await;
    let (session, _, _) = enrolled(&app, "acme", "bob").await;
    let admin = api_token(&app, "admin@demo-msp.test", "admin").await;
    let bob = app.user_id("bob@acme.test").await;
    let pat = app.user_id("pat@partner.test").await;
    let nobody = uuid::Uuid::nil();
    let (status, body) = send(
        &app,
        reqwest::Method::PUT,
        &admin,
        "/users/mfa/reset",
        Some(json!({ "ids": [bob, nobody, pat] })),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["result"], "done");
    assert_eq!(results[1]["result"], "not_found");
    assert_eq!(
        results[2]["result"], "validation_failed",
        "pat is in two workspaces: tenantId needed"
    );
    assert_eq!(app.count(mfa_factors::Entity).await, 0);
    assert!(
        session.host_info().await.viewer.is_none(),
        "sessions end with the reset"
    );
    let resets = security_events::Entity::find()
        .filter(security_events::Column::EventType.eq("mfa_reset"))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(resets, 1);
    // Seed 000: the next sign-in sets a factor up again, although acme does not enforce MFA.
    let viewer = app.browser("acme").sign_in("bob", DEMO_PASSWORD).await.unwrap();
    assert_eq!(viewer.mfa_step, Some(app::types::MfaStep::Enroll));

    for (body, status) in [
        (json!({ "ids": [] }), 422),
        (json!({ "ids": "all" }), 400),
        (json!({ "ids": ["not-a-uuid"] }), 400),
        (json!({ "ids": [bob], "force": true }), 400),
    ] {
        let (got, answer) = send(
            &app,
            reqwest::Method::PUT,
            &admin,
            "/users/mfa/reset",
            Some(body.clone()),
        )
        .await;
        assert_eq!(got, status, "{body} → {answer}");
    }
    let readonly = api_token(&app, "readonly@demo-msp.test", "admin").await;
    let (_, body) = send(
        &app,
        reqwest::Method::PUT,
        &readonly,
        "/users/mfa/reset",
        Some(json!({ "ids": [bob] })),
    )
    .await;
    assert_eq!(body["results"][0]["result"], "forbidden");
}

#[tokio::test]
async fn org_level_reset_removes_only_that_workspaces_factors() {
    use app::api::{ConfirmTotpEnrollment, StartTotpEnrollment, VerifyMfa};
    use app::server::Clock;
    use app::server::services::mfa::{code_at, secret_from_base32};
    use app::types::{RecoveryCodes, TotpEnrollment};
    let app = spawn_app().await;
    let mailbox = crate::mail::Mailbox::new();
    let admin = api_token(&app, "admin@demo-msp.test", "admin").await;
    // Bob joins the operator org too (accepting from his mailbox with his password), then has
    // an authenticator set up on each workspace.
    let (status, _) = send(
        &app,
        reqwest::Method::POST,
        &admin,
        "/users",
        Some(json!({ "email": "bob@acme.test", "displayName": "Bob", "role": "support" })),
    )
    .await;
    assert_eq!(status, 201);
    let invite = mailbox.deliver(&app).await.pop().expect("the invite");
    let token = crate::mail::link_token(&invite);
    let _: () = app
        .browser("admin")
        .call::<app::api::AcceptInvite, _>(&[("token", token.as_str()), ("password", DEMO_PASSWORD), ("confirm", "")])
        .await
        .unwrap();
    let (_, acme_secret, _) = enrolled(&app, "acme", "bob").await;
    let console = app.browser("admin");
    console.sign_in("bob", DEMO_PASSWORD).await.unwrap();
    let next = code_at(&acme_secret, app.clock.now() + chrono::Duration::seconds(30));
    let _: () = console.call::<VerifyMfa, _>(&[("code", &next)]).await.unwrap();
    let (status, error) = console
        .call::<StartTotpEnrollment, TotpEnrollment>(&[("password", "")])
        .await
        .unwrap_err();
    assert_eq!(status, 422, "a second factor needs the password again");
    assert!(!error.field_messages("password").is_empty());
    let second: TotpEnrollment = console
        .call::<StartTotpEnrollment, _>(&[("password", DEMO_PASSWORD)])
        .await
        .unwrap();
    let second_secret = secret_from_base32(&second.secret).unwrap();
    let codes: RecoveryCodes = console
        .call::<ConfirmTotpEnrollment, _>(&[
            ("factor_id", &second.factor_id.to_string()),
            ("code", &code_at(&second_secret, app.clock.now())),
        ])
        .await
        .unwrap();
    assert!(codes.codes.is_empty(), "the first set of recovery codes stays");
    assert_eq!(app.count(mfa_factors::Entity).await, 2);

    let bob = app.user_id("bob@acme.test").await;
    let acme_id = app.tenant_id("acme").await;
    let body = json!({ "ids": [bob], "tenantId": acme_id, "level": "org" });
    let (status, answer) = send(&app, reqwest::Method::PUT, &admin, "/users/mfa/reset", Some(body)).await;
    assert_eq!(
        (status, answer["results"][0]["result"].as_str()),
        (200, Some("done")),
        "{answer}"
    );
    let left = mfa_factors::Entity::find().all(&app.state.db).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(
        left[0].id, second.factor_id,
        "the factor set up on the admin console stays"
    );
    assert_eq!(audited(&app, "user.org_mfa_reset").await, 1);
    assert_eq!(app.count(app::server::entities::recovery_codes::Entity).await, 10);

    let body = json!({ "ids": [bob], "tenantId": acme_id, "level": "everything" });
    let (status, _) = send(&app, reqwest::Method::PUT, &admin, "/users/mfa/reset", Some(body)).await;
    assert_eq!(status, 400, "an unknown level is refused");
    let body = json!({ "ids": [bob], "tenantId": acme_id });
    send(&app, reqwest::Method::PUT, &admin, "/users/mfa/reset", Some(body)).await;
    assert_eq!(
        app.count(mfa_factors::Entity).await,
        0,
        "a user-level reset removes every factor"
    );
    assert_eq!(app.count(app::server::entities::recovery_codes::Entity).await, 0);
}

/// Disable Access: users.manage only; the person's sessions in the workspace end and a right
/// password answers "This account is disabled" until access is enabled again.
#[tokio::test]
async fn disable_access_ends_the_workspace_sessions_and_refuses_sign_in() {
    let app = spawn_app().await;
    let admin = api_token(&app, "admin@demo-msp.test", "admin").await;
    let support = api_token(&app, "support@demo-msp.test", "admin").await;
    let bob = app.user_id("bob@acme.test").await;
    let session = app.browser("acme");
    session.sign_in("bob", DEMO_PASSWORD).await.unwrap();
    let post = reqwest::Method::POST;
    let path = format!("/users/{bob}/disable");
    let (status, _) = send(&app, post.clone(), &support, &path, None).await;
    assert_eq!(status, 403, "support may lock but not disable");
    let (status, body) = send(&app, post.clone(), &admin, &path, None).await;
    assert_eq!(status, 200, "{body}");
    assert!(session.host_info().await.viewer.is_none(), "the session ended");
    let (status, error) = app.browser("acme").sign_in("bob", DEMO_PASSWORD).await.unwrap_err();
    assert_eq!((status, error.message()), (403, "This account is disabled"));
    let (status, body) = send(&app, post.clone(), &admin, &path, None).await;
    assert_eq!(status, 409, "{body}");
    let (status, body) = send(&app, post.clone(), &admin, &format!("/users/{bob}/enable"), None).await;
    assert_eq!(status, 200, "{body}");
    app.browser("acme").sign_in("bob", DEMO_PASSWORD).await.unwrap();
    assert_eq!(audited(&app, "user.access_disabled").await, 1);

    // Nobody disables their own access, a pending invite, or a user they cannot see.
    let ada = app.user_id("admin@demo-msp.test").await;
    let (status, body) = send(&app, post.clone(), &admin, &format!("/users/{ada}/disable"), None).await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("your own access"));
    let carol = app.user_id("carol@acme.test").await;
    let (status, _) = send(&app, post.clone(), &admin, &format!("/users/{carol}/disable"), None).await;
    assert_eq!(status, 409, "a pending invite is revoked, not disabled");
    let owner = api_token(&app, "owner@acme.test", "acme").await;
    let gina = app.user_id("admin@globex.test").await;
    let (status, _) = send(&app, post.clone(), &owner, &format!("/users/{gina}/disable"), None).await;
    assert_eq!(status, 404);
    let nobody = uuid::Uuid::nil();
    let (status, _) = send(&app, post.clone(), &admin, &format!("/users/{nobody}/disable"), None).await;
    assert_eq!(status, 404);
    assert_eq!(audited(&app, "user.access_disabled").await, 1);
}

/// The operator keeps at least one active Administrator: a role with users.manage that is not
/// Administrator (a custom one) cannot disable the last.
#[tokio::test]
async fn the_last_operator_administrator_cannot_be_disabled() {
    let app = spawn_app().await;
    let mut actor = app.actor("support@demo-msp.test", "admin").await;
    actor.role.permissions = json!(["users.read", "users.support", "users.manage"]);
    let ada = app.user_id("admin@demo-msp.test").await;
    let operator = app.tenant_id("admin").await;
    let meta = app::server::RequestMeta::default();
    let error = app::server::services::account_actions::disable_access(&app.state, &actor, &meta, ada, operator)
        .await
        .unwrap_err();
    assert_eq!(error.code(), "conflict");
    assert!(error.message().contains("last active Administrator"), "{error:?}");
    app.browser("admin").sign_in("ada", DEMO_PASSWORD).await.unwrap();
}
