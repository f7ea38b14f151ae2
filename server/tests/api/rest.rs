use crate::helpers::*;
use app::server::services::tokens;

#[tokio::test]
async fn users_me_with_a_bearer_token() {
    let app = spawn_app().await;
    let created = tokens::create(&app.state, "support@demo-msp.test", "admin", "test", None)
        .await
        .unwrap();
    assert!(created.token.starts_with("lk_"));
    assert_ne!(created.row.token_hash, created.token);
    let client = app.raw_client();
    let url = format!("http://{}/api/v1/users/me", app.addr);
    let me: serde_json::Value = client
        .get(&url)
        .bearer_auth(&created.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "support@demo-msp.test");
    assert_eq!(me["displayName"], "Sam Support");
    assert_eq!(me["memberships"][0]["roleName"], "Support");
    assert!(me.get("passwordHash").is_none() && !me.to_string().contains("argon2"));

    for auth in [None, Some("Bearer lk_nope"), Some("Basic abc"), Some("Bearer ")] {
        let mut request = client.get(&url);
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{auth:?}");
        assert!(response.headers().contains_key("x-request-id"));
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["code"], "not_signed_in");
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let unknown = client
        .get(format!("http://{}/api/v1/nothing", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let body: serde_json::Value = unknown.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn expired_tokens_and_bad_token_requests_are_refused() {
    let app = spawn_app().await;
    let created = tokens::create(
        &app.state,
        "admin@demo-msp.test",
        "admin",
        "short",
        Some(chrono::Duration::days(1)),
    )
    .await
    .unwrap();
    app.clock.advance(chrono::Duration::days(2));
    let response = app
        .raw_client()
        .get(format!("http://{}/api/v1/users/me", app.addr))
        .bearer_auth(&created.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    assert!(matches!(
        tokens::create(&app.state, "nobody@x.test", "admin", "t", None).await,
        Err(app::AppError::NotFound { .. })
    ));
    assert!(matches!(
        tokens::create(&app.state, "bob@acme.test", "admin", "t", None).await,
        Err(app::AppError::Forbidden { .. })
    ));
    assert!(matches!(
        tokens::create(&app.state, "not an email", "admin", "t", None).await,
        Err(app::AppError::Validation { .. })
    ));
    assert!(matches!(
        tokens::create(&app.state, "admin@demo-msp.test", "admin", "", None).await,
        Err(app::AppError::Validation { .. })
    ));
    // A tenant-scoped token for a tenant administrator.
    let scoped = tokens::create(&app.state, "owner@acme.test", "acme", "acme script", None)
        .await
        .unwrap();
    let me: serde_json::Value = app
        .raw_client()
        .get(format!("http://{}/api/v1/users/me", app.addr))
        .bearer_auth(&scoped.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["email"], "owner@acme.test");
}

#[tokio::test]
async fn password_reset_link_endpoint() {
    let app = spawn_app().await;
    let support = tokens::create(&app.state, "support@demo-msp.test", "admin", "t", None)
        .await
        .unwrap()
        .token;
    let readonly = tokens::create(&app.state, "readonly@demo-msp.test", "admin", "t", None)
        .await
        .unwrap()
        .token;
    let client = app.raw_client();
    let url = |id: &str| format!("http://{}/api/v1/users/{id}/password-reset-link", app.addr);
    let bob = app.user_id("bob@acme.test").await.to_string();
    let pat = app.user_id("pat@partner.test").await.to_string();
    let acme = app.tenant_id("acme").await.to_string();

    let response = client.post(url(&bob)).bearer_auth(&support).send().await.unwrap();
    assert_eq!(response.status(), 202);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["tenantId"], acme.as_str());

    let cases: Vec<(String, &str, &str, u16, &str)> = vec![
        (url(&bob), readonly.as_str(), "", 403, "forbidden"),
        (url("not-a-uuid"), support.as_str(), "", 404, "not_found"),
        (
            url(&uuid::Uuid::new_v4().to_string()),
            support.as_str(),
            "",
            404,
            "not_found",
        ),
        (url(&bob), support.as_str(), "{not json", 400, "bad_request"),
        (url(&bob), support.as_str(), r#"{"tenantId": "x"}"#, 400, "bad_request"),
        (url(&bob), support.as_str(), r#"{"surprise": 1}"#, 400, "bad_request"),
        (url(&pat), support.as_str(), "", 422, "validation_failed"),
    ];
    for (url, token, body, status, code) in cases {
        let response = client
            .post(&url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{url} {body}");
        let error: serde_json::Value = response.json().await.unwrap();
        assert_eq!(error["error"]["code"], code, "{url} {body}: {error}");
        assert!(error["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let response = client
        .post(url(&pat))
        .bearer_auth(&support)
        .json(&serde_json::json!({ "tenantId": acme }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
}
