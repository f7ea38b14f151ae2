//! REST API v1 beyond the account actions: lists with filters and cursors, CSV, one user,
//! removal by email, tenants, logs, tokens, rate limits, the OpenAPI document and the docs.

use crate::helpers::*;
use app::api::{CreateApiToken, ListApiTokens, RevokeApiToken};
use app::server::entities::{memberships, users};
use app::server::services::tokens;
use app::types::{ApiTokenSummary, CreatedApiToken};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Arc;

async fn get(app: &TestApp, token: &str, path: &str) -> Answer {
    api_call(app, Method::GET, token, path, None).await
}

async fn get_text(app: &TestApp, token: &str, path: &str) -> (u16, String, String) {
    let response = app
        .raw_client()
        .get(format!("http://{}/api/v1{path}", app.addr))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let kind = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, kind, response.text().await.unwrap())
}

fn emails(page: &Value) -> Vec<String> {
    page["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn users_list_filters_counts_and_walks_pages() {
    let app = spawn_app().await;
    let admin = api_token(&app, "admin@demo-msp.test", "admin").await;
    let acme = app.tenant_id("acme").await;

    let page = get(&app, &admin, &format!("/users?tenantId={acme}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        emails(&page.body),
        [
            "bob@acme.test",
            "carol@acme.test",
            "dave@acme.test",
            "erin@acme.test",
            "frank@acme.test",
            "owner@acme.test",
            "pat@partner.test"
        ]
    );
    assert_eq!(
        page.body["counts"],
        json!({ "pending": 1, "active": 3, "locked": 1, "cooldown": 1, "disabled": 1 })
    );
    assert_eq!(page.body["nextCursor"], Value::Null);
    let pat = &page.body["users"][6];
    assert_eq!(
        (pat["reach"].clone(), pat["tenantSlug"].clone()),
        (json!("whole_shared"), json!("acme"))
    );

    let locked = get(&app, &admin, &format!("/users?tenantId={acme}&status=locked")).await;
    assert_eq!(emails(&locked.body), ["dave@acme.test"]);
    assert_eq!(locked.body["counts"]["active"], 3, "counts ignore the status filter");

    // Once its end has passed, a cooldown reads as Active in the list, its counts and filters.
    app.clock.advance(chrono::Duration::hours(2));
    let active = get(&app, &admin, &format!("/users?tenantId={acme}&status=active")).await;
    assert!(
        emails(&active.body).contains(&"erin@acme.test".to_owned()),
        "{}",
        active.body
    );
    assert_eq!(active.body["counts"]["cooldown"], 0);

    for (q, expected) in [
        ("BUILDER", vec!["bob@acme.test"]),
        ("alice", vec!["owner@acme.test"]),
        ("partner.test", vec!["pat@partner.test"]),
        ("100%25", vec![]),
        ("_", vec![]),
    ] {
        let found = get(&app, &admin, &format!("/users?tenantId={acme}&q={q}")).await;
        assert_eq!(emails(&found.body), expected, "q={q}");
    }

    let everyone = get(&app, &admin, "/users?limit=200").await;
    let total = everyone.body["users"].as_array().unwrap().len();
    assert_eq!(total as u64, app.count(memberships::Entity).await);
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = get(&app, &admin, &format!("/users?limit=3&cursor={cursor}")).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for user in page.body["users"].as_array().unwrap() {
            seen.push(format!("{}/{}", user["email"], user["tenantSlug"]));
        }
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen.len(), total);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), total, "no row twice");

    let enrolled = get(&app, &admin, "/users?mfa=enrolled").await;
    assert_eq!(enrolled.body["users"].as_array().unwrap().len(), 0);
    let not_enrolled = get(&app, &admin, "/users?mfa=not_enrolled&limit=200").await;
    assert_eq!(not_enrolled.body["users"].as_array().unwrap().len(), total);
}

