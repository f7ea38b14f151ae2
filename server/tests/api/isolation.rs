//! The tenant isolation matrix: every REST operation in the OpenAPI document and every
//! registered server function (so a new one cannot be forgotten), called by every kind of
//! caller against another workspace's users, sessions, tokens and settings. Nothing of one
//! workspace may be read or changed from another, and every refusal has its status.

use crate::helpers::{Browser, DEMO_PASSWORD, TestApp, api_token, post, session_cookie, spawn_app};
use app::server::entities::{api_tokens, memberships, mfa_factors, one_time_secrets, roles, sessions, tenants, users};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::{Value, json};
use uuid::Uuid;

/// The other workspace's things a caller aims at.
struct Victim {
    slug: &'static str,
    tenant_id: Uuid,
    user_id: Uuid,
    email: &'static str,
    session_id: Uuid,
    token_id: Uuid,
}

impl Victim {
    /// Text that must never appear in an answer to someone outside the workspace.
    fn secrets(&self) -> [String; 5] {
        [
            self.tenant_id.to_string(),
            self.user_id.to_string(),
            self.email.to_owned(),
            self.session_id.to_string(),
            self.token_id.to_string(),
        ]
    }

    fn leaked(&self, body: &str) -> Option<String> {
        self.secrets().into_iter().find(|s| body.contains(s.as_str()))
    }
}

/// Adds an Active member with the demo password.
async fn add_member(app: &TestApp, email: &str, slug: &str, role_key: &str) -> Uuid {
    let now = chrono::Utc::now();
    let hash = app.state.hasher.hash(DEMO_PASSWORD).await.unwrap();
    let user = users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.into()),
        username: Set(None),
        display_name: Set("Gina Globex".into()),
        secondary_email: Set(None),
        phone: Set(None),
        password_hash: Set(Some(hash)),
        password_changed_at: Set(Some(now - chrono::Duration::days(30))),
        must_change_password: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    let role = app::server::services::setup::builtin_role(&app.state.db, role_key)
        .await
        .unwrap();
    memberships::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        user_email: Set(user.email.clone()),
        tenant_id: Set(app.tenant_id(slug).await),
        role_id: Set(role.id),
        status: Set("active".into()),
        locked_reason: Set(None),
        locked_until: Set(None),
        cooldown_until: Set(None),
        mfa_failed_attempts: Set(0),
        mfa_enrollment_required: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&app.state.db)
    .await
    .unwrap();
    user.id
}

/// Globex (an SSO workspace in the demo) signs in with passwords here, so its admin can act.
async fn setup(app: &TestApp) {
    app.use_passwords("globex").await;
    add_member(app, "gina@globex.test", "globex", "administrator").await;
}

async fn victim(app: &TestApp, slug: &'static str, email: &'static str) -> Victim {
    let browser = app.browser(slug);
    browser.sign_in(email, DEMO_PASSWORD).await.expect("victim signs in");
    let user_id = app.user_id(email).await;
    api_token(app, email, slug).await;
    let session_id = sessions::Entity::find()
        .filter(sessions::Column::UserId.eq(user_id))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let token_id = api_tokens::Entity::find()
        .filter(api_tokens::Column::UserId.eq(user_id))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    Victim {
        slug,
        tenant_id: app.tenant_id(slug).await,
        user_id,
        email,
        session_id,
        token_id,
    }
}

