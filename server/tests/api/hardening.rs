//! Hardening that every answer carries: security headers, cookie attributes, a new session
//! token when MFA is passed, and the body size limit.

use crate::helpers::*;
use crate::mfa::enrolled;
use app::api::{GetHostInfo, GetMyAccount, SignIn, VerifyMfa};
use app::server::Clock;
use app::server::services::mfa::code_at;
use app::types::{HostInfo, MfaStep, MyAccount};
use leptos::server_fn::ServerFn;

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = spawn_app().await;
    let client = app.raw_client();
    for (label, path) in [
        ("acme", "/"),
        ("admin", "/users"),
        ("acme", "/api/v1/users/me"),
        ("acme", "/api/docs/"),
        ("acme", "/sso/start"),
    ] {
        let response = client
            .get(format!("http://{}{path}", app.addr))
            .header("host", format!("{label}.{}", app.base_domain))
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        for directive in [
            "default-src 'self'",
            "script-src 'self' 'wasm-unsafe-eval'",
            "style-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{label}{path}: {csp}");
        }
        assert!(!csp.contains("unsafe-inline"), "{label}{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{label}{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{label}{path}");
        assert_eq!(headers["referrer-policy"], "same-origin", "{label}{path}");
    }
}

/// Error pages load nothing and allow only their own stylesheet, by its hash; they, the API's
/// document and docs, and the health answers are never cached; an unknown server-function path
/// is a plain 404.
#[tokio::test]
async fn error_pages_docs_and_health_are_not_cached_and_unknown_api_paths_are_plain_404s() {
    use base64::Engine;
    use sha2::Digest;
    let app = spawn_app().await;
    let client = app.raw_client();
    let get = |label: &str, path: &str| {
        client
            .get(format!("http://{}{path}", app.addr))
            .header("host", format!("{label}.{}", app.base_domain))
            .send()
    };
    for (label, path) in [
        ("nowhere", "/"),
        ("acme", "/healthz"),
        ("acme", "/readyz"),
        ("acme", "/api/v1/openapi.json"),
        ("acme", "/api/docs/"),
        ("acme", "/api/v1/users/me"),
    ] {
        let response = get(label, path).await.unwrap();
        let cache = response
            .headers()
            .get("cache-control")
            .map(|v| v.to_str().unwrap().to_owned());
        assert_eq!(
            cache.as_deref(),
            Some("no-store"),
            "{label}{path}: {:?}",
            response.headers()
        );
    }
    let page = get("nowhere", "/").await.unwrap();
    assert_eq!(page.status(), 404);
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
    let html = page.text().await.unwrap();
    let style = &html[html.find("<style>").unwrap() + 7..html.find("</style>").unwrap()];
    let digest = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(style.as_bytes()));
    assert!(csp.contains(&format!("style-src 'sha256-{digest}'")), "{csp}");
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );

    let unknown = client
        .post(format!("http://{}/api/no_such_function", app.addr))
        .header("host", format!("acme.{}", app.base_domain))
        .header("origin", app.url("acme", ""))
        .form(&[("x", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let body = unknown.text().await.unwrap();
    assert!(!body.to_lowercase().contains("server function"), "{body}");
}

/// The web app's files go out gzipped to browsers that accept it, and those named after their
/// content are kept by the browser for good; the page itself is checked on every load.
#[tokio::test]
async fn web_app_files_are_sent_gzipped_and_content_named_ones_are_cached_for_good() {
    let app = spawn_app().await;
    let wasm = "frontend-0123456789abcdef_bg.wasm";
    let raw = b"\0asm raw module bytes".to_vec();
    let gzipped = b"\x1f\x8b gzipped module bytes".to_vec();
    std::fs::write(app.site.join(wasm), &raw).unwrap();
    std::fs::write(app.site.join(format!("{wasm}.gz")), &gzipped).unwrap();
    let client = app.raw_client();
    let fetch = |path: &str, gzip: bool| {
        let mut request = client
            .get(format!("http://{}{path}", app.addr))
            .header("host", format!("admin.{}", app.base_domain));
        if gzip {
            request = request.header("accept-encoding", "gzip, deflate, br");
        }
        request.send()
    };

    let answer = fetch(&format!("/{wasm}"), true).await.unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-encoding"], "gzip");
    assert_eq!(answer.headers()["content-type"], "application/wasm");
    assert_eq!(answer.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert_eq!(answer.bytes().await.unwrap(), gzipped);

    let answer = fetch(&format!("/{wasm}"), false).await.unwrap();
    assert!(answer.headers().get("content-encoding").is_none());
    assert_eq!(answer.bytes().await.unwrap(), raw);

    for page in ["/", "/users", "/strength-worker_bg.wasm"] {
        let answer = fetch(page, true).await.unwrap();
        assert_eq!(answer.status(), 200, "{page}");
        assert_eq!(answer.headers()["cache-control"], "no-cache", "{page}");
    }
    // A missing content-named file is the app's page, which must not be kept for good.
    let answer = fetch("/frontend-fedcba9876543210_bg.wasm", true).await.unwrap();
    assert_eq!(answer.headers()["cache-control"], "no-cache");
}

#[tokio::test]
async fn passing_mfa_gives_the_session_a_new_token_and_the_old_one_stops_working() {
    let app = spawn_app().await;
    let (_, secret, _) = enrolled(&app, "acme", "bob@acme.test").await;

    let signed_in = post(
        &app,
        "acme",
        SignIn::PATH,
        None,
        &[("identifier", "bob"), ("password", DEMO_PASSWORD)],
    )
    .await;
    let before_mfa = session_cookie(&signed_in).expect("a session before MFA");
    let info: HostInfo = decode(post(&app, "acme", GetHostInfo::PATH, Some(&before_mfa), &[]).await)
        .await
        .unwrap();
    assert_eq!(info.viewer.unwrap().mfa_step, Some(MfaStep::Verify));

    app.clock.advance(chrono::Duration::seconds(31));
    let code = code_at(&secret, app.clock.now());
    let verified = post(&app, "acme", VerifyMfa::PATH, Some(&before_mfa), &[("code", &code)]).await;
    assert_eq!(verified.status().as_u16(), 200);
    let after_mfa = session_cookie(&verified).expect("a new token once MFA is passed");
    assert_ne!(after_mfa, before_mfa);

    let account: MyAccount = decode(post(&app, "acme", GetMyAccount::PATH, Some(&after_mfa), &[]).await)
        .await
        .unwrap();
    assert_eq!(account.profile.email, "bob@acme.test");
    let (status, _) = decode::<MyAccount>(post(&app, "acme", GetMyAccount::PATH, Some(&before_mfa), &[]).await)
        .await
        .unwrap_err();
    assert_eq!(status, 401, "the pre-MFA token is worthless now");
}

#[tokio::test]
async fn cookies_are_http_only_same_site_and_secure_behind_tls() {
    let app = spawn_app_with(|state| {
        let mut config = (*state.config).clone();
        config.public_scheme = "https".into();
        config.secure_cookies = true;
        state.config = std::sync::Arc::new(config);
    })
    .await;
    let response = post(
        &app,
        "acme",
        SignIn::PATH,
        None,
        &[("identifier", "bob"), ("password", DEMO_PASSWORD)],
    )
    .await;
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(cookies.len(), 2, "session and device cookies: {cookies:?}");
    for cookie in cookies {
        assert!(cookie.starts_with("__Host-"), "{cookie}");
        for attribute in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        assert!(!cookie.contains("Domain="), "host-only: {cookie}");
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused_before_anything_runs() {
    let app = spawn_app().await;
    let big = "x".repeat(100 * 1024);
    let response = post(
        &app,
        "acme",
        SignIn::PATH,
        None,
        &[("identifier", "bob"), ("password", &big)],
    )
    .await;
    assert_eq!(response.status().as_u16(), 413);
    let token = api_token(&app, "admin@demo-msp.test", "admin").await;
    let answer = app
        .raw_client()
        .post(format!("http://{}/api/v1/users", app.addr))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(format!("{{\"email\":\"{big}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 413);
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request", "{body}");
}

#[tokio::test]
async fn a_role_change_ends_the_users_sessions_so_the_next_one_has_a_new_token() {
    let app = spawn_app().await;
    let bob = app.browser("acme");
    bob.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap();
    let admin = app.browser("admin");
    admin.sign_in("admin@demo-msp.test", DEMO_PASSWORD).await.unwrap();
    let roles: Vec<app::types::RoleSummary> = admin.call::<app::api::ListRoles, _>(&[]).await.unwrap();
    let administrator = roles
        .iter()
        .find(|r| r.name == "Administrator" && r.builtin)
        .unwrap()
        .id
        .to_string();
    let (bob_id, acme) = (
        app.user_id("bob@acme.test").await.to_string(),
        app.tenant_id("acme").await.to_string(),
    );
    let () = admin
        .call::<app::api::ChangeRole, _>(&[("user_id", &bob_id), ("tenant_id", &acme), ("role_id", &administrator)])
        .await
        .unwrap();
    assert!(
        bob.host_info().await.viewer.is_none(),
        "the old session ended with the old role"
    );
    let viewer = bob.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap();
    assert_eq!(viewer.role_name, "Administrator");
}
