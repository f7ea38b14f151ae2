//! Single sign-on through a real OpenID provider (`oidc-provider`, started by `idp::idp()`):
//! success, the invited-then-SSO account, unknown emails, tampered ID tokens, provider errors,
//! replays, MFA after SSO, and the settings that set it up.

use crate::helpers::{Browser, DEMO_PASSWORD, TestApp, api_call, api_token, audited, spawn_app, spawn_app_with};
use crate::idp::{IdpClient, idp};
use app::api::{GetTenantSso, TestTenantSso, UpdateTenantSettings, UpdateTenantSso};
use app::server::entities::{memberships, security_events, tenants, users};
use app::server::services::sso::Providers;
use app::types::{MfaStep, SsoConfig, SsoConnectionReport, TenantSummary};
use reqwest::Method;
use reqwest::header::{LOCATION, SET_COOKIE};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde_json::json;
use std::sync::Arc;

struct Policy {
    jit: bool,
    requires_mfa: bool,
    domains: &'static str,
}

const DEFAULT_POLICY: Policy = Policy {
    jit: false,
    requires_mfa: true,
    domains: "",
};

async fn operator_admin(app: &TestApp) -> Browser {
    let admin = app.browser("admin");
    admin
        .sign_in("admin@demo-msp.test", DEMO_PASSWORD)
        .await
        .expect("admin signs in");
    admin
}

/// Registers `slug` at the provider, saves it in Tenant › Settings › Single sign-on through the
/// console's server functions, and turns SSO on.
async fn use_sso(app: &TestApp, slug: &str, policy: Policy) -> IdpClient {
    let client = idp().register(&app.url(slug, "/sso/callback")).await;
    save_sso(app, slug, (&idp().issuer, &client), policy).await;
    client
}

/// Saves a provider's settings for `slug` and turns SSO on.
async fn save_sso(app: &TestApp, slug: &str, (issuer, client): (&str, &IdpClient), policy: Policy) {
    let admin = operator_admin(app).await;
    let tenant_id = app.tenant_id(slug).await.to_string();
    let mut form = vec![
        ("tenant_id", tenant_id.as_str()),
        ("issuer", issuer),
        ("client_id", client.client_id.as_str()),
        ("client_secret", client.client_secret.as_str()),
        ("allowed_domains", policy.domains),
    ];
    if policy.jit {
        form.push(("jit_provisioning", "on"));
    }
    if policy.requires_mfa {
        form.push(("requires_mfa", "on"));
    }
    let saved: SsoConfig = admin.call::<UpdateTenantSso, _>(&form).await.expect("save SSO");
    assert!(saved.has_client_secret);
    let mode = [
        ("tenant_id", tenant_id.as_str()),
        ("sign_in_mode", "sso"),
        ("is_mfa_enforced", "false"),
    ];
    let summary: TenantSummary = admin.call::<UpdateTenantSettings, _>(&mode).await.expect("SSO on");
    assert!(summary.sso_configured);
}

/// How the flow ended: the callback URL the provider sent the browser to (if it got that far)
/// and where Latchkey then sent it.
struct Outcome {
    callback: Option<String>,
    location: String,
}

/// Clicks "Continue with SSO" and follows every redirect; at the provider's page types `email`
/// and signs in, or presses Cancel when `email` is `None`.
async fn sso_flow(browser: &Browser, email: Option<&str>) -> Outcome {
    let mut url = format!("{}/sso/start", browser.origin);
    let mut form: Option<Vec<(&str, &str)>> = None;
    let mut callback = None;
    for _ in 0..15 {
        let request = match form.take() {
            Some(fields) => browser.client.post(&url).form(&fields),
            None => browser.client.get(&url),
        };
        let response = request.send().await.expect("request");
        let status = response.status();
        if status.is_redirection() {
            let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
            if url.starts_with(&browser.origin) && location.starts_with('/') {
                return Outcome { callback, location };
            }
            url = reqwest::Url::parse(&url).unwrap().join(&location).unwrap().to_string();
            if url.starts_with(&browser.origin) {
                callback = Some(url.clone());
            }
            continue;
        }
        let body = response.text().await.unwrap();
        assert!(
            status.as_u16() == 200 && url.contains("/interaction/"),
            "unexpected {status} at {url}: {body}"
        );
        let page = reqwest::Url::parse(&url).unwrap();
        url = match email {
            Some(email) => {
                form = Some(vec![("email", email)]);
                format!("{}{}/login", idp().issuer, page.path())
            }
            None => {
                form = Some(Vec::new());
                format!("{}{}/abort", idp().issuer, page.path())
            }
        };
    }
    panic!("the sign-in did not come back from the provider");
}

