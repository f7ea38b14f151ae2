//! The Edit User page's server functions over HTTP, and their REST twins: the access diagnosis,
//! sessions with Revoke, email change by confirmation, and Impersonate.

use crate::helpers::*;
use crate::mail::{Mailbox, link_token};
use app::api::*;
use app::server::Clock;
use app::server::entities::{one_time_secrets, security_events, users};
use app::types::{AccessFix, AccessLink, AccessProblemKind, HostInfo, PendingEmailChange, UserDetail};
use reqwest::Method;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::json;

async fn console(app: &TestApp, email: &str) -> Browser {
    let browser = app.browser("admin");
    browser.sign_in(email, DEMO_PASSWORD).await.unwrap();
    browser
}

async fn detail(admin: &Browser, user_id: &str) -> UserDetail {
    admin.call::<GetUser, _>(&[("user_id", user_id)]).await.unwrap()
}

fn problems(detail: &UserDetail) -> Vec<(AccessProblemKind, Option<AccessFix>)> {
    detail.access.iter().map(|p| (p.kind, p.fix)).collect()
}

#[tokio::test]
async fn access_diagnosis_names_every_reason_with_its_fix() {
    let app = spawn_app().await;
    let admin = console(&app, "admin@demo-msp.test").await;
    let cases = [
        ("dave@acme.test", AccessProblemKind::Locked, AccessFix::UnlockAccount),
        ("erin@acme.test", AccessProblemKind::Cooldown, AccessFix::ResetCooldown),
        ("frank@acme.test", AccessProblemKind::Disabled, AccessFix::EnableAccess),
        // The demo's pending invite has no live link.
        (
            "carol@acme.test",
            AccessProblemKind::InviteExpired,
            AccessFix::ResendInvite,
        ),
    ];
    for (email, kind, fix) in cases {
        let id = app.user_id(email).await.to_string();
        let found = problems(&detail(&admin, &id).await);
        assert!(found.contains(&(kind, Some(fix))), "{email}: {found:?}");
    }

    let bob = app.user_id("bob@acme.test").await.to_string();
    assert!(detail(&admin, &bob).await.access.is_empty(), "bob can sign in");

    // Five wrong passwords from a browser bob never used lock his identifier.
    let stranger = app.browser("acme");
    for _ in 0..5 {
        stranger.sign_in("bob@acme.test", "wrong password!!").await.unwrap_err();
    }
    let locked = detail(&admin, &bob).await;
    let problem = locked
        .access
        .iter()
        .find(|p| p.kind == AccessProblemKind::SignInLocked)
        .unwrap();
    assert_eq!(problem.fix, Some(AccessFix::UnlockAccount));
    assert!(problem.blocks_sign_in && problem.message.contains("locked until"));
    let acme = app.tenant_id("acme").await.to_string();
    admin
        .call::<UnlockAccount, ()>(&[("user_id", &bob), ("tenant_id", &acme)])
        .await
        .unwrap();
    assert!(
        detail(&admin, &bob).await.access.is_empty(),
        "the fix in place clears it"
    );

    // The right password on a workspace where bob has no access: told where he signs in.
    let wrong_host = app.browser("initech");
    wrong_host.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap_err();
    let told = detail(&admin, &bob).await;
    let problem = told
        .access
        .iter()
        .find(|p| p.kind == AccessProblemKind::WrongHost)
        .unwrap();
    assert_eq!(problem.fix, Some(AccessFix::CopySignInUrl));
    assert_eq!(problem.sign_in_url, app.url("acme", "").trim_end_matches('/'));
    assert!(problem.message.contains("initech"), "{}", problem.message);

    // Enforced MFA with no factor stops the next sign-in at enrolment.
    admin
        .call::<SetTenantMfa, app::types::TenantSummary>(&[("tenant_id", &acme), ("is_mfa_enforced", "true")])
        .await
        .unwrap();
    let enforced = detail(&admin, &bob).await;
    let problem = enforced
        .access
        .iter()
        .find(|p| p.kind == AccessProblemKind::MfaEnrollmentRequired)
        .unwrap();
    assert!(!problem.blocks_sign_in && problem.fix.is_none());
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_by_those_allowed() {
    let app = spawn_app().await;
    let bob_browser = app.browser("acme");
    bob_browser.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap();
    let bob = app.user_id("bob@acme.test").await.to_string();
    let admin = console(&app, "admin@demo-msp.test").await;
    let seen = detail(&admin, &bob).await;
    assert_eq!(seen.sessions.len(), 1);
    assert_eq!(seen.sessions[0].tenant_name, "Acme Corp");
    let session = seen.sessions[0].id.to_string();

    let readonly = console(&app, "readonly@demo-msp.test").await;
    let (status, _) = readonly
        .call::<RevokeUserSession, ()>(&[("user_id", &bob), ("session_id", &session)])
        .await
        .unwrap_err();
    assert_eq!(status, 403);
    // Another workspace's admin cannot even see it.
    let ivy_browser = app.browser("initech");
    ivy_browser.sign_in("ivy@initech.test", DEMO_PASSWORD).await.unwrap();
    let ivy = app.user_id("ivy@initech.test").await.to_string();
    let ivy_session = detail(&admin, &ivy).await.sessions[0].id.to_string();
    let owner = app.browser("acme");
    owner.sign_in("owner@acme.test", DEMO_PASSWORD).await.unwrap();
    let (status, _) = owner
        .call::<RevokeUserSession, ()>(&[("user_id", &ivy), ("session_id", &ivy_session)])
        .await
        .unwrap_err();
    assert_eq!(status, 404);
    let (status, _) = owner
        .call::<RevokeUserSession, ()>(&[("user_id", &bob), ("session_id", &ivy_session)])
        .await
        .unwrap_err();
    assert_eq!(status, 404, "a session of someone else");
    assert!(
        bob_browser.host_info().await.viewer.is_some(),
        "refusals change nothing"
    );

    let support = console(&app, "support@demo-msp.test").await;
    support
        .call::<RevokeUserSession, ()>(&[("user_id", &bob), ("session_id", &session)])
        .await
        .unwrap();
    assert!(bob_browser.host_info().await.viewer.is_none(), "bob is signed out");
    assert_eq!(audited(&app, "session.revoked").await, 1);
    let (status, _) = support
        .call::<RevokeUserSession, ()>(&[("user_id", &bob), ("session_id", &session)])
        .await
        .unwrap_err();
    assert_eq!(status, 404, "already gone");

    // The REST twin.
    bob_browser.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap();
    let again = detail(&admin, &bob).await.sessions[0].id;
    let token = api_token(&app, "admin@demo-msp.test", "admin").await;
    let answer = api_call(
        &app,
        Method::DELETE,
        &token,
        &format!("/users/{bob}/sessions/{again}"),
        None,
    )
    .await;
    assert_eq!(answer.status, 204);
    let answer = api_call(
        &app,
        Method::DELETE,
        &token,
        &format!("/users/{bob}/sessions/not-a-uuid"),
        None,
    )
    .await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.body["error"]["code"], "not_found");
}