#[tokio::test]
async fn bad_list_queries_are_refused_clearly() {
    let app = spawn_app().await;
    let admin = api_token(&app, "admin@demo-msp.test", "admin").await;
    let long = "x".repeat(101);
    for (query, status, code) in [
        ("limit=0", 422, "validation_failed"),
        ("limit=201", 422, "validation_failed"),
        ("limit=-1", 400, "bad_request"),
        ("cursor=garbage", 422, "validation_failed"),
        ("status=sleeping", 400, "bad_request"),
        ("mfa=maybe", 400, "bad_request"),
        ("tenantId=not-a-uuid", 400, "bad_request"),
        ("colour=blue", 400, "bad_request"),
        (&format!("q={long}"), 422, "validation_failed"),
    ] {
        let answer = get(&app, &admin, &format!("/users?{query}")).await;
        assert_eq!(
            (answer.status, answer.body["error"]["code"].as_str()),
            (status, Some(code)),
            "{query}: {}",
            answer.body
        );
        assert!(
            answer.body["error"]["requestId"]
                .as_str()
                .is_some_and(|id| !id.is_empty())
        );
    }
    for query in [
        "type=nothing",
        "from=yesterday",
        "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
    ] {
        let answer = get(&app, &admin, &format!("/events?{query}")).await;
        assert!(matches!(answer.status, 400 | 422), "{query}: {}", answer.body);
    }
    let answer = get(&app, &admin, "/audit?action=DROP%20TABLE").await;
    assert_eq!(answer.status, 422);
    let answer = api_call(&app, Method::PATCH, &admin, "/users", None).await;
    assert_eq!(
        (answer.status, answer.body["error"]["code"].as_str()),
        (405, Some("method_not_allowed"))
    );
}

#[tokio::test]
async fn a_tenant_token_sees_and_changes_only_its_tenant() {
    let app = spawn_app().await;
    let owner = api_token(&app, "owner@acme.test", "acme").await;
    let globex = app.tenant_id("globex").await;
    let gina = app.user_id("admin@globex.test").await;
    let pat = app.user_id("pat@partner.test").await;

    let page = get(&app, &owner, "/users").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["tenantSlug"] == "acme")
    );
    assert_eq!(
        get(&app, &owner, &format!("/users?tenantId={globex}")).await.status,
        404
    );
    assert_eq!(get(&app, &owner, &format!("/users/{gina}")).await.status, 404);
    let detail = get(&app, &owner, &format!("/users/{pat}")).await;
    assert_eq!(detail.status, 200);
    let slugs: Vec<_> = detail.body["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["tenantSlug"].clone())
        .collect();
    assert_eq!(
        slugs,
        [json!("acme")],
        "pat's globex membership is not the acme admin's business"
    );

    let tenants = get(&app, &owner, "/tenants").await;
    assert_eq!(tenants.body["tenants"].as_array().unwrap().len(), 1);
    assert_eq!(get(&app, &owner, &format!("/tenants/{globex}")).await.status, 404);
    let mfa = api_call(
        &app,
        Method::PUT,
        &owner,
        &format!("/tenants/{globex}/mfa"),
        Some(json!({"isMfaEnforced": true})),
    )
    .await;
    assert_eq!(mfa.status, 404);
    let create = api_call(
        &app,
        Method::POST,
        &owner,
        "/tenants",
        Some(json!({"name": "Mine", "slug": "mine"})),
    )
    .await;
    assert_eq!(create.status, 403);
    let lock = api_call(&app, Method::POST, &owner, &format!("/users/{gina}/lock"), None).await;
    assert_eq!(lock.status, 404);
    let events = get(&app, &owner, &format!("/events?tenantId={globex}")).await;
    assert_eq!(events.status, 404);
    let removed = api_call(&app, Method::DELETE, &owner, "/users/by-email/admin@globex.test", None).await;
    assert_eq!(removed.status, 404);
    assert_eq!(app.count(users::Entity).await, 12, "nothing removed");
}

