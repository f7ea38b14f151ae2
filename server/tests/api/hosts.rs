use crate::helpers::*;
use app::api::{GetHostInfo, GetMyAccount};
use leptos::server_fn::ServerFn;

#[tokio::test]
async fn health_checks_answer_on_any_host_without_a_session() {
    let app = spawn_app().await;
    let client = app.raw_client();
    for path in ["/healthz", "/readyz"] {
        let response = client.get(format!("http://{}{path}", app.addr)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}

#[tokio::test]
async fn unknown_workspace_is_a_404_page_that_names_no_tenant() {
    let app = spawn_app().await;
    for host in [
        format!("umbrella.{}", app.base_domain),
        app.base_domain.clone(),
        format!("a.b.{}", app.base_domain),
        app.addr.to_string(),
    ] {
        let response = app
            .raw_client()
            .get(format!("http://{}/", app.addr))
            .header("host", &host)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{host}");
        let body = response.text().await.unwrap();
        assert!(body.contains("No such workspace"), "{host}: {body}");
        for name in ["Acme", "Globex", "Demo MSP", "acme", "globex"] {
            assert!(!body.contains(name), "{host} page mentions {name}");
        }
    }
    // Server functions on an unknown host answer JSON 404, not another tenant's data.
    let response = app
        .raw_client()
        .post(format!(
            "http://{}{}",
            app.addr,
            <app::api::GetHostInfo as leptos::server_fn::ServerFn>::PATH
        ))
        .header("host", format!("umbrella.{}", app.base_domain))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn known_hosts_serve_the_app() {
    let app = spawn_app().await;
    for label in ["admin", "acme", "globex"] {
        let response = app
            .browser(label)
            .client
            .get(app.url(label, "/sign-in"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{label}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert!(response.headers().contains_key("x-request-id"));
    }
}

#[tokio::test]
async fn malformed_host_headers_are_bad_requests() {
    let app = spawn_app().await;
    let cases: [&[u8]; 5] = [
        b"GET / HTTP/1.1\r\nHost: acme.localhost:1/x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: ac me.localhost\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: acme.localhost:abc\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: \xff\xfe.localhost\r\n\r\n",
        b"GET / HTTP/1.0\r\n\r\n",
    ];
    for request in cases {
        assert_eq!(
            raw_http(app.addr, request).await,
            400,
            "{}",
            String::from_utf8_lossy(request)
        );
    }
}

/// A request names its workspace once: two Host headers, or an absolute-form target naming
/// another authority, are refused rather than resolved one way here and another in a proxy.
#[tokio::test]
async fn requests_naming_two_hosts_are_refused() {
    let app = spawn_app().await;
    let base = &app.base_domain;
    let port = app.addr.port();
    let cases = [
        format!("GET /sign-in HTTP/1.1\r\nHost: acme.{base}\r\nHost: globex.{base}\r\n\r\n"),
        format!("GET /sign-in HTTP/1.1\r\nHost: acme.{base}\r\nHost: acme.{base}\r\n\r\n"),
        format!("GET http://globex.localhost:{port}/sign-in HTTP/1.1\r\nHost: acme.{base}\r\n\r\n"),
        format!("GET http://globex.localhost:{port}/api/v1/users/me HTTP/1.1\r\nHost: acme.{base}\r\n\r\n"),
    ];
    for request in &cases {
        assert_eq!(raw_http(app.addr, request.as_bytes()).await, 400, "{request:?}");
    }
    // The same target with its own Host is fine.
    let agreed = format!("GET http://acme.localhost:{port}/sign-in HTTP/1.1\r\nHost: acme.{base}\r\n\r\n");
    assert_eq!(raw_http(app.addr, agreed.as_bytes()).await, 200);
}

#[tokio::test]
async fn an_acme_session_is_worthless_on_other_hosts() {
    let app = spawn_app().await;
    let acme = app.browser("acme");
    let response = acme
        .client
        .post(format!(
            "{}{}",
            acme.origin,
            <app::api::SignIn as leptos::server_fn::ServerFn>::PATH
        ))
        .form(&[("identifier", "pat@partner.test"), ("password", DEMO_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ");
    // Pat belongs to globex too, so the replayed cookie would be worth something if the server
    // did not bind sessions to their host.
    for label in ["globex", "admin"] {
        let info = call_with_cookie::<GetHostInfo>(&app, label, &cookie).await;
        let info: app::types::HostInfo = decode(info).await.unwrap();
        assert!(info.viewer.is_none(), "{label} accepted an acme session");
        let account = call_with_cookie::<GetMyAccount>(&app, label, &cookie).await;
        assert_eq!(account.status(), 401, "{label}");
    }
    // Still good where it was made.
    let account = call_with_cookie::<GetMyAccount>(&app, "acme", &cookie).await;
    assert_eq!(account.status(), 200);
}

/// Calls server function `F` on the host `label` with a hand-made Cookie header.
async fn call_with_cookie<F: ServerFn>(app: &TestApp, label: &str, cookie: &str) -> reqwest::Response {
    app.raw_client()
        .post(format!("http://{}{}", app.addr, F::PATH))
        .header("host", format!("{label}.{}", app.base_domain))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_unreachable_database_answers_503_that_says_to_retry() {
    let app = spawn_app().await;
    let token = api_token(&app, "admin@demo-msp.test", "admin").await;
    let browser = app.browser("acme");
    // The pool closed is what a database that went away looks like to a request.
    app.state.db.close_by_ref().await.unwrap();

    let ready = app
        .raw_client()
        .get(format!("http://{}/readyz", app.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable");

    let answer = api_call(&app, reqwest::Method::GET, &token, "/users/me", None).await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.headers["retry-after"], "5");
    assert_eq!(answer.body["error"]["code"], "unavailable");
    assert!(
        answer.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cannot reach its database")
    );

    let (status, error) = browser.sign_in("bob@acme.test", "whatever").await.unwrap_err();
    assert_eq!(status, 503);
    assert!(matches!(error, app::AppError::Unavailable { .. }), "{error:?}");
}
