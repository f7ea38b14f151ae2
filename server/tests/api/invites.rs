//! Invites, access links, revoking, over REST and server functions, with the mail read from a
//! real SMTP server.

use crate::helpers::*;
use crate::mail::{Mailbox, link_token};
use app::api::{AcceptInvite, GenerateAccessLink, GetAccountWords, GetInvite, InviteUser, ResendInvite, RevokeInvite};
use app::server::Clock;
use app::server::entities::{audit_log, memberships, one_time_secrets, security_events, users};
use app::server::services::tokens;
use app::types::{AccessLink, InviteInfo, InviteOutcome, Viewer};
use chrono::Duration;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

const NEW_PASSWORD: &str = "maple quartz harbor 31";

async fn token_for(app: &TestApp, email: &str, slug: &str) -> String {
    tokens::create(&app.state, email, slug, "test", None)
        .await
        .unwrap()
        .token
}

async fn post(app: &TestApp, token: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = app
        .raw_client()
        .post(format!("http://{}/api/v1{path}", app.addr))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn raw_post(app: &TestApp, token: &str, path: &str, body: &'static str) -> (u16, Value) {
    let response = app
        .raw_client()
        .post(format!("http://{}/api/v1{path}", app.addr))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// A new access link for `user_id` on `tenant_id`, made with `token`: its token.
async fn access_link_token(app: &TestApp, token: &str, user_id: &str, tenant_id: uuid::Uuid) -> String {
    let path = format!("/users/{user_id}/access-link");
    let (status, body) = post(app, token, &path, Some(json!({ "tenantId": tenant_id }))).await;
    assert_eq!(status, 201, "{body}");
    body["url"]
        .as_str()
        .unwrap()
        .rsplit("#token=")
        .next()
        .unwrap()
        .to_owned()
}

async fn accept(browser: &Browser, token: &str, password: &str, confirm: &str) -> FnResult<()> {
    browser
        .call::<AcceptInvite, _>(&[("token", token), ("password", password), ("confirm", confirm)])
        .await
}

async fn status_of(app: &TestApp, email: &str, slug: &str) -> Option<String> {
    let user = users::Entity::find()
        .filter(users::Column::Email.eq(email))
        .one(&app.state.db)
        .await
        .unwrap()?;
    let tenant_id = app.tenant_id(slug).await;
    memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user.id))
        .filter(memberships::Column::TenantId.eq(tenant_id))
        .one(&app.state.db)
        .await
        .unwrap()
        .map(|m| m.status)
}