/// Everything a workspace holds that a caller could change, as text.
async fn fingerprint(app: &TestApp, tenant_id: Uuid) -> String {
    let db = &app.state.db;
    let tenant = tenants::Entity::find_by_id(tenant_id).one(db).await.unwrap();
    let members = memberships::Entity::find()
        .filter(memberships::Column::TenantId.eq(tenant_id))
        .order_by_asc(memberships::Column::Id)
        .all(db)
        .await
        .unwrap();
    let user_ids: Vec<Uuid> = members.iter().map(|m| m.user_id).collect();
    let people = users::Entity::find()
        .filter(users::Column::Id.is_in(user_ids.clone()))
        .order_by_asc(users::Column::Id)
        .all(db)
        .await
        .unwrap();
    let factors = mfa_factors::Entity::find()
        .filter(mfa_factors::Column::UserId.is_in(user_ids))
        .order_by_asc(mfa_factors::Column::Id)
        .all(db)
        .await
        .unwrap();
    let live_sessions: Vec<Uuid> = sessions::Entity::find()
        .filter(sessions::Column::TenantId.eq(tenant_id))
        .order_by_asc(sessions::Column::Id)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.revoked_at.is_none())
        .map(|s| s.id)
        .collect();
    let tokens: Vec<(Uuid, Option<chrono::DateTime<chrono::Utc>>)> = api_tokens::Entity::find()
        .filter(api_tokens::Column::TenantId.eq(tenant_id))
        .order_by_asc(api_tokens::Column::Id)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|t| (t.id, t.revoked_at))
        .collect();
    let custom_roles = roles::Entity::find()
        .filter(roles::Column::TenantId.eq(tenant_id))
        .all(db)
        .await
        .unwrap();
    let secrets = one_time_secrets::Entity::find()
        .filter(one_time_secrets::Column::TenantId.eq(tenant_id))
        .all(db)
        .await
        .unwrap()
        .len();
    format!(
        "{tenant:?}\n{members:?}\n{people:?}\n{factors:?}\n{live_sessions:?}\n{tokens:?}\n{custom_roles:?}\n{secrets}"
    )
}

/// A path of the OpenAPI document with the victim's ids in its parameters.
fn concrete_path(template: &str, victim: &Victim) -> String {
    let id = if template.starts_with("/tenants") {
        victim.tenant_id
    } else if template.starts_with("/tokens") {
        victim.token_id
    } else {
        victim.user_id
    };
    template
        .replace("{id}", &id.to_string())
        .replace("{sessionId}", &victim.session_id.to_string())
        .replace("{email}", victim.email)
}

struct Operation {
    method: reqwest::Method,
    template: String,
    has_body: bool,
    query_tenant: bool,
}

async fn operations(app: &TestApp) -> Vec<Operation> {
    let doc: Value = app
        .raw_client()
        .get(format!("http://{}/api/v1/openapi.json", app.addr))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut found = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<reqwest::Method>() else {
                continue;
            };
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            found.push(Operation {
                method,
                template: template.clone(),
                has_body: !op["requestBody"].is_null(),
                query_tenant: params.iter().any(|p| p["name"] == "tenantId" && p["in"] == "query"),
            });
        }
    }
    found
}