#[tokio::test]
async fn every_role_is_held_to_its_permissions() {
    let app = spawn_app().await;
    let bob = app.user_id("bob@acme.test").await;
    let acme = app.tenant_id("acme").await;
    // (token owner, workspace, may read users, may lock, may create tenants, may remove users)
    let matrix = [
        ("admin@demo-msp.test", "admin", true, true, true, true),
        ("support@demo-msp.test", "admin", true, true, false, false),
        ("readonly@demo-msp.test", "admin", true, false, false, false),
        ("owner@acme.test", "acme", true, true, false, true),
        ("bob@acme.test", "acme", false, false, false, false),
    ];
    for (email, slug, read, lock, create, remove) in matrix {
        let token = api_token(&app, email, slug).await;
        let status = |allowed: bool, ok: u16| if allowed { ok } else { 403 };
        assert_eq!(
            get(&app, &token, "/users").await.status,
            status(read, 200),
            "{email} list"
        );
        assert_eq!(
            get(&app, &token, "/events").await.status,
            status(read, 200),
            "{email} events"
        );
        assert_eq!(
            get(&app, &token, "/audit").await.status,
            status(read, 200),
            "{email} audit"
        );
        let locked = api_call(
            &app,
            Method::POST,
            &token,
            &format!("/users/{bob}/lock"),
            Some(json!({"tenantId": acme})),
        )
        .await;
        assert_eq!(locked.status, status(lock, 200), "{email} lock: {}", locked.body);
        if lock {
            let unlocked = api_call(
                &app,
                Method::POST,
                &token,
                &format!("/users/{bob}/unlock"),
                Some(json!({"tenantId": acme})),
            )
            .await;
            assert_eq!(unlocked.status, 200);
        }
        let slug_new = format!("t{}", uuid::Uuid::new_v4().simple());
        let created = api_call(
            &app,
            Method::POST,
            &token,
            "/tenants",
            Some(json!({"name": "New", "slug": &slug_new[..20]})),
        )
        .await;
        assert_eq!(
            created.status,
            status(create, 201),
            "{email} create tenant: {}",
            created.body
        );
        if !remove {
            let removed = api_call(&app, Method::DELETE, &token, "/users/by-email/frank@acme.test", None).await;
            assert_eq!(removed.status, 403, "{email} remove: {}", removed.body);
        }
        let reset = api_call(
            &app,
            Method::PUT,
            &token,
            "/users/mfa/reset",
            Some(json!({"ids": [bob], "tenantId": acme})),
        )
        .await;
        assert_eq!(reset.status, 200);
        // Bob has no factor: a role that may reset is told there is nothing to reset.
        let expected = if lock { "skipped" } else { "forbidden" };
        assert_eq!(reset.body["results"][0]["result"], expected, "{email} reset MFA");
    }
    assert!(
        !app.user_id("frank@acme.test").await.is_nil(),
        "frank was never removed"
    );
}