#[tokio::test]
async fn an_invite_is_emailed_accepted_on_its_host_and_works_once() {
    let app = spawn_app().await;
    let mailbox = Mailbox::new();
    let owner = token_for(&app, "owner@acme.test", "acme").await;
    let (status, body) = post(
        &app,
        &owner,
        "/users",
        Some(json!({ "email": " Nina@Acme.test ", "displayName": "Nina New", "username": "nina" })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let outcome: InviteOutcome = serde_json::from_value(body).unwrap();
    assert_eq!(outcome.status.as_str(), "pending");
    assert_eq!(outcome.invite_expires_at.unwrap() - app.clock.now(), Duration::days(7));
    assert_eq!(
        status_of(&app, "nina@acme.test", "acme").await.as_deref(),
        Some("pending")
    );
    let audit = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("user.invited"))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(audit, 1);

    let mail = mailbox.deliver(&app).await.pop().unwrap();
    assert!(mail.contains("To: nina@acme.test"));
    assert!(mail.contains("Subject: You are invited to Acme Corp"));
    assert!(mail.contains("text/html"));
    let token = link_token(&mail);
    assert!(crate::mail::unfold(&mail).contains(&app.url("acme", "/accept-invite#token=")));

    // A link is worth nothing on another workspace's host.
    for label in ["globex", "admin"] {
        let (status, error) = app
            .browser(label)
            .call::<GetInvite, InviteInfo>(&[("token", &token)])
            .await
            .unwrap_err();
        assert_eq!(status, 422, "{label}");
        assert!(error.message().contains("expired or was already used"));
    }
    let acme = app.browser("acme");
    let info: InviteInfo = acme.call::<GetInvite, _>(&[("token", &token)]).await.unwrap();
    assert_eq!(
        (
            info.tenant_name.as_str(),
            info.email.as_str(),
            info.sso,
            info.has_password
        ),
        ("Acme Corp", "nina@acme.test", false, false)
    );
    let words: Vec<String> = acme.call::<GetAccountWords, _>(&[("token", &token)]).await.unwrap();
    for word in [
        "nina@acme.test",
        "nina new",
        "nina",
        "acme",
        "acme corp",
        "corp",
        "latchkey",
    ] {
        assert!(words.iter().any(|w| w == word), "{word} in {words:?}");
    }

    // Bad passwords change nothing.
    for (password, confirm, field) in [
        ("short", "short", "password"),
        ("password123456", "password123456", "password"),
        (NEW_PASSWORD, "something else entirely", "confirm"),
        (&"x".repeat(129), &"x".repeat(129), "password"),
    ] {
        let (status, error) = accept(&acme, &token, password, confirm).await.unwrap_err();
        assert_eq!(status, 422);
        assert!(!error.field_messages(field).is_empty(), "{field}: {error:?}");
    }
    assert_eq!(
        status_of(&app, "nina@acme.test", "acme").await.as_deref(),
        Some("pending")
    );
    let (status, _) = accept(&app.browser("globex"), &token, NEW_PASSWORD, NEW_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(status, 422);

    accept(&acme, &token, NEW_PASSWORD, NEW_PASSWORD).await.unwrap();
    assert_eq!(
        status_of(&app, "nina@acme.test", "acme").await.as_deref(),
        Some("active")
    );
    let accepted = security_events::Entity::find()
        .filter(security_events::Column::EventType.eq("invite_accepted"))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(accepted, 1);
    let (status, _) = accept(&acme, &token, "another fine password 8", "another fine password 8")
        .await
        .unwrap_err();
    assert_eq!(status, 422, "a used link does nothing");

    let viewer: Viewer = acme.sign_in("nina", NEW_PASSWORD).await.unwrap();
    assert_eq!(viewer.display_name, "Nina New");
}

#[tokio::test]
async fn resend_and_access_links_void_older_links_and_links_expire() {
    let app = spawn_app().await;
    let mailbox = Mailbox::new();
    let support = token_for(&app, "support@demo-msp.test", "admin").await;
    let carol = app.user_id("carol@acme.test").await;

    let (status, body) = post(&app, &support, &format!("/users/{carol}/invite/resend"), None).await;
    assert_eq!(status, 202, "{body}");
    let first = link_token(&mailbox.deliver(&app).await.pop().unwrap());
    let (status, body) = post(&app, &support, &format!("/users/{carol}/access-link"), None).await;
    assert_eq!(status, 201, "{body}");
    let link: AccessLink = serde_json::from_value(body).unwrap();
    assert!(link.url.starts_with(&app.url("acme", "/accept-invite#token=")));
    let second = link.url.rsplit("#token=").next().unwrap().to_owned();
    assert_eq!(mailbox.deliver(&app).await.len(), 1, "an access link is not emailed");

    let acme = app.browser("acme");
    let (status, error) = acme
        .call::<GetInvite, InviteInfo>(&[("token", &first)])
        .await
        .unwrap_err();
    assert_eq!(status, 422, "the access link voided the emailed invite");
    assert!(error.message().contains("replaced by a newer one"), "{error:?}");
    acme.call::<GetInvite, InviteInfo>(&[("token", &second)]).await.unwrap();

    app.clock.advance(Duration::days(7) + Duration::minutes(1));
    let (status, error) = acme
        .call::<GetInvite, InviteInfo>(&[("token", &second)])
        .await
        .unwrap_err();
    assert_eq!(status, 422);
    assert!(error.message().contains("Ask your administrator to send a new one"));

    // A new access link, then a resend voids it in turn.
    let (_, body) = post(&app, &support, &format!("/users/{carol}/access-link"), None).await;
    let third = body["url"]
        .as_str()
        .unwrap()
        .rsplit("#token=")
        .next()
        .unwrap()
        .to_owned();
    post(&app, &support, &format!("/users/{carol}/invite/resend"), None).await;
    let fourth = link_token(&mailbox.deliver(&app).await.pop().unwrap());
    assert!(acme.call::<GetInvite, InviteInfo>(&[("token", &third)]).await.is_err());
    accept(&acme, &fourth, NEW_PASSWORD, NEW_PASSWORD).await.unwrap();
    acme.sign_in("carol@acme.test", NEW_PASSWORD).await.unwrap();

    // Active now: no invite to resend.
    let (status, body) = post(&app, &support, &format!("/users/{carol}/invite/resend"), None).await;
    assert_eq!(status, 409);
    assert!(body["error"]["message"].as_str().unwrap().contains("no pending invite"));
}

#[tokio::test]
async fn an_existing_person_is_invited_like_anyone_and_proves_the_account_is_theirs() {
    let app = spawn_app().await;
    let mailbox = Mailbox::new();
    let admin = token_for(&app, "admin@demo-msp.test", "admin").await;
    let acme_id = app.tenant_id("acme").await;

    let (status, body) = post(
        &app,
        &admin,
        "/users",
        Some(json!({ "email": "bob@acme.test", "displayName": "Bob", "tenantId": acme_id })),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(
        body["error"]["message"],
        "Email already used: bob@acme.test is already a member of Acme Corp."
    );
    mailbox.deliver(&app).await;

    // Bob has a password on acme. The operator org's invite answers exactly as for a new
    // address: pending, with a link, and nothing about him.
    let invite = |email: &'static str| {
        let (app, admin) = (&app, &admin);
        async move {
            let body = json!({ "email": email, "displayName": "Someone", "role": "support" });
            let (status, body) = post(app, admin, "/users", Some(body)).await;
            assert_eq!(status, 201, "{body}");
            body
        }
    };
    let bob_answer = invite("bob@acme.test").await;
    let new_answer = invite("newcomer@demo-msp.test").await;
    let shape = |body: &Value| {
        let mut keys: Vec<String> = body.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        (keys, body["status"].clone(), body["inviteExpiresAt"].clone())
    };
    assert_eq!(shape(&bob_answer), shape(&new_answer));
    assert_eq!(bob_answer["status"], "pending");
    assert!(bob_answer.get("existingUser").is_none());
    let console = app.browser("admin");
    assert!(
        console.sign_in("bob@acme.test", DEMO_PASSWORD).await.is_err(),
        "no access before he accepts"
    );
    let bob = users::Entity::find()
        .filter(users::Column::Email.eq("bob@acme.test"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        bob.display_name, "Bob Builder",
        "an invite does not rename an existing user"
    );

    // An access link (which the admin holds) is made, but worth nothing for an account that
    // exists, and it leaves the emailed invite working.
    let bob_id = bob.id.to_string();
    let admin_org = app.tenant_id("admin").await;
    let access_token = access_link_token(&app, &admin, &bob_id, admin_org).await;
    let (status, error) = console
        .call::<GetInvite, InviteInfo>(&[("token", &access_token)])
        .await
        .unwrap_err();
    assert_eq!(status, 422);
    assert!(error.message().contains("expired or was already used"));
    let (status, _) = accept(&console, &access_token, DEMO_PASSWORD, "").await.unwrap_err();
    assert_eq!(status, 422);

    // From his mailbox, Bob proves the account with its password.
    let mails = mailbox.deliver(&app).await;
    let mail = mails
        .iter()
        .find(|m| m.contains("To: bob@acme.test"))
        .expect("bob's invite");
    let token = link_token(mail);
    let info: InviteInfo = console.call::<GetInvite, _>(&[("token", &token)]).await.unwrap();
    assert!(info.has_password && !info.needs_code);
    let (status, error) = accept(&console, &token, "not my password at all", "")
        .await
        .unwrap_err();
    assert_eq!(status, 422);
    assert!(!error.field_messages("password").is_empty());
    assert_eq!(
        status_of(&app, "bob@acme.test", "admin").await.as_deref(),
        Some("pending")
    );
    accept(&console, &token, DEMO_PASSWORD, "").await.unwrap();
    assert_eq!(
        status_of(&app, "bob@acme.test", "admin").await.as_deref(),
        Some("active")
    );
    console.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap();
}

#[tokio::test]
async fn invite_input_is_checked_and_nothing_is_half_written() {
    let app = spawn_app().await;
    let admin = token_for(&app, "admin@demo-msp.test", "admin").await;
    let acme_id = app.tenant_id("acme").await;
    let users_before = app.count(users::Entity).await;
    let memberships_before = app.count(memberships::Entity).await;
    let long_email = format!("{}@acme.test", "a".repeat(250));
    let long_name = "n".repeat(101);
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({ "email": "not-an-email", "displayName": "X", "tenantId": acme_id }),
            422,
            "email",
        ),
        (
            json!({ "email": long_email, "displayName": "X", "tenantId": acme_id }),
            422,
            "email",
        ),
        (
            json!({ "email": "x@acme.test", "displayName": "  ", "tenantId": acme_id }),
            422,
            "displayName",
        ),
        (
            json!({ "email": "x@acme.test", "displayName": long_name, "tenantId": acme_id }),
            422,
            "displayName",
        ),
        (
            json!({ "email": "x@acme.test", "displayName": "X", "username": "a b", "tenantId": acme_id }),
            422,
            "username",
        ),
        (
            json!({ "email": "x@acme.test", "displayName": "X", "username": "bob", "tenantId": acme_id }),
            422,
            "username",
        ),
        (
            json!({ "email": "x@acme.test", "displayName": "X", "role": "owner", "tenantId": acme_id }),
            422,
            "role",
        ),
        (
            json!({ "email": "x@acme.test", "displayName": "X", "role": "member" }),
            422,
            "role",
        ),
        (
            json!({ "email": "x@acme.test", "displayName": "X", "tenantId": uuid::Uuid::nil() }),
            404,
            "",
        ),
        (
            json!({ "email": "x@acme.test", "displayName": "X", "isAdmin": true }),
            400,
            "",
        ),
        (json!({ "displayName": "X" }), 400, ""),
    ];
    for (body, status, field) in cases {
        let (got, error) = post(&app, &admin, "/users", Some(body.clone())).await;
        assert_eq!(got, status, "{body} → {error}");
        assert!(error["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        if !field.is_empty() {
            assert!(error["error"]["fields"][field].is_array(), "{body} → {error}");
        }
    }
    for raw in ["{", "[]", "\"x\"", ""] {
        let (status, error) = raw_post(&app, &admin, "/users", raw).await;
        assert_eq!(status, 400, "{raw:?}");
        assert_eq!(error["error"]["code"], "bad_request");
    }
    assert_eq!(app.count(users::Entity).await, users_before);
    assert_eq!(app.count(memberships::Entity).await, memberships_before);
    assert_eq!(app.count(one_time_secrets::Entity).await, 0);

    // Malformed links on the accept page: a clear message, nothing changed.
    let acme = app.browser("acme");
    for token in ["", "nope", &"x".repeat(500), "../../etc/passwd"] {
        let (status, error) = accept(&acme, token, NEW_PASSWORD, NEW_PASSWORD).await.unwrap_err();
        assert_eq!(status, 422, "{token:?}");
        assert!(error.message().contains("expired or was already used"));
    }
}

#[tokio::test]
async fn who_may_invite_resend_and_revoke() {
    let app = spawn_app().await;
    let support = token_for(&app, "support@demo-msp.test", "admin").await;
    let readonly = token_for(&app, "readonly@demo-msp.test", "admin").await;
    let globex_admin = token_for(&app, "admin@globex.test", "globex").await;
    let owner = token_for(&app, "owner@acme.test", "acme").await;
    let acme_id = app.tenant_id("acme").await;
    let carol = app.user_id("carol@acme.test").await;
    let invite = json!({ "email": "x@acme.test", "displayName": "X", "tenantId": acme_id });

    let (status, _) = post(&app, &support, "/users", Some(invite.clone())).await;
    assert_eq!(status, 403, "support cannot invite");
    let (status, _) = post(&app, &globex_admin, "/users", Some(invite.clone())).await;
    assert_eq!(status, 404, "another tenant's admin sees nothing of acme");
    let (status, _) = post(&app, &readonly, &format!("/users/{carol}/access-link"), None).await;
    assert_eq!(status, 403);
    let (status, _) = post(
        &app,
        &globex_admin,
        &format!("/users/{carol}/access-link"),
        Some(json!({ "tenantId": acme_id })),
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = post(&app, &globex_admin, &format!("/users/{carol}/invite/resend"), None).await;
    assert_eq!(status, 404, "carol has no globex membership");

    let client = app.raw_client();
    let revoke = |token: &str| {
        client
            .delete(format!("http://{}/api/v1/users/{carol}/invite", app.addr))
            .bearer_auth(token.to_owned())
            .send()
    };
    assert_eq!(
        revoke(&support).await.unwrap().status(),
        403,
        "revoking needs users.manage"
    );
    let response = revoke(&owner).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(status_of(&app, "carol@acme.test", "acme").await, None);
    assert!(
        users::Entity::find_by_id(carol)
            .one(&app.state.db)
            .await
            .unwrap()
            .is_none(),
        "a user made by the invite, with no other workspace, goes with it"
    );
    let revoked = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq("user.invite_revoked"))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(revoked, 1);
    assert_eq!(revoke(&owner).await.unwrap().status(), 404);
}

#[tokio::test]
async fn invite_server_functions_answer_over_http() {
    let app = spawn_app().await;
    let mailbox = Mailbox::new();
    let admin = app.browser("admin");
    admin.sign_in("admin@demo-msp.test", DEMO_PASSWORD).await.unwrap();
    let acme_id = app.tenant_id("acme").await.to_string();

    let outcome: InviteOutcome = admin
        .call::<InviteUser, _>(&[
            ("email", "quinn@acme.test"),
            ("display_name", "Quinn Quest"),
            ("tenant_id", &acme_id),
        ])
        .await
        .unwrap();
    let user_id = outcome.user_id.to_string();
    let resent: InviteOutcome = admin
        .call::<ResendInvite, _>(&[("user_id", &user_id), ("tenant_id", &acme_id)])
        .await
        .unwrap();
    assert!(resent.invite_expires_at.is_some());
    assert_eq!(mailbox.deliver(&app).await.len(), 2);
    let link: AccessLink = admin
        .call::<GenerateAccessLink, _>(&[("user_id", &user_id), ("tenant_id", &acme_id)])
        .await
        .unwrap();
    assert!(link.url.contains("/accept-invite#token="));
    let _: () = admin
        .call::<RevokeInvite, _>(&[("user_id", &user_id), ("tenant_id", &acme_id)])
        .await
        .unwrap();

    // A signed-out browser and a plain member get nothing.
    let (status, _) = app
        .browser("admin")
        .call::<InviteUser, InviteOutcome>(&[("email", "z@acme.test"), ("display_name", "Z")])
        .await
        .unwrap_err();
    assert_eq!(status, 401);
    let bob = app.browser("acme");
    bob.sign_in("bob", DEMO_PASSWORD).await.unwrap();
    let (status, _) = bob
        .call::<InviteUser, InviteOutcome>(&[("email", "z@acme.test"), ("display_name", "Z")])
        .await
        .unwrap_err();
    assert_eq!(status, 403);
    let (status, _) = admin
        .call::<InviteUser, InviteOutcome>(&[("email", "z@acme.test"), ("display_name", "Z"), ("tenant_id", "nope")])
        .await
        .unwrap_err();
    assert_eq!(status, 400);
}

/// Someone invited by two workspaces before setting up either chooses a password from one
/// emailed link and proves it on the other; an access link works for neither.
#[tokio::test]
async fn a_person_invited_twice_chooses_a_password_once_and_proves_it_once() {
    let app = spawn_app().await;
    let mailbox = Mailbox::new();
    app.use_passwords("globex").await;
    let admin = token_for(&app, "admin@demo-msp.test", "admin").await;
    let globex = app.tenant_id("globex").await;
    // Carol is pending on acme (demo); globex invites her too.
    let (status, body) = post(
        &app,
        &admin,
        "/users",
        Some(json!({ "email": "carol@acme.test", "displayName": "Carol", "tenantId": globex })),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let carol = body["userId"].as_str().unwrap().to_owned();
    let access = access_link_token(&app, &admin, &carol, globex).await;
    let globex_browser = app.browser("globex");
    let (status, _) = accept(&globex_browser, &access, NEW_PASSWORD, NEW_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(
        status, 422,
        "an access link does not set up an account another workspace invited"
    );

    let mails = mailbox.deliver(&app).await;
    let globex_mail = mails
        .iter()
        .rev()
        .find(|m| m.contains("To: carol@acme.test") && m.contains("Globex"))
        .unwrap();
    let token = link_token(globex_mail);
    let info: InviteInfo = globex_browser.call::<GetInvite, _>(&[("token", &token)]).await.unwrap();
    assert!(!info.has_password && !info.sso);
    accept(&globex_browser, &token, NEW_PASSWORD, NEW_PASSWORD)
        .await
        .unwrap();
    assert_eq!(
        status_of(&app, "carol@acme.test", "globex").await.as_deref(),
        Some("active")
    );

    // acme's invite: resent to her mailbox, she proves the password she chose.
    let acme = app.tenant_id("acme").await;
    let (status, _) = post(
        &app,
        &admin,
        &format!("/users/{carol}/invite/resend"),
        Some(json!({ "tenantId": acme })),
    )
    .await;
    assert_eq!(status, 202);
    let mails = mailbox.deliver(&app).await;
    let acme_mail = mails
        .iter()
        .rev()
        .find(|m| m.contains("To: carol@acme.test") && m.contains("Acme"))
        .unwrap();
    let token = link_token(acme_mail);
    let acme_browser = app.browser("acme");
    let info: InviteInfo = acme_browser.call::<GetInvite, _>(&[("token", &token)]).await.unwrap();
    assert!(info.has_password);
    accept(&acme_browser, &token, NEW_PASSWORD, "").await.unwrap();
    assert_eq!(
        status_of(&app, "carol@acme.test", "acme").await.as_deref(),
        Some("active")
    );
    acme_browser.sign_in("carol@acme.test", NEW_PASSWORD).await.unwrap();
}
