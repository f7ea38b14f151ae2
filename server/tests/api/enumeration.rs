//! No account enumeration: the public pages answer an existing and an unknown account the same
//! way — status, body, header names and cookies — apart from values that are random for every
//! answer (support references, request ids). Timing is measured by `bench/enumeration`.

use crate::helpers::{DEMO_PASSWORD, TestApp, spawn_app};
use app::api::{AcceptInvite, GetInvite, RequestPasswordReset, SignIn, VerifyResetCode};
use leptos::server_fn::ServerFn;
use sea_orm::EntityTrait;

/// What an observer can compare between two answers.
#[derive(Debug, PartialEq)]
struct Shape {
    status: u16,
    body: String,
    headers: Vec<String>,
    cookies: Vec<String>,
}

/// `Ref 7F3K-Q2M9` → `Ref …`: a support reference is random for every event.
fn mask_references(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("Ref ") {
        out.push_str(&rest[..at + 4]);
        let after = &rest[at + 4..];
        let code: String = after.chars().take(9).collect();
        let is_reference = code.len() == 9
            && code
                .chars()
                .enumerate()
                .all(|(i, c)| if i == 4 { c == '-' } else { c.is_ascii_alphanumeric() });
        if is_reference {
            out.push('…');
            rest = &after[9..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Masks what differs on every call: references (`7F3K-Q2M9`), request ids, dates.
fn mask(body: &str) -> String {
    let value: serde_json::Value = serde_json::from_str(body).unwrap_or(serde_json::Value::String(body.into()));
    fn walk(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    if matches!(key.as_str(), "reference" | "requestId" | "request_id") {
                        *value = serde_json::Value::String("…".into());
                    } else {
                        walk(value);
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter_mut().for_each(walk),
            serde_json::Value::String(text) => *text = mask_references(text),
            _ => {}
        }
    }
    let mut value = value;
    walk(&mut value);
    value.to_string()
}

async fn shape_of(app: &TestApp, label: &str, path: &str, form: &[(&str, &str)]) -> Shape {
    let response = app
        .raw_client()
        .post(format!("http://{}{path}", app.addr))
        .header("host", format!("{label}.{}", app.base_domain))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let mut headers: Vec<String> = response
        .headers()
        .keys()
        .map(|k| k.as_str().to_owned())
        .filter(|k| k != "date" && k != "x-request-id")
        .collect();
    headers.sort();
    let mut cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(|c| c.split('=').next().unwrap_or_default().to_owned())
        .collect();
    cookies.sort();
    let body = mask(&response.text().await.unwrap());
    Shape {
        status,
        body,
        headers,
        cookies,
    }
}

#[tokio::test]
async fn sign_in_answers_known_and_unknown_accounts_alike_even_when_locked() {
    let app = spawn_app().await;
    let path = SignIn::PATH;
    for round in 1..=6 {
        let known = shape_of(
            &app,
            "acme",
            path,
            &[("identifier", "bob@acme.test"), ("password", "Wrong-password-2026")],
        )
        .await;
        let unknown = shape_of(
            &app,
            "acme",
            path,
            &[("identifier", "ghost@acme.test"), ("password", "Wrong-password-2026")],
        )
        .await;
        assert_eq!(known, unknown, "attempt {round}");
        let expected = if round < 5 {
            "Invalid username or password"
        } else {
            "Your account is locked"
        };
        assert!(known.body.contains(expected), "attempt {round}: {}", known.body);
    }
    // A correct password for a member of another workspace says where to go: only after the
    // password was right, so it reveals nothing a guesser does not already hold.
    let elsewhere = shape_of(
        &app,
        "globex",
        path,
        &[("identifier", "owner@acme.test"), ("password", DEMO_PASSWORD)],
    )
    .await;
    assert!(elsewhere.body.contains("Sign in at"), "{}", elsewhere.body);
    let guess = shape_of(
        &app,
        "globex",
        path,
        &[("identifier", "owner@acme.test"), ("password", "Wrong-password-2026")],
    )
    .await;
    let nobody = shape_of(
        &app,
        "globex",
        path,
        &[("identifier", "nobody@acme.test"), ("password", "Wrong-password-2026")],
    )
    .await;
    assert_eq!(guess, nobody);
}

#[tokio::test]
async fn recovery_answers_known_and_unknown_accounts_alike() {
    let app = spawn_app().await;
    for round in ["first request", "resend too soon"] {
        let known = shape_of(
            &app,
            "acme",
            RequestPasswordReset::PATH,
            &[("identifier", "bob@acme.test")],
        )
        .await;
        let unknown = shape_of(
            &app,
            "acme",
            RequestPasswordReset::PATH,
            &[("identifier", "ghost@acme.test")],
        )
        .await;
        assert_eq!(known, unknown, "{round}");
    }
    // A disabled or pending account answers like any other.
    let pending = shape_of(
        &app,
        "acme",
        RequestPasswordReset::PATH,
        &[("identifier", "carol@acme.test")],
    )
    .await;
    let nobody = shape_of(
        &app,
        "acme",
        RequestPasswordReset::PATH,
        &[("identifier", "nobody@acme.test")],
    )
    .await;
    assert_eq!(pending, nobody);
    // Every state of a code, run to its end, answers alike: wrong, out of tries, expired,
    // replaced by a newer one. Bob's code is sent; the ghost never had one.
    app::server::services::recovery::handle_reset_requests(&app.state, 10)
        .await
        .unwrap();
    let compare = |round: String| {
        let app = &app;
        async move {
            for code in ["000000", "123456"] {
                let known = shape_of(
                    app,
                    "acme",
                    VerifyResetCode::PATH,
                    &[("identifier", "bob@acme.test"), ("code", code)],
                )
                .await;
                let unknown = shape_of(
                    app,
                    "acme",
                    VerifyResetCode::PATH,
                    &[("identifier", "ghost@acme.test"), ("code", code)],
                )
                .await;
                assert_eq!(known, unknown, "{round}, code {code}");
                assert_eq!(known.status, 422, "{round}");
            }
        }
    };
    for round in 1..=4 {
        compare(format!("wrong codes, round {round}")).await;
    }
    compare("out of tries".into()).await;
    app.clock.advance(chrono::Duration::minutes(11));
    compare("expired".into()).await;
    for identifier in ["bob@acme.test", "ghost@acme.test"] {
        shape_of(&app, "acme", RequestPasswordReset::PATH, &[("identifier", identifier)]).await;
    }
    app::server::services::recovery::handle_reset_requests(&app.state, 10)
        .await
        .unwrap();
    compare("a newer code was sent".into()).await;
    let states: Vec<String> = app::server::entities::security_events::Entity::find()
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| e.detail.and_then(|d| d["state"].as_str().map(str::to_owned)))
        .collect();
    for state in ["wrong", "too_many_wrong_codes", "expired", "unknown_account"] {
        assert!(states.iter().any(|s| s == state), "the admins see {state}: {states:?}");
    }
}

#[tokio::test]
async fn invite_and_access_links_answer_alike_whoever_they_were_for() {
    let app = spawn_app().await;
    // A real access link for carol, used on the wrong host, and made-up tokens: one answer.
    let admin = app.actor("admin@demo-msp.test", "admin").await;
    let carol = app.user_id("carol@acme.test").await;
    let acme = app.tenant_id("acme").await;
    let link = app::server::services::invites::access_link(&app.state, &admin, &Default::default(), carol, acme)
        .await
        .unwrap();
    let real = link.url.rsplit("token=").next().unwrap().to_owned();
    let made_up = "A".repeat(real.len());
    for (path, extra) in [
        (GetInvite::PATH, vec![]),
        (
            AcceptInvite::PATH,
            vec![("password", "A-new-password-2026"), ("confirm", "A-new-password-2026")],
        ),
    ] {
        let mut foreign = vec![("token", real.as_str())];
        foreign.extend(extra.iter().copied());
        let mut unknown = vec![("token", made_up.as_str())];
        unknown.extend(extra.iter().copied());
        let foreign = shape_of(&app, "globex", path, &foreign).await;
        let unknown = shape_of(&app, "globex", path, &unknown).await;
        assert_eq!(foreign, unknown, "{path}");
        assert!((400..500).contains(&foreign.status), "{path}: {foreign:?}");
    }
    // The real link still works on its own host.
    let info = shape_of(&app, "acme", GetInvite::PATH, &[("token", real.as_str())]).await;
    assert_eq!(info.status, 200, "{info:?}");
}