#[tokio::test]
async fn one_user_and_removal_by_email() {
    let app = spawn_app().await;
    let admin = api_token(&app, "admin@demo-msp.test", "admin").await;
    let owner = api_token(&app, "owner@acme.test", "acme").await;
    let pat = app.user_id("pat@partner.test").await;

    let detail = get(&app, &admin, &format!("/users/{pat}")).await;
    assert_eq!(detail.status, 200, "{}", detail.body);
    assert_eq!(detail.body["email"], "pat@partner.test");
    assert_eq!(detail.body["memberships"].as_array().unwrap().len(), 2);
    assert_eq!(detail.body["hasPassword"], true);
    assert!(!detail.body.to_string().contains("argon2"));
    assert_eq!(get(&app, &admin, "/users/not-a-uuid").await.status, 404);
    assert_eq!(
        get(&app, &admin, &format!("/users/{}", uuid::Uuid::nil())).await.status,
        404
    );

    let removed = api_call(&app, Method::DELETE, &owner, "/users/by-email/PAT@partner.test", None).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(removed.body["removedFrom"][0]["slug"], "acme");
    assert!(
        removed.body.get("userDeleted").is_none(),
        "acme's admin is not told about globex"
    );
    let removed = api_call(&app, Method::DELETE, &admin, "/users/by-email/pat@partner.test", None).await;
    assert_eq!(removed.body["removedFrom"][0]["slug"], "globex");
    assert_eq!(removed.body["userDeleted"], true);
    assert_eq!(audited(&app, "user.removed").await, 2);
    assert_eq!(get(&app, &admin, &format!("/users/{pat}")).await.status, 404);

    let again = api_call(&app, Method::DELETE, &admin, "/users/by-email/pat@partner.test", None).await;
    assert_eq!(again.status, 404);
    let bad = api_call(&app, Method::DELETE, &admin, "/users/by-email/not-an-email", None).await;
    assert_eq!(bad.status, 422);
    let me = api_call(
        &app,
        Method::DELETE,
        &admin,
        "/users/by-email/admin@demo-msp.test",
        None,
    )
    .await;
    assert_eq!(me.status, 409);
}