async fn new_email_pending(app: &TestApp, user_id: &str) -> u64 {
    one_time_secrets::Entity::find()
        .filter(one_time_secrets::Column::UserId.eq(user_id.parse::<uuid::Uuid>().unwrap()))
        .filter(one_time_secrets::Column::Purpose.eq(one_time_secrets::SecretPurpose::EmailChange))
        .count(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_email_change_applies_only_when_the_new_address_confirms() {
    let app = spawn_app().await;
    let mailbox = Mailbox::new();
    mailbox.deliver(&app).await;
    let admin = console(&app, "admin@demo-msp.test").await;
    let bob = app.user_id("bob@acme.test").await.to_string();

    // Bad values, and callers who may not: nothing is written.
    for (email, status) in [("not an email", 422), ("BOB@acme.test", 422), ("owner@acme.test", 409)] {
        let (got, error) = admin
            .call::<RequestEmailChange, PendingEmailChange>(&[("user_id", &bob), ("email", email)])
            .await
            .unwrap_err();
        assert_eq!(got, status, "{email}: {}", error.message());
    }
    let support = console(&app, "support@demo-msp.test").await;
    let (status, _) = support
        .call::<RequestEmailChange, PendingEmailChange>(&[("user_id", &bob), ("email", "b@acme.test")])
        .await
        .unwrap_err();
    assert_eq!(status, 403);
    // Pat is in Acme and Globex: Acme's admin does not manage all of pat's workspaces.
    let owner = app.browser("acme");
    owner.sign_in("owner@acme.test", DEMO_PASSWORD).await.unwrap();
    let pat = app.user_id("pat@partner.test").await.to_string();
    let (status, error) = owner
        .call::<RequestEmailChange, PendingEmailChange>(&[("user_id", &pat), ("email", "p@partner.test")])
        .await
        .unwrap_err();
    assert_eq!(status, 403);
    assert!(!error.message().contains("Globex"), "{}", error.message());
    let (status, _) = admin
        .call::<ResendEmailChange, PendingEmailChange>(&[("user_id", &bob)])
        .await
        .unwrap_err();
    assert_eq!(status, 409, "nothing to resend");
    assert_eq!(new_email_pending(&app, &bob).await, 0);

    let pending: PendingEmailChange = admin
        .call::<RequestEmailChange, _>(&[("user_id", &bob), ("email", " Bob.New@Acme.test ")])
        .await
        .unwrap();
    assert_eq!(pending.new_email, "bob.new@acme.test");
    assert_eq!(detail(&admin, &bob).await.pending_email, Some(pending.clone()));
    assert_eq!(detail(&admin, &bob).await.email, "bob@acme.test", "not yet");
    let first = link_token(mailbox.deliver(&app).await.last().unwrap());
    let resent: PendingEmailChange = admin.call::<ResendEmailChange, _>(&[("user_id", &bob)]).await.unwrap();
    assert_eq!(resent.new_email, "bob.new@acme.test");
    let mail = mailbox.deliver(&app).await.pop().unwrap();
    assert!(mail.contains("To: bob.new@acme.test"), "{mail}");
    assert!(crate::mail::unfold(&mail).contains(&app.url("acme", "/confirm-email#token=")));
    let second = link_token(&mail);

    let tenant_host = app.browser("acme");
    let (status, _) = tenant_host
        .call::<ConfirmEmailChange, String>(&[("token", &first)])
        .await
        .unwrap_err();
    assert_eq!(status, 422, "the resend voided the first link");
    let (status, _) = app
        .browser("globex")
        .call::<ConfirmEmailChange, String>(&[("token", &second)])
        .await
        .unwrap_err();
    assert_eq!(status, 422, "only on its own host");
    let confirmed: String = tenant_host
        .call::<ConfirmEmailChange, _>(&[("token", &second)])
        .await
        .unwrap();
    assert_eq!(confirmed, "bob.new@acme.test");
    let (status, _) = tenant_host
        .call::<ConfirmEmailChange, String>(&[("token", &second)])
        .await
        .unwrap_err();
    assert_eq!(status, 422, "once");

    let notice = mailbox.deliver(&app).await.pop().unwrap();
    assert!(
        notice.contains("To: bob@acme.test") && notice.contains("changed"),
        "{notice}"
    );
    app.browser("acme")
        .sign_in("bob.new@acme.test", DEMO_PASSWORD)
        .await
        .unwrap();
    let changed = users::Entity::find()
        .filter(users::Column::Email.eq("bob@acme.test"))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(changed, 0);
    // The users list shows (and sorts by) the new address: its sort key followed the change.
    let listed: app::types::UserPage = admin.call::<ListUsers, _>(&[("query[q]", "bob")]).await.unwrap();
    let emails: Vec<&str> = listed.users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails, ["bob.new@acme.test"], "{emails:?}");
    assert_eq!(audited(&app, "user.email_change_requested").await, 1);
    assert_eq!(audited(&app, "user.email_change_resent").await, 1);
    let events = security_events::Entity::find()
        .filter(security_events::Column::EventType.eq("email_changed"))
        .count(&app.state.db)
        .await
        .unwrap();
    assert_eq!(events, 1);

    // The REST twin, with a body it cannot read.
    let token = api_token(&app, "admin@demo-msp.test", "admin").await;
    let path = format!("/users/{bob}/email");
    let answer = api_call(&app, Method::POST, &token, &path, Some(json!({ "mail": "x@y.test" }))).await;
    assert_eq!(answer.status, 400);
    let answer = api_call(
        &app,
        Method::POST,
        &token,
        &path,
        Some(json!({ "email": "bobby@acme.test" })),
    )
    .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    assert_eq!(answer.body["newEmail"], "bobby@acme.test");
    let answer = api_call(&app, Method::POST, &token, &format!("{path}/resend"), None).await;
    assert_eq!(answer.status, 202);
}

async fn start(admin: &Browser, user_id: &str, tenant_id: &str) -> Result<AccessLink, (u16, app::AppError)> {
    admin
        .call::<ImpersonateUser, AccessLink>(&[("user_id", user_id), ("tenant_id", tenant_id)])
        .await
}

#[tokio::test]
async fn impersonation_is_gated_audited_time_limited_and_ends_in_one_click() {
    let app = spawn_app().await;
    let acme = app.tenant_id("acme").await.to_string();
    let bob = app.user_id("bob@acme.test").await.to_string();
    for email in ["support@demo-msp.test", "readonly@demo-msp.test"] {
        let (status, _) = start(&console(&app, email).await, &bob, &acme).await.unwrap_err();
        assert_eq!(status, 403, "{email}");
    }
    let owner = app.browser("acme");
    owner.sign_in("owner@acme.test", DEMO_PASSWORD).await.unwrap();
    let (status, _) = start(&owner, &bob, &acme).await.unwrap_err();
    assert_eq!(status, 403, "tenant admins do not impersonate");

    let admin = console(&app, "admin@demo-msp.test").await;
    let dave = app.user_id("dave@acme.test").await.to_string();
    let (status, error) = start(&admin, &dave, &acme).await.unwrap_err();
    assert_eq!(status, 409);
    assert!(error.message().contains("Locked"), "{}", error.message());
    let operator = app.tenant_id("admin").await.to_string();
    let support = app.user_id("support@demo-msp.test").await.to_string();
    let (status, _) = start(&admin, &support, &operator).await.unwrap_err();
    assert_eq!(status, 409, "only tenant users");
    assert_eq!(audited(&app, "user.impersonation_started").await, 0);

    let link = start(&admin, &bob, &acme).await.unwrap();
    assert!(link.url.starts_with(&app.url("acme", "/impersonate#token=")));
    let token = link.url.rsplit("#token=").next().unwrap().to_owned();
    let (status, _) = app
        .browser("globex")
        .call::<BeginImpersonation, ()>(&[("token", &token)])
        .await
        .unwrap_err();
    assert_eq!(status, 422, "only on the user's host");

    let tab = app.browser("acme");
    tab.call::<BeginImpersonation, ()>(&[("token", &token)]).await.unwrap();
    let info: HostInfo = tab.host_info().await;
    let viewer = info.viewer.unwrap();
    assert_eq!(viewer.email, "bob@acme.test");
    assert!(viewer.mfa_step.is_none());
    let banner = viewer.impersonation.unwrap();
    assert_eq!(banner.admin_email, "admin@demo-msp.test");
    assert_eq!(banner.console_url, app.url("admin", ""));
    let (status, _) = app
        .browser("acme")
        .call::<BeginImpersonation, ()>(&[("token", &token)])
        .await
        .unwrap_err();
    assert_eq!(status, 422, "the link works once");

    // Not in the user's name: ending the user's other sessions.
    let my = tab.call::<GetMyAccount, app::types::MyAccount>(&[]).await.unwrap();
    let own = my.sessions[0].id.to_string();
    let (status, _) = tab
        .call::<RevokeMySession, ()>(&[("session_id", &own)])
        .await
        .unwrap_err();
    assert_eq!(status, 403);
    // The admin sees whose session it is.
    let seen = detail(&admin, &bob).await;
    assert_eq!(seen.sessions[0].impersonated_by.as_deref(), Some("admin@demo-msp.test"));

    let back: String = tab.call::<EndImpersonation, _>(&[]).await.unwrap();
    assert_eq!(back, app.url("admin", ""));
    assert!(tab.host_info().await.viewer.is_none());
    assert_eq!(audited(&app, "user.impersonation_started").await, 1);
    assert_eq!(audited(&app, "user.impersonation_ended").await, 1);

    // It ends by itself after 30 minutes, however busy.
    let link = start(&admin, &bob, &acme).await.unwrap();
    let token = link.url.rsplit("#token=").next().unwrap().to_owned();
    let tab = app.browser("acme");
    tab.call::<BeginImpersonation, ()>(&[("token", &token)]).await.unwrap();
    for _ in 0..2 {
        app.clock.advance(chrono::Duration::minutes(10));
        assert!(tab.host_info().await.viewer.is_some(), "busy, so not idle");
    }
    app.clock
        .advance(chrono::Duration::minutes(10) + chrono::Duration::seconds(1));
    assert!(tab.host_info().await.viewer.is_none(), "the limit ends it");
}

#[tokio::test]
async fn tenant_settings_set_policies_that_take_effect_and_refuse_bad_values() {
    use app::types::{TemporaryPassword, TenantSummary};
    let app = spawn_app().await;
    let admin = console(&app, "admin@demo-msp.test").await;
    let acme = app.tenant_id("acme").await.to_string();
    let update = |mode: &'static str, days: &'static str, hours: &'static str| {
        vec![
            ("tenant_id", acme.clone()),
            ("sign_in_mode", mode.to_owned()),
            ("is_mfa_enforced", "false".to_owned()),
            ("invite_link_days", days.to_owned()),
            ("temporary_password_hours", hours.to_owned()),
        ]
    };
    let form = |pairs: &Vec<(&'static str, String)>| pairs.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    for (pairs, status) in [
        (update("password", "0", "24"), 422),
        (update("password", "31", "24"), 422),
        (update("password", "7", "73"), 422),
        (update("sso", "7", "24"), 409),
        (update("carrier-pigeon", "7", "24"), 400),
    ] {
        let owned = form(&pairs);
        let borrowed: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (got, error) = admin
            .call::<UpdateTenantSettings, TenantSummary>(&borrowed)
            .await
            .unwrap_err();
        assert_eq!(got, status, "{borrowed:?}: {}", error.message());
    }
    let support = console(&app, "support@demo-msp.test").await;
    let owned = form(&update("password", "3", "2"));
    let good: Vec<(&str, &str)> = owned.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, _) = support
        .call::<UpdateTenantSettings, TenantSummary>(&good)
        .await
        .unwrap_err();
    assert_eq!(status, 403);
    assert_eq!(
        audited(&app, "tenant.settings_changed").await,
        0,
        "nothing half-written"
    );

    let saved: TenantSummary = admin.call::<UpdateTenantSettings, _>(&good).await.unwrap();
    assert_eq!(saved.policy.invite_link_days, Some(3));
    assert_eq!(saved.policy.temporary_password_hours, Some(2));
    let again: TenantSummary = admin.call::<GetTenant, _>(&[("tenant_id", &acme)]).await.unwrap();
    assert_eq!(again, saved);
    assert_eq!(audited(&app, "tenant.settings_changed").await, 1);

    // The policies apply to what is issued from now on.
    let carol = app.user_id("carol@acme.test").await.to_string();
    let link: AccessLink = admin
        .call::<GenerateAccessLink, _>(&[("user_id", &carol), ("tenant_id", &acme)])
        .await
        .unwrap();
    assert_eq!((link.expires_at - app.clock.now()).num_days(), 3);
    let bob = app.user_id("bob@acme.test").await.to_string();
    let password: TemporaryPassword = admin
        .call::<GenerateTemporaryPassword, _>(&[("user_id", &bob), ("tenant_id", &acme)])
        .await
        .unwrap();
    assert_eq!((password.expires_at - app.clock.now()).num_hours(), 2);

    // Another workspace's admin cannot see Acme; the operator's own console keeps passwords.
    let owner = app.browser("initech");
    owner.sign_in("ivy@initech.test", DEMO_PASSWORD).await.unwrap();
    let (status, _) = owner
        .call::<GetTenant, TenantSummary>(&[("tenant_id", &acme)])
        .await
        .unwrap_err();
    assert!(status == 403 || status == 404, "{status}");
    let operator = app.tenant_id("admin").await.to_string();
    let (status, _) = admin
        .call::<UpdateTenantSettings, TenantSummary>(&[
            ("tenant_id", &operator),
            ("sign_in_mode", "sso"),
            ("is_mfa_enforced", "false"),
        ])
        .await
        .unwrap_err();
    assert_eq!(status, 422);

    // The REST twin.
    let token = api_token(&app, "admin@demo-msp.test", "admin").await;
    let path = format!("/tenants/{acme}/settings");
    let answer = api_call(
        &app,
        Method::PUT,
        &token,
        &path,
        Some(json!({ "signInMode": "password", "isMfaEnforced": true, "colour": "red" })),
    )
    .await;
    assert_eq!(answer.status, 400);
    // Found by schemathesis: serde also reads a struct from an array of its fields.
    let answer = api_call(
        &app,
        Method::PUT,
        &token,
        &path,
        Some(json!({ "signInMode": "password", "isMfaEnforced": true, "policy": [null, null] })),
    )
    .await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    let answer = api_call(&app, Method::PUT, &token, &path, Some(json!(["password", true]))).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    let body = json!({ "signInMode": "password", "isMfaEnforced": true, "policy": { "inviteLinkDays": 14 } });
    let answer = api_call(&app, Method::PUT, &token, &path, Some(body)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["policy"]["inviteLinkDays"], 14);
    assert_eq!(answer.body["isMfaEnforced"], true);
}