async fn newest_event(app: &TestApp, event_type: &str) -> security_events::Model {
    security_events::Entity::find()
        .filter(security_events::Column::EventType.eq(event_type))
        .order_by_desc(security_events::Column::Id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no {event_type} event"))
}

async fn user(app: &TestApp, email: &str) -> Option<users::Model> {
    users::Entity::find()
        .filter(users::Column::Email.eq(email))
        .one(&app.state.db)
        .await
        .unwrap()
}

async fn membership_status(app: &TestApp, email: &str, slug: &str) -> String {
    let user_id = app.user_id(email).await;
    let tenant_id = app.tenant_id(slug).await;
    memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .filter(memberships::Column::TenantId.eq(tenant_id))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .status
}

#[tokio::test]
async fn a_member_invited_with_a_password_signs_in_through_sso_and_the_password_is_cleared() {
    let app = spawn_app().await;
    use_sso(&app, "acme", DEFAULT_POLICY).await;
    assert!(user(&app, "bob@acme.test").await.unwrap().password_hash.is_some());

    let browser = app.browser("acme");
    let outcome = sso_flow(&browser, Some("bob@acme.test")).await;
    assert_eq!(outcome.location, "/");
    let viewer = browser.host_info().await.viewer.expect("signed in");
    assert_eq!(viewer.email, "bob@acme.test");
    assert_eq!(viewer.mfa_step, None, "bob has no factor and acme does not enforce MFA");

    // No "Password_Expired" dead end: the old password is gone, and that is audited.
    assert!(user(&app, "bob@acme.test").await.unwrap().password_hash.is_none());
    assert_eq!(audited(&app, "user.password_cleared_for_sso").await, 1);
    let event = newest_event(&app, "sso_sign_in").await;
    let detail = event.detail.unwrap();
    assert_eq!(detail["password_cleared"], true);
    assert_eq!(detail["issuer"], idp().issuer);
    assert_eq!(event.user_id, Some(app.user_id("bob@acme.test").await));

    // The password paths stay closed, with the reason.
    let (status, error) = app
        .browser("acme")
        .sign_in("bob@acme.test", DEMO_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!(status, 401, "{error:?}");
    let (status, error) = app
        .browser("acme")
        .call::<app::api::RequestPasswordReset, serde_json::Value>(&[("identifier", "bob@acme.test")])
        .await
        .unwrap_err();
    assert_eq!(status, 403);
    assert!(error.message().contains("SSO"), "{}", error.message());

    // The callback cannot be replayed: the flow cookie was single-use.
    let replay = browser.client.get(outcome.callback.unwrap()).send().await.unwrap();
    let location = replay.headers()[LOCATION].to_str().unwrap();
    assert!(location.starts_with("/sign-in?sso_error=flow_expired"), "{location}");
}

#[tokio::test]
async fn a_password_another_workspace_needs_is_kept_and_a_pending_invite_is_accepted() {
    let app = spawn_app().await;
    use_sso(&app, "globex", DEFAULT_POLICY).await;
    // pat is in acme (passwords) and globex (SSO): the password must survive.
    let outcome = sso_flow(&app.browser("globex"), Some("pat@partner.test")).await;
    assert_eq!(outcome.location, "/");
    assert!(user(&app, "pat@partner.test").await.unwrap().password_hash.is_some());
    assert_eq!(audited(&app, "user.password_cleared_for_sso").await, 0);
    app.browser("acme")
        .sign_in("pat@partner.test", DEMO_PASSWORD)
        .await
        .expect("pat still signs in to acme with the password");

    // carol was invited to acme and never set up: her first SSO sign-in accepts the invite.
    use_sso(&app, "acme", DEFAULT_POLICY).await;
    assert_eq!(membership_status(&app, "carol@acme.test", "acme").await, "pending");
    let outcome = sso_flow(&app.browser("acme"), Some("carol@acme.test")).await;
    assert_eq!(outcome.location, "/");
    assert_eq!(membership_status(&app, "carol@acme.test", "acme").await, "active");
    assert_eq!(
        newest_event(&app, "sso_sign_in").await.detail.unwrap()["invite_accepted"],
        true
    );
}

#[tokio::test]
async fn an_unknown_email_is_refused_with_an_event_unless_the_workspace_provisions_accounts() {
    let app = spawn_app().await;
    use_sso(&app, "acme", DEFAULT_POLICY).await;
    let users_before = app.count(users::Entity).await;
    let browser = app.browser("acme");
    let outcome = sso_flow(&browser, Some("zed@acme.test")).await;
    assert!(
        outcome.location.starts_with("/sign-in?sso_error=unknown_account&ref="),
        "{}",
        outcome.location
    );
    assert!(browser.host_info().await.viewer.is_none());
    assert_eq!(app.count(users::Entity).await, users_before, "no silent sign-up");
    let event = newest_event(&app, "sso_failure").await;
    assert_eq!(event.detail.as_ref().unwrap()["reason"], "unknown_account");
    assert_eq!(event.detail.unwrap()["email"], "zed@acme.test");
    assert!(
        outcome.location.ends_with(&event.reference),
        "the page quotes the event's reference"
    );

    // With just-in-time provisioning (and allowed domains), the same person gets a Member account.
    let policy = Policy {
        jit: true,
        requires_mfa: true,
        domains: "acme.test\nacme-corp.test",
    };
    use_sso(&app, "acme", policy).await;
    let browser = app.browser("acme");
    assert_eq!(sso_flow(&browser, Some("zed@acme.test")).await.location, "/");
    let viewer = browser.host_info().await.viewer.expect("signed in");
    assert_eq!(
        (viewer.email.as_str(), viewer.role_name.as_str()),
        ("zed@acme.test", "Member")
    );
    assert_eq!(audited(&app, "user.provisioned_by_sso").await, 1);
    assert!(user(&app, "zed@acme.test").await.unwrap().password_hash.is_none());

    // Outside the allowed domains, nobody is provisioned.
    let outcome = sso_flow(&app.browser("acme"), Some("mallory@evil.test")).await;
    assert!(
        outcome.location.starts_with("/sign-in?sso_error=domain_not_allowed"),
        "{}",
        outcome.location
    );
    assert!(user(&app, "mallory@evil.test").await.is_none());
    // Nor is an address the provider has not verified.
    let outcome = sso_flow(&app.browser("acme"), Some("unverified@acme.test")).await;
    assert!(
        outcome.location.starts_with("/sign-in?sso_error=email_unverified"),
        "{}",
        outcome.location
    );
    assert!(user(&app, "unverified@acme.test").await.is_none());
}

#[tokio::test]
async fn tampered_id_tokens_are_refused() {
    let app = spawn_app().await;
    let client = use_sso(&app, "acme", DEFAULT_POLICY).await;
    for (mode, words) in [
        ("wrong_audience", "audience"),
        ("expired", "xpired"),
        ("bad_signature", "ignature"),
    ] {
        idp().set_mode(&client, mode).await;
        let browser = app.browser("acme");
        let outcome = sso_flow(&browser, Some("bob@acme.test")).await;
        assert!(
            outcome.location.starts_with("/sign-in?sso_error=invalid_token"),
            "{mode}: {}",
            outcome.location
        );
        assert!(browser.host_info().await.viewer.is_none(), "{mode}: no session");
        let detail = newest_event(&app, "sso_failure").await.detail.unwrap();
        let error = detail["error"].as_str().unwrap();
        assert!(error.contains(words), "{mode}: {error}");
    }
    idp().set_mode(&client, "normal").await;
    assert_eq!(
        sso_flow(&app.browser("acme"), Some("bob@acme.test")).await.location,
        "/"
    );
}

#[tokio::test]
async fn provider_errors_forged_states_and_closed_accounts_are_refused() {
    let app = spawn_app().await;
    use_sso(&app, "acme", DEFAULT_POLICY).await;

    // The person presses Cancel at the provider: its error is in the event.
    let outcome = sso_flow(&app.browser("acme"), None).await;
    assert!(
        outcome.location.starts_with("/sign-in?sso_error=provider_error"),
        "{}",
        outcome.location
    );
    let detail = newest_event(&app, "sso_failure").await.detail.unwrap();
    assert_eq!(detail["provider_error"], "access_denied");

    // A callback with another state, or from a browser that never started, signs nobody in.
    let browser = app.browser("acme");
    let started = browser.client.get(app.url("acme", "/sso/start")).send().await.unwrap();
    assert_eq!(started.status().as_u16(), 303);
    let cookie = started.headers()[SET_COOKIE].to_str().unwrap();
    assert!(cookie.starts_with("lk_sso=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    for query in [
        "?code=x&state=forged",
        "?code=x",
        "?state=",
        "?error=access_denied&state=forged",
        "?%zz",
    ] {
        let answer = browser
            .client
            .get(app.url("acme", &format!("/sso/callback{query}")))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 303, "{query}");
        let location = answer.headers()[LOCATION].to_str().unwrap();
        assert!(
            location.starts_with("/sign-in?sso_error=flow_expired"),
            "{query}: {location}"
        );
    }
    let stranger = app.browser("acme");
    let answer = stranger
        .client
        .get(app.url("acme", "/sso/callback?code=x&state=y"))
        .send()
        .await
        .unwrap();
    assert!(answer.headers()[LOCATION].to_str().unwrap().contains("flow_expired"));
    assert!(browser.host_info().await.viewer.is_none());

    // A flow started on one workspace is worthless on another.
    use_sso(&app, "globex", DEFAULT_POLICY).await;
    let other = app.browser("acme");
    let started = other.client.get(app.url("acme", "/sso/start")).send().await.unwrap();
    let flow = started.headers()[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let answer = app
        .raw_client()
        .get(format!("http://{}/sso/callback?code=x&state=y", app.addr))
        .header("host", format!("globex.{}", app.base_domain))
        .header("cookie", flow)
        .send()
        .await
        .unwrap();
    assert!(answer.headers()[LOCATION].to_str().unwrap().contains("flow_expired"));

    // Disabled and locked members are refused after the provider said yes.
    for (email, reason) in [("frank@acme.test", "disabled"), ("dave@acme.test", "locked")] {
        let outcome = sso_flow(&app.browser("acme"), Some(email)).await;
        assert!(
            outcome.location.starts_with(&format!("/sign-in?sso_error={reason}")),
            "{email}: {}",
            outcome.location
        );
    }

    // Password workspaces have no SSO to start.
    let answer = app
        .browser("initech")
        .client
        .get(app.url("initech", "/sso/start"))
        .send()
        .await
        .unwrap();
    assert!(
        answer.headers()[LOCATION]
            .to_str()
            .unwrap()
            .contains("sso_error=not_configured")
    );
}

#[tokio::test]
async fn latchkey_mfa_after_sso_is_the_workspace_choice() {
    let app = spawn_app().await;
    // Acme enforces MFA: with Latchkey's MFA on after SSO, a user with no factor enrolls first.
    let client = use_sso(&app, "acme", DEFAULT_POLICY).await;
    let acme = app.tenant_id("acme").await;
    let mut tenant: tenants::ActiveModel = tenants::Entity::find_by_id(acme)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .into();
    tenant.is_mfa_enforced = sea_orm::Set(true);
    sea_orm::ActiveModelTrait::update(tenant, &app.state.db).await.unwrap();

    let browser = app.browser("acme");
    assert_eq!(sso_flow(&browser, Some("bob@acme.test")).await.location, "/");
    assert_eq!(
        browser.host_info().await.viewer.unwrap().mfa_step,
        Some(MfaStep::Enroll)
    );

    // The workspace trusts its provider's MFA instead.
    let token = api_token(&app, "admin@demo-msp.test", "admin").await;
    let update = json!({
        "issuer": idp().issuer, "clientId": client.client_id, "requiresMfa": false,
    });
    let answer = api_call(&app, Method::PUT, &token, &format!("/tenants/{acme}/sso"), Some(update)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let browser = app.browser("acme");
    assert_eq!(sso_flow(&browser, Some("bob@acme.test")).await.location, "/");
    assert_eq!(browser.host_info().await.viewer.unwrap().mfa_step, None);
}

#[tokio::test]
async fn sso_settings_are_checked_audited_and_keep_the_secret_sealed() {
    let app = spawn_app().await;
    let token = api_token(&app, "admin@demo-msp.test", "admin").await;
    let acme = app.tenant_id("acme").await;
    let path = format!("/tenants/{acme}/sso");
    let good = json!({ "issuer": idp().issuer, "clientId": "latchkey-acme", "clientSecret": "s3cret-value-xyz" });

    // SSO cannot be turned on before a provider is set up.
    let settings = json!({ "signInMode": "sso", "isMfaEnforced": false });
    let answer = api_call(
        &app,
        Method::PUT,
        &token,
        &format!("/tenants/{acme}/settings"),
        Some(settings),
    )
    .await;
    assert_eq!(answer.status, 409, "{}", answer.body);

    let mut bad_values = Vec::new();
    for (field, value) in [
        ("issuer", json!("http://login.example.com")),
        ("issuer", json!("not a url")),
        ("issuer", json!("")),
        ("issuer", json!("https://login.example.com/?x=1")),
        ("clientId", json!("")),
        ("clientId", json!("a\u{0}b")),
        ("clientSecret", json!("x".repeat(600))),
        ("allowedDomains", json!(["not a domain"])),
        ("allowedDomains", json!(["example"])),
    ] {
        let mut body = good.clone();
        body[field] = value.clone();
        bad_values.push((field, body));
    }
    let mut missing_secret = good.clone();
    missing_secret.as_object_mut().unwrap().remove("clientSecret");
    bad_values.push(("clientSecret", missing_secret));
    for (field, body) in bad_values {
        let answer = api_call(&app, Method::PUT, &token, &path, Some(body.clone())).await;
        assert_eq!(answer.status, 422, "{body}: {}", answer.body);
        assert_eq!(answer.body["error"]["code"], "validation_failed", "{}", answer.body);
        assert!(
            answer.body["error"]["fields"][field].is_array(),
            "{field}: {}",
            answer.body
        );
    }
    for body in [
        json!({ "issuer": 1 }),
        json!([good.clone()]),
        json!({ "extra": true, "issuer": "https://x.test", "clientId": "a" }),
    ] {
        let answer = api_call(&app, Method::PUT, &token, &path, Some(body)).await;
        assert_eq!(answer.status, 400, "{}", answer.body);
    }
    assert_eq!(
        audited(&app, "tenant.sso_settings_changed").await,
        0,
        "nothing half-written"
    );
    let stored = tenants::Entity::find_by_id(acme)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(stored.sso_issuer.is_none() && stored.sso_client_secret_enc.is_none());

    let answer = api_call(&app, Method::PUT, &token, &path, Some(good)).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["hasClientSecret"], true);
    assert!(
        !answer.body.to_string().contains("s3cret"),
        "the secret is never returned"
    );
    assert_eq!(
        answer.body["redirectUri"],
        format!("http://acme.{}/sso/callback", app.base_domain)
    );
    let stored = tenants::Entity::find_by_id(acme)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let sealed = stored.sso_client_secret_enc.unwrap();
    assert!(!sealed.windows(6).any(|w| w == b"s3cret"), "sealed at rest");
    assert_eq!(app.state.cipher.open(&sealed).unwrap(), b"s3cret-value-xyz");
    assert_eq!(audited(&app, "tenant.sso_settings_changed").await, 1);
    let audit = app::server::entities::audit_log::Entity::find()
        .filter(app::server::entities::audit_log::Column::Action.eq("tenant.sso_settings_changed"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !format!("{:?}", audit.after).contains("s3cret"),
        "the audit row says only that it changed"
    );
    let answer = api_call(&app, Method::GET, &token, &path, None).await;
    assert_eq!(answer.body["clientId"], "latchkey-acme");

    // A workspace's own admin manages its SSO, and nobody else's.
    let owner = api_token(&app, "owner@acme.test", "acme").await;
    assert_eq!(api_call(&app, Method::GET, &owner, &path, None).await.status, 200);
    let globex = app.tenant_id("globex").await;
    let answer = api_call(&app, Method::GET, &owner, &format!("/tenants/{globex}/sso"), None).await;
    assert_eq!(answer.status, 404);
    let member = api_token(&app, "bob@acme.test", "acme").await;
    assert_eq!(api_call(&app, Method::GET, &member, &path, None).await.status, 403);
    let operator = app.tenant_id("admin").await;
    let answer = api_call(&app, Method::GET, &token, &format!("/tenants/{operator}/sso"), None).await;
    assert_eq!(answer.status, 409, "the admin console always uses passwords");

    // Test connection, through the REST API and the console's server function.
    let test = |issuer: String| json!({ "issuer": issuer });
    let answer = api_call(
        &app,
        Method::POST,
        &token,
        &format!("{path}/test"),
        Some(test(idp().issuer.clone())),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["ok"], true, "{}", answer.body);
    assert!(answer.body["signingKeys"].as_u64().unwrap() >= 1);
    let wrong_issuer = idp().issuer.replace("127.0.0.1", "localhost");
    let answer = api_call(
        &app,
        Method::POST,
        &token,
        &format!("{path}/test"),
        Some(test(wrong_issuer)),
    )
    .await;
    assert_eq!(answer.body["ok"], false);
    assert!(
        answer.body["problems"][0]
            .as_str()
            .unwrap()
            .contains("does not belong to this issuer"),
        "{}",
        answer.body
    );

    let admin = operator_admin(&app).await;
    let acme_id = acme.to_string();
    let report: SsoConnectionReport = admin
        .call::<TestTenantSso, _>(&[("tenant_id", &acme_id), ("issuer", "http://127.0.0.1:1")])
        .await
        .unwrap();
    assert!(
        !report.ok && report.problems[0].starts_with("Could not reach"),
        "{report:?}"
    );
    let missing = format!("{}/no-such-issuer", idp().issuer);
    let report: SsoConnectionReport = admin
        .call::<TestTenantSso, _>(&[("tenant_id", &acme_id), ("issuer", &missing)])
        .await
        .unwrap();
    assert!(!report.ok && report.problems[0].contains("HTTP 404"), "{report:?}");
    let (status, _) = admin
        .call::<TestTenantSso, SsoConnectionReport>(&[("tenant_id", &acme_id), ("issuer", "ftp://x")])
        .await
        .unwrap_err();
    assert_eq!(status, 422);
    let config: SsoConfig = admin.call::<GetTenantSso, _>(&[("tenant_id", &acme_id)]).await.unwrap();
    assert_eq!(config.client_id.as_deref(), Some("latchkey-acme"));
}

/// A workspace's own identity provider speaks for that workspace only: evilcorp's admin points
/// its SSO at a provider they control, with just-in-time accounts on, and asserts people of
/// other workspaces and the operator's own admin.
#[tokio::test]
async fn a_workspace_provider_cannot_sign_in_or_attach_people_of_other_workspaces() {
    let app = spawn_app().await;
    let policy = Policy {
        jit: true,
        requires_mfa: false,
        domains: "",
    };
    use_sso(&app, "globex", policy).await;
    let globex = app.tenant_id("globex").await;
    for email in ["bob@acme.test", "admin@demo-msp.test"] {
        let before = user(&app, email).await.unwrap();
        let browser = app.browser("globex");
        let outcome = sso_flow(&browser, Some(email)).await;
        assert!(
            outcome
                .location
                .starts_with("/sign-in?sso_error=account_needs_proof&ref="),
            "{email}: {}",
            outcome.location
        );
        assert!(browser.host_info().await.viewer.is_none(), "{email}");
        let attached = memberships::Entity::find()
            .filter(memberships::Column::UserId.eq(before.id))
            .filter(memberships::Column::TenantId.eq(globex))
            .one(&app.state.db)
            .await
            .unwrap();
        assert!(attached.is_none(), "{email} was not attached to globex");
        assert_eq!(
            user(&app, email).await.unwrap(),
            before,
            "{email}'s account is untouched"
        );
        let event = newest_event(&app, "sso_failure").await;
        assert_eq!(event.detail.as_ref().unwrap()["reason"], "account_needs_proof");
        assert_eq!(
            event.user_id, None,
            "globex's log names no account of another workspace"
        );
        assert!(outcome.location.ends_with(&event.reference));
    }
    app.browser("acme")
        .sign_in("bob@acme.test", DEMO_PASSWORD)
        .await
        .expect("bob still signs in to acme with his password");
    let viewer = operator_admin(&app).await.host_info().await.viewer.unwrap();
    assert_eq!(viewer.mfa_step, None, "nothing gates the admin's console");

    // An invite from globex is not accepted by globex's provider either: bob proves the
    // account from the emailed link first, and only then does the provider sign him in.
    let token = api_token(&app, "admin@demo-msp.test", "admin").await;
    let body = json!({ "email": "bob@acme.test", "displayName": "Bob", "tenantId": globex });
    let answer = api_call(&app, Method::POST, &token, "/users", Some(body)).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let outcome = sso_flow(&app.browser("globex"), Some("bob@acme.test")).await;
    assert!(outcome.location.starts_with("/sign-in?sso_error=account_needs_proof"));
    assert_eq!(membership_status(&app, "bob@acme.test", "globex").await, "pending");
    let bob = app.user_id("bob@acme.test").await;
    let link = api_call(
        &app,
        Method::POST,
        &token,
        &format!("/users/{bob}/invite/resend"),
        Some(json!({ "tenantId": globex })),
    )
    .await;
    assert_eq!(link.status, 202, "{}", link.body);
    let mail = crate::mail::Mailbox::new().deliver(&app).await;
    let invite = mail
        .iter()
        .rev()
        .find(|m| m.contains("To: bob@acme.test") && m.contains("Globex"))
        .expect("the invite");
    let link_token = crate::mail::link_token(invite);
    let browser = app.browser("globex");
    let _: () = browser
        .call::<app::api::AcceptInvite, _>(&[
            ("token", link_token.as_str()),
            ("password", DEMO_PASSWORD),
            ("confirm", ""),
        ])
        .await
        .expect("bob proves the account with its password");
    assert_eq!(sso_flow(&browser, Some("bob@acme.test")).await.location, "/");
    assert!(
        user(&app, "bob@acme.test").await.unwrap().password_hash.is_some(),
        "acme still signs in with it"
    );
}

/// A tenant admin cannot aim Latchkey at the network it runs in: Test connection refuses
/// loopback, private, link-local and unique-local addresses, written or behind a name, and the
/// answer for a live server there is the answer for a closed port.
#[tokio::test]
async fn providers_on_internal_networks_are_refused_alike_open_or_closed() {
    let app = spawn_app_with(|state| state.providers = Arc::new(Providers::new(&[]))).await;
    let admin = operator_admin(&app).await;
    let acme_id = app.tenant_id("acme").await.to_string();
    let live = idp().issuer.clone();
    let port = live.rsplit(':').next().unwrap().to_owned();
    let issuers = [
        live.clone(),
        format!("http://localhost:{port}"),
        "http://127.0.0.1:1".to_owned(),
        "https://10.0.0.1".to_owned(),
        "https://169.254.169.254".to_owned(),
        "https://[fd00::1]".to_owned(),
        "https://[::ffff:127.0.0.1]".to_owned(),
    ];
    let mut answers = std::collections::BTreeSet::new();
    for issuer in &issuers {
        let report: SsoConnectionReport = admin
            .call::<TestTenantSso, _>(&[("tenant_id", &acme_id), ("issuer", issuer)])
            .await
            .unwrap();
        assert!(!report.ok, "{issuer}: {report:?}");
        assert_eq!(report.problems.len(), 1, "{report:?}");
        let url = report.issuer.trim_end_matches('/').to_owned();
        answers.insert(report.problems[0].replace(&url, "ISSUER"));
    }
    assert_eq!(answers.len(), 1, "{answers:#?}");
    assert!(answers.first().unwrap().contains("public internet addresses only"));
}

/// Anonymous visitors cannot make Latchkey call a saved issuer at will: sign-ins share one
/// cached discovery, and a failing provider is asked again only after a pause.
#[tokio::test]
async fn anonymous_sign_ins_fetch_a_saved_issuer_once() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app().await;
    // A provider that fails every request, and counts them.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut request = [0u8; 4096];
                let _ = socket.read(&mut request).await;
                let answer = b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
                let _ = socket.write_all(answer).await;
            });
        }
    });
    let client = IdpClient {
        client_id: "latchkey-acme".into(),
        client_secret: "s3cret-value-xyz".into(),
    };
    save_sso(&app, "acme", (&issuer, &client), DEFAULT_POLICY).await;
    let starts = (0..20).map(|_| {
        let browser = app.browser("acme");
        async move {
            browser
                .client
                .get(format!("{}/sso/start", browser.origin))
                .send()
                .await
                .unwrap()
        }
    });
    for answer in futures::future::join_all(starts).await {
        let location = answer.headers()[LOCATION].to_str().unwrap().to_owned();
        assert!(location.contains("sso_error=provider_unavailable"), "{location}");
    }
    assert_eq!(requests.load(Ordering::SeqCst), 1, "one fetch for twenty sign-ins");
}