#[tokio::test]
async fn tenants_are_created_listed_and_made_to_enforce_mfa() {
    let app = spawn_app().await;
    let admin = api_token(&app, "admin@demo-msp.test", "admin").await;
    let created = api_call(
        &app,
        Method::POST,
        &admin,
        "/tenants",
        Some(json!({"name": "Umbrella Corp", "slug": "Umbrella", "isMfaEnforced": true})),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["slug"], "umbrella");
    assert_eq!(created.body["isMfaEnforced"], true);
    assert!(
        created.body["signInUrl"]
            .as_str()
            .unwrap()
            .starts_with("http://umbrella.localhost:")
    );
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(audited(&app, "tenant.created").await, 1);
    let host = app.browser("umbrella").host_info().await;
    assert_eq!(host.realm.name, "Umbrella Corp");

    let before = app.count(app::server::entities::tenants::Entity).await;
    for (body, status) in [
        (json!({"name": "Again", "slug": "umbrella"}), 409),
        (json!({"name": "Admin", "slug": "admin"}), 422),
        (json!({"name": "Bad", "slug": "-bad-"}), 422),
        (json!({"name": "", "slug": "empty-name"}), 422),
        (json!({"name": "X", "slug": "xx", "colour": "blue"}), 400),
        (json!({"name": "X", "slug": "xx", "signInMode": "carrier-pigeon"}), 400),
        (json!({"slug": "noname"}), 400),
    ] {
        let answer = api_call(&app, Method::POST, &admin, "/tenants", Some(body.clone())).await;
        assert_eq!(answer.status, status, "{body}: {}", answer.body);
    }
    assert_eq!(
        app.count(app::server::entities::tenants::Entity).await,
        before,
        "nothing half-written"
    );

    let acme = app.tenant_id("acme").await;
    let on = api_call(
        &app,
        Method::PUT,
        &admin,
        &format!("/tenants/{acme}/mfa"),
        Some(json!({"isMfaEnforced": true})),
    )
    .await;
    assert_eq!((on.status, on.body["isMfaEnforced"].clone()), (200, json!(true)));
    assert_eq!(audited(&app, "tenant.mfa_enforcement_changed").await, 1);
    let same = api_call(
        &app,
        Method::PUT,
        &admin,
        &format!("/tenants/{acme}/mfa"),
        Some(json!({"isMfaEnforced": true})),
    )
    .await;
    assert_eq!(same.status, 200);
    assert_eq!(
        audited(&app, "tenant.mfa_enforcement_changed").await,
        1,
        "no change, no row"
    );
    for body in [
        json!({"isMfaEnforced": "yes"}),
        json!({}),
        json!({"isMfaEnforced": true, "x": 1}),
    ] {
        let answer = api_call(&app, Method::PUT, &admin, &format!("/tenants/{acme}/mfa"), Some(body)).await;
        assert_eq!(answer.status, 400);
    }
    // Bob has no factor: his next sign-in must set one up.
    let bob = app.browser("acme");
    let viewer = bob.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap();
    assert_eq!(viewer.mfa_step, Some(app::types::MfaStep::Enroll));

    let list = get(&app, &admin, "/tenants").await;
    let slugs: Vec<_> = list.body["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap().to_owned())
        .collect();
    assert!(slugs.contains(&"umbrella".to_owned()) && slugs.contains(&"admin".to_owned()));
    assert_eq!(
        get(&app, &admin, &format!("/tenants/{id}")).await.body["memberCount"],
        0
    );
}

#[tokio::test]
async fn events_and_audit_are_searchable_and_exported() {
    let app = spawn_app().await;
    let admin = api_token(&app, "admin@demo-msp.test", "admin").await;
    let acme = app.browser("acme");
    let (_, error) = acme.sign_in("bob@acme.test", "wrong password!!").await.unwrap_err();
    let reference = error.reference().expect("a support reference").to_owned();

    let by_ref = get(
        &app,
        &admin,
        &format!("/events?q={}", reference.to_lowercase().replace('-', "")),
    )
    .await;
    assert_eq!(by_ref.status, 200, "{}", by_ref.body);
    let events = by_ref.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["reference"], reference);
    assert_eq!(events[0]["type"], "login_failed");
    assert_eq!(events[0]["userEmail"], "bob@acme.test");
    assert_eq!(events[0]["tenantSlug"], "acme");
    let typed = get(&app, &admin, "/events?type=account_lock").await;
    assert_eq!(typed.body["events"].as_array().unwrap().len(), 0);
    let future = get(&app, &admin, "/events?from=2999-01-01T00:00:00Z").await;
    assert_eq!(future.body["events"].as_array().unwrap().len(), 0);

    let (status, kind, csv) = get_text(&app, &admin, &format!("/events.csv?q={reference}")).await;
    assert_eq!((status, kind.as_str()), (200, "text/csv; charset=utf-8"));
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("occurred_at,reference,type,user"));
    assert_eq!(lines.len(), 2);
    assert!(lines[1].contains(&reference) && lines[1].contains("Login Failed"));

    let bob = app.user_id("bob@acme.test").await;
    let locked = api_call(
        &app,
        Method::POST,
        &admin,
        &format!("/users/{bob}/lock"),
        Some(json!({"reason": "=cmd|' /C calc'!A0"})),
    )
    .await;
    assert_eq!(locked.status, 200);
    let audit = get(&app, &admin, "/audit?action=user.locked").await;
    let entries = audit.body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["actorEmail"], "admin@demo-msp.test");
    assert_eq!(entries[0]["tenantSlug"], "acme");
    assert!(entries[0]["actorTokenId"].is_string(), "made through a token");
    assert!(entries[0]["requestId"].is_string());
    let (_, _, csv) = get_text(&app, &admin, "/audit.csv?q=admin%40demo-msp").await;
    assert!(csv.lines().count() >= 2, "{csv}");
    assert!(csv.contains("user.locked"));
}

#[tokio::test]
async fn users_csv_has_exactly_the_rows_the_filters_show() {
    let app = spawn_app().await;
    let admin = api_token(&app, "admin@demo-msp.test", "admin").await;
    let acme = app.tenant_id("acme").await;
    let json = get(&app, &admin, &format!("/users?tenantId={acme}&status=active")).await;
    let (status, _, csv) = get_text(&app, &admin, &format!("/users.csv?tenantId={acme}&status=active")).await;
    assert_eq!(status, 200);
    let mut rows = csv.lines();
    assert_eq!(
        rows.next(),
        Some("email,username,display_name,workspace,role,status,mfa,locked_reason,created_at")
    );
    let csv_emails: Vec<String> = rows.map(|r| r.split(',').next().unwrap().to_owned()).collect();
    assert_eq!(csv_emails, emails(&json.body));

    // Many pages: the export streams past the page size.
    let everyone = get(&app, &admin, "/users?limit=200").await.body["users"]
        .as_array()
        .unwrap()
        .len();
    let (_, _, all) = get_text(&app, &admin, "/users.csv").await;
    assert_eq!(all.lines().count(), everyone + 1);
    let (status, _, refused) = get_text(&app, &admin, "/users.csv?status=bogus").await;
    assert_eq!(status, 400, "{refused}");
}