#[tokio::test]
async fn the_console_downloads_csv_with_its_session_and_nothing_else_does() {
    let app = spawn_app().await;
    let admin = console(&app, "admin@demo-msp.test").await;
    let get = |browser: &Browser, path: &str| {
        let request = browser.client.get(format!("{}/api/v1{path}", browser.origin));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        }
    };
    let (status, csv) = get(&admin, "/users.csv?q=acme.test&status=locked").await;
    assert_eq!(status, 200, "{csv}");
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.lines().nth(1).unwrap().starts_with("dave@acme.test,"), "{csv}");
    let (status, _) = get(&admin, "/events.csv").await;
    assert_eq!(status, 200);
    // Only .csv lists, only GET: the rest of the API still wants a token.
    let (status, _) = get(&admin, "/users").await;
    assert_eq!(status, 401);
    let response = admin
        .client
        .post(format!("{}/api/v1/users.csv", admin.origin))
        .send()
        .await
        .unwrap();
    assert!(matches!(response.status().as_u16(), 401 | 405), "{}", response.status());
    // A member's session reads nothing; no session, nothing at all.
    let member = app.browser("acme");
    member.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap();
    let (status, _) = get(&member, "/users.csv").await;
    assert_eq!(status, 403);
    let (status, _) = get(&app.browser("admin"), "/users.csv").await;
    assert_eq!(status, 401);
}

