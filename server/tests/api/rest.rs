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
    assert_eq!(me["memberships"][0]["role_name"], "Support");
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