#[tokio::test]
async fn tokens_are_listed_revoked_and_rate_limited() {
    let app = spawn_app_with(|state| Arc::make_mut(&mut state.config).api_requests_per_minute = 5).await;
    let admin = api_token(&app, "admin@demo-msp.test", "admin").await;
    let list = get(&app, &admin, "/tokens").await;
    assert_eq!(list.status, 200);
    let tokens = list.body["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 1);
    assert!(
        !list.body.to_string().contains(&admin),
        "the token itself is never listed"
    );
    // Five requests a minute: the list above and four more.
    for _ in 0..4 {
        assert_eq!(get(&app, &admin, "/users/me").await.status, 200);
    }
    let limited = get(&app, &admin, "/users/me").await;
    assert_eq!(limited.status, 429, "{}", limited.body);
    assert_eq!(limited.body["error"]["code"], "rate_limited");
    let retry: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(get(&app, &admin, "/users/me").await.status, 200, "a new window");

    let other = api_token(&app, "support@demo-msp.test", "admin").await;
    let id = tokens::authenticate(&app.state, &other)
        .await
        .unwrap()
        .token_id
        .unwrap();
    let revoked = api_call(&app, Method::DELETE, &admin, &format!("/tokens/{id}"), None).await;
    assert_eq!(revoked.status, 204);
    assert_eq!(get(&app, &other, "/users/me").await.status, 401);
    assert_eq!(audited(&app, "api_token.revoked").await, 1);
    assert_eq!(
        api_call(&app, Method::DELETE, &admin, "/tokens/nope", None)
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn the_console_creates_lists_and_revokes_tokens() {
    let app = spawn_app().await;
    let console = app.browser("admin");
    console.sign_in("support@demo-msp.test", DEMO_PASSWORD).await.unwrap();
    let refused = console
        .call::<CreateApiToken, CreatedApiToken>(&[("name", "report")])
        .await
        .unwrap_err();
    assert_eq!(refused.0, 403, "Support has no tokens.manage");

    let console = app.browser("admin");
    console.sign_in("admin@demo-msp.test", DEMO_PASSWORD).await.unwrap();
    let created: CreatedApiToken = console
        .call::<CreateApiToken, _>(&[
            ("name", "nightly report"),
            ("role", "read_only"),
            ("expires_in_days", "30"),
        ])
        .await
        .unwrap();
    assert!(created.token.starts_with("lk_"));
    assert_eq!(created.summary.role_name, "Read-only");
    // The token carries its own, lesser role.
    let lock = api_call(
        &app,
        Method::POST,
        &created.token,
        &format!("/users/{}/lock", app.user_id("bob@acme.test").await),
        None,
    )
    .await;
    assert_eq!(lock.status, 403);
    assert_eq!(get(&app, &created.token, "/users").await.status, 200);

    for (form, status) in [
        (vec![("name", "")], 422),
        (vec![("name", "x"), ("role", "member")], 422),
        (vec![("name", "x"), ("role", "emperor")], 422),
        (vec![("name", "x"), ("expires_in_days", "0")], 422),
        (vec![("name", "x"), ("expires_in_days", "9999")], 422),
    ] {
        let error = console
            .call::<CreateApiToken, CreatedApiToken>(&form)
            .await
            .unwrap_err();
        assert_eq!(error.0, status, "{form:?}");
    }
    let listed: Vec<ApiTokenSummary> = console.call::<ListApiTokens, _>(&[]).await.unwrap();
    assert_eq!(listed.len(), 1, "failed attempts wrote nothing");
    assert!(listed[0].last_used_at.is_some());
    let id = listed[0].id.to_string();
    let () = console.call::<RevokeApiToken, _>(&[("id", &id)]).await.unwrap();
    assert_eq!(get(&app, &created.token, "/users").await.status, 401);
    assert_eq!(audited(&app, "api_token.created").await, 1);
}

#[tokio::test]
async fn the_openapi_document_and_the_docs_are_served() {
    let app = spawn_app().await;
    let client = app.raw_client();
    let doc: Value = client
        .get(format!("http://{}/api/v1/openapi.json", app.addr))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/users",
        "/users.csv",
        "/users/me",
        "/users/{id}",
        "/users/mfa/reset",
        "/users/by-email/{email}",
        "/users/{id}/lock",
        "/users/{id}/unlock",
        "/users/{id}/cooldown/reset",
        "/users/{id}/password-reset-link",
        "/users/{id}/invite/resend",
        "/users/{id}/invite",
        "/users/{id}/access-link",
        "/users/{id}/temporary-password",
        "/tenants",
        "/tenants/{id}",
        "/tenants/{id}/mfa",
        "/events",
        "/events.csv",
        "/audit",
        "/audit.csv",
        "/tokens",
        "/tokens/{id}",
        "/roles",
        "/users/{id}/role",
        "/users/{id}/enable",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["type"], "http");
    let docs = client
        .get(format!("http://{}/api/docs/", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(docs.status(), 200);
    let html = docs.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(!html.contains("https://"), "no CDN: everything is served by Latchkey");
    let script = client
        .get(format!("http://{}/api/docs/swagger-ui-bundle.js", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    let config = client
        .get(format!("http://{}/api/docs/swagger-initializer.js", app.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        config.contains("/api/v1/openapi.json") && config.contains("persistAuthorization"),
        "{config}"
    );
}

#[tokio::test]
async fn roles_change_role_and_enable_access() {
    let app = spawn_app().await;
    let owner = api_token(&app, "owner@acme.test", "acme").await;
    let support = api_token(&app, "support@demo-msp.test", "admin").await;
    let roles = get(&app, &owner, "/roles").await;
    assert_eq!(roles.status, 200, "{}", roles.body);
    let list = roles.body["roles"].as_array().unwrap();
    let support_role = list.iter().find(|r| r["key"] == "support").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let bob = app.user_id("bob@acme.test").await;
    let changed = api_call(
        &app,
        Method::POST,
        &owner,
        &format!("/users/{bob}/role"),
        Some(json!({"roleId": support_role})),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let refused = api_call(
        &app,
        Method::POST,
        &support,
        &format!("/users/{bob}/role"),
        Some(json!({"roleId": support_role})),
    )
    .await;
    assert_eq!(refused.status, 403, "Support cannot change roles");
    for body in [
        None,
        Some(json!({"roleId": "nope"})),
        Some(json!({"roleId": uuid::Uuid::nil()})),
    ] {
        let answer = api_call(&app, Method::POST, &owner, &format!("/users/{bob}/role"), body.clone()).await;
        assert!(matches!(answer.status, 400 | 422), "{body:?}: {}", answer.body);
    }
    let frank = app.user_id("frank@acme.test").await;
    let enabled = api_call(&app, Method::POST, &support, &format!("/users/{frank}/enable"), None).await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    let again = api_call(&app, Method::POST, &support, &format!("/users/{frank}/enable"), None).await;
    assert_eq!(again.status, 409);
    let detail = get(&app, &owner, &format!("/users/{bob}")).await;
    assert_eq!(detail.body["memberships"][0]["roleName"], "Support");
}