async fn create_role(
    browser: &Browser,
    tenant_id: &str,
    name: &str,
    permissions: &[&str],
) -> Result<app::types::RoleSummary, (u16, app::AppError)> {
    let mut form = vec![
        ("tenant_id".to_owned(), tenant_id.to_owned()),
        ("name".to_owned(), name.to_owned()),
    ];
    for (i, p) in permissions.iter().enumerate() {
        form.push((format!("permissions[{i}]"), (*p).to_owned()));
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    browser.call::<CreateRole, _>(&pairs).await
}

#[tokio::test]
async fn custom_roles_grant_what_they_say_and_never_more_than_their_creator_holds() {
    use app::types::RoleSummary;
    let app = spawn_app().await;
    let admin = console(&app, "admin@demo-msp.test").await;
    let acme = app.tenant_id("acme").await.to_string();
    for (name, permissions, status) in [
        ("", &["users.read"][..], 422),
        ("Helpdesk", &["users.fly"][..], 422),
        ("support", &["users.read"][..], 409),
    ] {
        let (got, error) = create_role(&admin, &acme, name, permissions).await.unwrap_err();
        assert_eq!(got, status, "{name}: {}", error.message());
    }
    let support = console(&app, "support@demo-msp.test").await;
    let (status, _) = create_role(&support, &acme, "Helpdesk", &["users.read"])
        .await
        .unwrap_err();
    assert_eq!(status, 403, "support holds no roles.manage");
    assert_eq!(audited(&app, "role.created").await, 0);

    let helpdesk = create_role(
        &admin,
        &acme,
        "Helpdesk",
        &["users.read", "users.support", "users.read"],
    )
    .await
    .unwrap();
    assert_eq!(helpdesk.permissions, ["users.read", "users.support"]);
    assert_eq!(helpdesk.workspace.as_deref(), Some("Acme Corp"));
    let (status, _) = create_role(&admin, &acme, "helpdesk", &[]).await.unwrap_err();
    assert_eq!(status, 409, "names are unique in the workspace");
    let listed: Vec<RoleSummary> = admin.call::<ListRoles, _>(&[("tenant_id", &acme)]).await.unwrap();
    assert!(listed.iter().any(|r| r.id == helpdesk.id && !r.builtin));
    let initech = app.tenant_id("initech").await.to_string();
    let elsewhere: Vec<RoleSummary> = admin.call::<ListRoles, _>(&[("tenant_id", &initech)]).await.unwrap();
    assert!(
        elsewhere.iter().all(|r| r.id != helpdesk.id),
        "a custom role stays in its workspace"
    );

    // Bob gets it: he may unlock, not invite.
    let bob = app.user_id("bob@acme.test").await.to_string();
    let role = helpdesk.id.to_string();
    admin
        .call::<ChangeRole, ()>(&[("user_id", &bob), ("tenant_id", &acme), ("role_id", &role)])
        .await
        .unwrap();
    let bob_browser = app.browser("acme");
    bob_browser.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap();
    let dave = app.user_id("dave@acme.test").await.to_string();
    bob_browser
        .call::<UnlockAccount, ()>(&[("user_id", &dave), ("tenant_id", &acme)])
        .await
        .unwrap();
    let (status, _) = bob_browser
        .call::<InviteUser, app::types::InviteOutcome>(&[("email", "new@acme.test"), ("display_name", "New")])
        .await
        .unwrap_err();
    assert_eq!(status, 403);

    // A role manager cannot hand out what they do not hold.
    let managers = create_role(&admin, &acme, "Role managers", &["roles.manage", "users.read"])
        .await
        .unwrap();
    let role = managers.id.to_string();
    admin
        .call::<ChangeRole, ()>(&[("user_id", &bob), ("tenant_id", &acme), ("role_id", &role)])
        .await
        .unwrap();
    let bob_browser = app.browser("acme");
    bob_browser.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap();
    let (status, error) = create_role(&bob_browser, &acme, "Power", &["users.manage"])
        .await
        .unwrap_err();
    assert_eq!(status, 403, "{}", error.message());
    create_role(&bob_browser, &acme, "Readers", &["users.read"])
        .await
        .unwrap();

    // The REST twin.
    let token = api_token(&app, "admin@demo-msp.test", "admin").await;
    let answer = api_call(
        &app,
        Method::POST,
        &token,
        "/roles",
        Some(json!({ "tenantId": acme, "name": "Auditors", "permissions": ["audit.read"] })),
    )
    .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let answer = api_call(
        &app,
        Method::POST,
        &token,
        "/roles",
        Some(json!({ "name": "X", "permissions": [] })),
    )
    .await;
    assert_eq!(answer.status, 422);
}