/// Calls one operation of the document at `url` (the `/api/v1` path and its query), as `token`
/// when there is one, with `body` when the operation takes one; the status and the text.
async fn send(
    app: &TestApp,
    op: &Operation,
    url: &str,
    token: Option<&str>,
    body: impl FnOnce() -> Value,
) -> (u16, String) {
    let mut request = app
        .raw_client()
        .request(op.method.clone(), format!("http://{}/api/v1{url}", app.addr));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if op.has_body {
        request = request.json(&body());
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// A body that names the victim wherever a schema could: its workspace and its user.
fn body_against(victim: &Victim) -> Value {
    json!({
        "tenantId": victim.tenant_id,
        "userIds": [victim.user_id],
        "email": "someone.new@evil.test",
        "displayName": "Someone New",
        "name": "Evil role",
        "permissions": ["users.read"],
        "level": "all",
    })
}

#[tokio::test]
async fn no_rest_operation_reaches_another_workspace() {
    let app = spawn_app().await;
    setup(&app).await;
    let globex = victim(&app, "globex", "gina@globex.test").await;
    let acme = victim(&app, "acme", "bob@acme.test").await;
    let ops = operations(&app).await;
    assert!(ops.len() >= 36, "the document lists every operation ({})", ops.len());

    // (caller, token, whose data it aims at, may it read across workspaces)
    let callers = [
        (
            "acme member",
            Some(api_token(&app, "bob@acme.test", "acme").await),
            &globex,
        ),
        (
            "acme admin",
            Some(api_token(&app, "owner@acme.test", "acme").await),
            &globex,
        ),
        (
            "globex admin",
            Some(api_token(&app, "gina@globex.test", "globex").await),
            &acme,
        ),
        ("no token", None, &globex),
    ];
    let mut cases = 0;
    for (who, token, target) in &callers {
        let before = fingerprint(&app, target.tenant_id).await;
        for op in &ops {
            let path = concrete_path(&op.template, target);
            let mut url = path.clone();
            if op.query_tenant {
                url.push_str(&format!("?tenantId={}", target.tenant_id));
            }
            let (status, body) = send(&app, op, &url, token.as_deref(), || body_against(target)).await;
            cases += 1;
            let case = format!(
                "{who}: {} {path} -> {status} {}",
                op.method,
                body.chars().take(200).collect::<String>()
            );
            assert!(status < 500, "{case}");
            if token.is_none() {
                assert_eq!(status, 401, "{case}");
                continue;
            }
            if let Some(secret) = target.leaked(&body) {
                panic!("{case}: the answer names {secret} of {}", target.slug);
            }
            let aims_at_victim = path != op.template || op.query_tenant;
            if op.has_body {
                // A body naming the victim is refused (or, for a bulk action, answered row by
                // row with nothing done); the fingerprint below shows nothing changed.
                assert!(matches!(status, 200..=299 | 400 | 403 | 404 | 409 | 422), "{case}");
                assert!(!(aims_at_victim && (200..300).contains(&status)), "{case}");
            } else if aims_at_victim {
                // Another workspace's things do not exist for this caller; a role that could
                // not act anyway may be told so first.
                assert!(matches!(status, 403 | 404), "{case}");
            } else {
                assert!(matches!(status, 200..=299 | 403 | 404), "{case}");
            }
        }
        assert_eq!(
            fingerprint(&app, target.tenant_id).await,
            before,
            "{who} changed {}",
            target.slug
        );
    }

    // Operator roles may read every workspace, but Read-only changes nothing anywhere.
    let before = (
        fingerprint(&app, globex.tenant_id).await,
        fingerprint(&app, acme.tenant_id).await,
    );
    let readonly = api_token(&app, "readonly@demo-msp.test", "admin").await;
    for op in ops.iter().filter(|op| op.method != reqwest::Method::GET) {
        let path = concrete_path(&op.template, &globex);
        let mut request = app
            .raw_client()
            .request(op.method.clone(), format!("http://{}/api/v1{path}", app.addr))
            .bearer_auth(&readonly);
        if op.has_body {
            request = request.json(&body_against(&globex));
        }
        let status = request.send().await.unwrap().status().as_u16();
        cases += 1;
        let own_token = op.template.starts_with("/tokens");
        assert!(
            matches!(status, 403 | 422 | 400) || (own_token && status == 404),
            "read-only: {} {path} -> {status}",
            op.method
        );
    }
    // Support resets, unlocks and resends anywhere, but changes no role, setting or workspace.
    let support = api_token(&app, "support@demo-msp.test", "admin").await;
    let settings_like = |t: &str| t.starts_with("/tenants") || t.starts_with("/roles") || t.ends_with("/role");
    for op in ops
        .iter()
        .filter(|op| op.method != reqwest::Method::GET && settings_like(&op.template))
    {
        let path = concrete_path(&op.template, &globex);
        let mut request = app
            .raw_client()
            .request(op.method.clone(), format!("http://{}/api/v1{path}", app.addr))
            .bearer_auth(&support);
        if op.has_body {
            request = request.json(&body_against(&globex));
        }
        let status = request.send().await.unwrap().status().as_u16();
        cases += 1;
        assert!(
            matches!(status, 403 | 422 | 400),
            "support: {} {path} -> {status}",
            op.method
        );
    }
    assert_eq!(
        (
            fingerprint(&app, globex.tenant_id).await,
            fingerprint(&app, acme.tenant_id).await
        ),
        before,
        "no workspace changed"
    );
    eprintln!("REST isolation cases: {cases}");
}

/// The callers' own wrong answers to password prompts (every server function gets a wrong
/// `current` and `password`) spend their sign-in budget; the matrix is about workspaces, so it
/// forgets them before signing a caller in again.
async fn forget_sign_in_failures(app: &TestApp) {
    app::server::entities::sign_in_throttles::Entity::delete_many()
        .exec(&app.state.db)
        .await
        .unwrap();
}

/// Every form field any server function takes, filled with the victim's ids.
fn form_against(victim: &Victim) -> Vec<(String, String)> {
    let v = |s: &str| s.to_owned();
    vec![
        (v("tenant_id"), victim.tenant_id.to_string()),
        (v("user_id"), victim.user_id.to_string()),
        (v("user_ids[0]"), victim.user_id.to_string()),
        (v("session_id"), victim.session_id.to_string()),
        (v("id"), victim.token_id.to_string()),
        (v("factor_id"), Uuid::now_v7().to_string()),
        (v("role_id"), Uuid::now_v7().to_string()),
        (v("query[tenantId]"), victim.tenant_id.to_string()),
        (v("identifier"), victim.email.to_owned()),
        (v("email"), v("someone.new@evil.test")),
        (v("display_name"), v("Someone New")),
        (v("name"), v("Evil")),
        (v("slug"), v("evil-workspace")),
        (v("role"), v("administrator")),
        (v("permissions[0]"), v("users.read")),
        (v("level"), v("all")),
        (v("reason"), v("isolation test")),
        (v("password"), v("Not-the-password-2026")),
        (v("current"), v("Not-the-password-2026")),
        (v("confirm"), v("Not-the-password-2026")),
        (v("code"), v("000000")),
        (v("token"), v("not-a-token")),
        (v("phone"), v("+15555550123")),
        (v("sign_in_mode"), v("password")),
        (v("is_mfa_enforced"), v("false")),
        (v("issuer"), v("https://login.evil.test")),
        (v("client_id"), v("evil")),
        (v("client_secret"), v("evil")),
        (v("allowed_domains"), String::new()),
        (v("status"), String::new()),
        (v("before"), String::new()),
        (v("lifetime_days"), v("30")),
    ]
}

async fn call(browser: &Browser, path: &str, form: &[(String, String)]) -> (u16, String) {
    let response = browser
        .client
        .post(format!("{}{path}", browser.origin))
        .form(form)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn no_server_function_reaches_another_workspace_and_cookies_stay_on_their_host() {
    let app = spawn_app().await;
    setup(&app).await;
    let globex = victim(&app, "globex", "gina@globex.test").await;
    let acme = victim(&app, "acme", "bob@acme.test").await;
    let mut paths: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .collect();
    paths.sort();
    // Signing out ends the caller's own session: last.
    paths.sort_by_key(|p| p.contains("sign_out") || p.contains("end_impersonation"));
    assert!(
        paths.len() >= 60,
        "every server function is registered ({})",
        paths.len()
    );

    let mut cases = 0;
    let callers: [(&str, &str, &str, &Victim); 3] = [
        ("acme member", "bob@acme.test", "acme", &globex),
        ("acme admin", "owner@acme.test", "acme", &globex),
        ("globex admin", "gina@globex.test", "globex", &acme),
    ];
    for (who, email, host, target) in callers {
        let browser = app.browser(host);
        browser.sign_in(email, DEMO_PASSWORD).await.unwrap();
        let form = form_against(target);
        let before = fingerprint(&app, target.tenant_id).await;
        for path in &paths {
            if browser.host_info().await.viewer.is_none() {
                forget_sign_in_failures(&app).await;
                browser.sign_in(email, DEMO_PASSWORD).await.unwrap();
            }
            let (status, body) = call(&browser, path, &form).await;
            cases += 1;
            let case = format!(
                "{who}: {path} -> {status} {}",
                body.chars().take(200).collect::<String>()
            );
            assert!(status < 500, "{case}");
            if let Some(secret) = target.leaked(&body) {
                panic!("{case}: the answer names {secret} of {}", target.slug);
            }
        }
        assert_eq!(
            fingerprint(&app, target.tenant_id).await,
            before,
            "{who} changed {}",
            target.slug
        );
    }

    // An acme session cookie is worth nothing on globex or admin: every function answers
    // exactly as it does with no cookie at all.
    forget_sign_in_failures(&app).await;
    let jar_cookie = format!("lk_session={}", acme_session_cookie(&app).await);
    let bob_sessions = || {
        sessions::Entity::find()
            .filter(sessions::Column::UserId.eq(acme.user_id))
            .all(&app.state.db)
    };
    let bob_sessions_before = bob_sessions().await.unwrap().len();
    for host in ["globex", "admin"] {
        for path in &paths {
            let send = |with_cookie: bool| {
                let mut request = app
                    .raw_client()
                    .post(format!("http://{}{path}", app.addr))
                    .header("host", format!("{host}.{}", app.base_domain))
                    .form(&form_against(&globex));
                if with_cookie {
                    request = request.header("cookie", jar_cookie.clone());
                }
                request.send()
            };
            let anonymous = send(false).await.unwrap().status().as_u16();
            let replayed = send(true).await.unwrap();
            let status = replayed.status().as_u16();
            let body = replayed.text().await.unwrap();
            cases += 1;
            if anonymous == 401 {
                assert_eq!(status, 401, "acme cookie on {host}: {path} -> {status} {body}");
            }
            assert!(
                !body.contains("bob@acme.test"),
                "acme cookie on {host}: {path} -> {body}"
            );
        }
    }
    assert_eq!(
        bob_sessions().await.unwrap().len(),
        bob_sessions_before,
        "no session of bob's was touched"
    );
    eprintln!("server function isolation cases: {cases}");
}

/// A fresh session token of bob's on acme, from the sign-in's Set-Cookie.
async fn acme_session_cookie(app: &TestApp) -> String {
    let form = [("identifier", "bob@acme.test"), ("password", DEMO_PASSWORD)];
    let response = post(
        app,
        "acme",
        <app::api::SignIn as leptos::server_fn::ServerFn>::PATH,
        None,
        &form,
    )
    .await;
    session_cookie(&response).expect("a session cookie")
}

/// Everything of a person that reaches beyond one workspace (docs/design.md, "One person, many
/// workspaces"): their account, every factor and recovery code, the secrets that would change
/// the password or the email, their memberships and sessions elsewhere, as text.
async fn person_fingerprint(app: &TestApp, user_id: Uuid, home: Uuid) -> String {
    let db = &app.state.db;
    let user = users::Entity::find_by_id(user_id).one(db).await.unwrap().unwrap();
    let account = (
        user.email,
        user.username,
        user.password_hash,
        user.password_changed_at,
        user.must_change_password,
        user.secondary_email,
        user.phone,
    );
    let factors: Vec<(Uuid, bool)> = mfa_factors::Entity::find()
        .filter(mfa_factors::Column::UserId.eq(user_id))
        .order_by_asc(mfa_factors::Column::Id)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|f| (f.id, f.confirmed_at.is_some()))
        .collect();
    let codes: Vec<(Uuid, bool)> = app::server::entities::recovery_codes::Entity::find()
        .filter(app::server::entities::recovery_codes::Column::UserId.eq(user_id))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.id, c.used_at.is_some()))
        .collect();
    let identity_secrets: Vec<Uuid> = one_time_secrets::Entity::find()
        .filter(one_time_secrets::Column::UserId.eq(user_id))
        .filter(one_time_secrets::Column::Purpose.is_in(["reset_link", "temporary_password", "email_change"]))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect();
    let elsewhere: Vec<String> = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .filter(memberships::Column::TenantId.ne(home))
        .order_by_asc(memberships::Column::Id)
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|m| format!("{} {} {}", m.tenant_id, m.status, m.role_id))
        .collect();
    let sessions_elsewhere: Vec<Uuid> = sessions::Entity::find()
        .filter(sessions::Column::UserId.eq(user_id))
        .filter(sessions::Column::TenantId.ne(home))
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .filter(|s| s.revoked_at.is_none())
        .map(|s| s.id)
        .collect();
    format!("{account:?}\n{factors:?}\n{codes:?}\n{identity_secrets:?}\n{elsewhere:?}\n{sessions_elsewhere:?}")
}

/// A person of acme who belongs elsewhere too, as acme's admin sees them: every REST operation
/// and every server function, aimed at them with acme's own workspace in scope. Workspace-scoped
/// actions may run; nothing may reach the person beyond acme, and no answer may name what lies
/// there. The people: pat (acme and globex, with a factor set up on globex and a globex
/// session) and the operator's admin (invited to acme, so pending there).
#[tokio::test]
async fn no_operation_reaches_a_person_beyond_the_callers_workspace() {
    let app = spawn_app().await;
    setup(&app).await;
    let acme = app.tenant_id("acme").await;
    let globex = app.tenant_id("globex").await;
    let (_, _, _) = crate::mfa::enrolled(&app, "globex", "pat@partner.test").await;
    let globex_session = sessions::Entity::find()
        .filter(sessions::Column::UserId.eq(app.user_id("pat@partner.test").await))
        .filter(sessions::Column::TenantId.eq(globex))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id;
    let owner_token = api_token(&app, "owner@acme.test", "acme").await;
    let invited = crate::helpers::api_call(
        &app,
        reqwest::Method::POST,
        &owner_token,
        "/users",
        Some(json!({ "email": "admin@demo-msp.test", "displayName": "Op" })),
    )
    .await;
    assert_eq!(invited.status, 201, "{}", invited.body);
    let console = app.browser("admin");
    console.sign_in("admin@demo-msp.test", DEMO_PASSWORD).await.unwrap();
    let ops = operations(&app).await;
    let paths = {
        let mut paths: Vec<String> = leptos::server_fn::axum::server_fn_paths()
            .map(|(path, _)| path.to_owned())
            .collect();
        paths.sort();
        paths.sort_by_key(|p| p.contains("sign_out") || p.contains("end_impersonation"));
        paths
    };
    let foreign = [
        globex.to_string(),
        globex_session.to_string(),
        "Globex".to_owned(),
        "globex.".to_owned(),
        "Demo MSP".to_owned(),
        format!("admin.{}", app.base_domain),
    ];
    let mut cases = 0;
    for email in ["pat@partner.test", "admin@demo-msp.test"] {
        let user_id = app.user_id(email).await;
        let person = Victim {
            slug: "acme",
            tenant_id: acme,
            user_id,
            email,
            session_id: globex_session,
            token_id: Uuid::now_v7(),
        };
        let before = person_fingerprint(&app, user_id, acme).await;
        // Server functions first: the REST pass ends by removing the person from acme.
        let owner = app.browser("acme");
        forget_sign_in_failures(&app).await;
        owner.sign_in("owner@acme.test", DEMO_PASSWORD).await.unwrap();
        let mut form = form_against(&person);
        for (field, value) in form.iter_mut() {
            match field.as_str() {
                "level" => *value = "user".into(),
                "email" => *value = "taken.over@evil.test".into(),
                _ => {}
            }
        }
        for path in &paths {
            if owner.host_info().await.viewer.is_none() {
                forget_sign_in_failures(&app).await;
                owner.sign_in("owner@acme.test", DEMO_PASSWORD).await.unwrap();
            }
            let (status, body) = call(&owner, path, &form).await;
            cases += 1;
            let case = format!(
                "acme admin on {email}: {path} -> {status} {}",
                body.chars().take(200).collect::<String>()
            );
            assert!(status < 500, "{case}");
            if let Some(name) = foreign.iter().find(|f| body.contains(f.as_str())) {
                panic!("{case}: the answer names {name}");
            }
        }
        for op in &ops {
            let path = concrete_path(&op.template, &person);
            let aimed = || {
                let mut body = body_against(&person);
                body["ids"] = json!([user_id]);
                body["level"] = json!("user");
                body["email"] = json!("taken.over@evil.test");
                body
            };
            let url = format!("{path}?tenantId={acme}");
            let (status, body) = send(&app, op, &url, Some(&owner_token), aimed).await;
            cases += 1;
            let case = format!(
                "acme admin on {email}: {} {path} -> {status} {}",
                op.method,
                body.chars().take(200).collect::<String>()
            );
            assert!(status < 500, "{case}");
            if let Some(name) = foreign.iter().find(|f| body.contains(f.as_str())) {
                panic!("{case}: the answer names {name}");
            }
        }
        assert_eq!(
            person_fingerprint(&app, user_id, acme).await,
            before,
            "acme's admin reached {email} beyond acme"
        );
    }
    assert!(
        console.host_info().await.viewer.is_some(),
        "the operator admin's console session lives on"
    );
    eprintln!("person isolation cases: {cases}");
}
