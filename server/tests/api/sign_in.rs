use crate::helpers::*;
use app::AuthFailure;
use app::server::entities::{memberships, security_events, sessions, sign_in_throttles, users};
use chrono::Duration;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};

fn reason(error: &app::AppError) -> Option<AuthFailure> {
    match error {
        app::AppError::Unauthenticated { reason, .. } => Some(*reason),
        _ => None,
    }
}

#[tokio::test]
async fn signs_in_by_email_or_username_and_gets_a_host_only_session() {
    let app = spawn_app().await;
    let acme = app.browser("acme");
    let viewer = acme
        .sign_in("  Bob@ACME.test ", DEMO_PASSWORD)
        .await
        .expect("sign in by email");
    assert_eq!(viewer.email, "bob@acme.test");
    assert_eq!(
        acme.host_info().await.viewer.map(|v| v.email).as_deref(),
        Some("bob@acme.test")
    );

    let other = app.browser("acme");
    let response = other
        .client
        .post(format!(
            "{}{}",
            other.origin,
            <app::api::SignIn as leptos::server_fn::ServerFn>::PATH
        ))
        .form(&[("identifier", "alice"), ("password", DEMO_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookies: Vec<String> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("lk_session="))
        .expect("session cookie");
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"));
    assert!(
        !session.to_lowercase().contains("domain="),
        "session cookie must be host-only"
    );
    assert!(cookies.iter().any(|c| c.starts_with("lk_device=")));
    // The table holds only the token's hash.
    let token = session.trim_start_matches("lk_session=").split(';').next().unwrap();
    let rows = sessions::Entity::find().all(&app.state.db).await.unwrap();
    assert!(rows.iter().all(|s| s.token_hash != token && s.token_hash.len() == 64));
}

#[tokio::test]
async fn wrong_password_is_generic_and_carries_a_support_reference() {
    let app = spawn_app().await;
    let acme = app.browser("acme");
    let (status, error) = acme.sign_in("bob@acme.test", "not the password").await.unwrap_err();
    assert_eq!(status, 401);
    assert_eq!(error.message(), "Invalid username or password");
    let reference = error.reference().expect("support reference").to_owned();
    let event = security_events::Entity::find()
        .filter(security_events::Column::Reference.eq(reference.clone()))
        .one(&app.state.db)
        .await
        .unwrap()
        .expect("event behind the reference");
    assert_eq!(event.event_type, "login_failed");
    assert!(event.user_id.is_some());

    // An unknown identifier gets the very same answer.
    let (status, unknown) = acme.sign_in("nobody@acme.test", "not the password").await.unwrap_err();
    assert_eq!(status, 401);
    assert_eq!(unknown.message(), error.message());
    assert_ne!(unknown.reference(), Some(reference.as_str()));
}

#[tokio::test]
async fn five_failures_lock_for_fifteen_minutes_then_thirty() {
    let app = spawn_app().await;
    let acme = app.browser("acme");
    for attempt in 1..=5 {
        let (_, error) = acme.sign_in("bob@acme.test", "wrong password!").await.unwrap_err();
        let expected = if attempt < 5 {
            AuthFailure::InvalidCredentials
        } else {
            AuthFailure::Locked
        };
        assert_eq!(reason(&error), Some(expected), "attempt {attempt}");
    }
    let (status, error) = acme.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap_err();
    assert_eq!(status, 423);
    assert_eq!(error.message(), "Your account is locked. Contact your administrator.");
    let locks = security_events::Entity::find()
        .filter(security_events::Column::EventType.eq("account_lock"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(locks.len(), 1);

    app.clock.advance(Duration::minutes(14));
    assert!(acme.sign_in("bob@acme.test", DEMO_PASSWORD).await.is_err());
    app.clock.advance(Duration::minutes(2));
    // Unlocked; five more failures lock again, now for 30 minutes (the doubling has not been
    // reset because no sign-in succeeded).
    for _ in 0..5 {
        let _ = acme.sign_in("bob@acme.test", "wrong password!").await;
    }
    app.clock.advance(Duration::minutes(20));
    assert_eq!(
        reason(&acme.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap_err().1),
        Some(AuthFailure::Locked)
    );
    app.clock.advance(Duration::minutes(11));
    acme.sign_in("bob@acme.test", DEMO_PASSWORD)
        .await
        .expect("unlocked after 30 minutes");
}

#[tokio::test]
async fn unknown_identifiers_lock_the_same_way() {
    let app = spawn_app().await;
    let acme = app.browser("acme");
    for _ in 0..5 {
        let _ = acme.sign_in("ghost@acme.test", "whatever password").await;
    }
    let (status, unknown) = acme.sign_in("ghost@acme.test", "whatever password").await.unwrap_err();
    for _ in 0..5 {
        let _ = acme.sign_in("bob@acme.test", "whatever password").await;
    }
    let (known_status, known) = acme.sign_in("bob@acme.test", "whatever password").await.unwrap_err();
    assert_eq!((status, unknown.message()), (known_status, known.message()));
    assert_eq!(reason(&unknown), Some(AuthFailure::Locked));
}

#[tokio::test]
async fn fifty_parallel_guesses_get_exactly_five_tries() {
    let app = spawn_app().await;
    let acme = std::sync::Arc::new(app.browser("acme"));
    let attempts: Vec<_> = (0..50)
        .map(|_| {
            let acme = acme.clone();
            tokio::spawn(async move { acme.sign_in("bob@acme.test", "parallel guess!").await.unwrap_err() })
        })
        .collect();
    let mut invalid = 0;
    let mut locked = 0;
    for attempt in attempts {
        match reason(&attempt.await.unwrap().1) {
            Some(AuthFailure::InvalidCredentials) => invalid += 1,
            Some(AuthFailure::Locked) => locked += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    // Four plain failures, the fifth locks, the other 45 never reach the password check.
    assert_eq!((invalid, locked), (4, 46));
    let verified = security_events::Entity::find()
        .filter(security_events::Column::EventType.eq("account_lock"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(verified.len(), 1);
}

#[tokio::test]
async fn parallel_correct_sign_ins_all_succeed() {
    let app = spawn_app().await;
    let acme = std::sync::Arc::new(app.browser("acme"));
    let attempts: Vec<_> = (0..12)
        .map(|_| {
            let acme = acme.clone();
            tokio::spawn(async move { acme.sign_in("bob@acme.test", DEMO_PASSWORD).await })
        })
        .collect();
    for attempt in attempts {
        attempt.await.unwrap().expect("every correct sign-in succeeds");
    }
    let row = sign_in_throttles::Entity::find()
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((row.failures, row.in_flight), (0, 0));
}

#[tokio::test]
async fn a_strangers_failures_do_not_lock_the_users_own_browser() {
    let app = spawn_app().await;
    let own = app.browser("acme");
    own.sign_in("bob@acme.test", DEMO_PASSWORD)
        .await
        .expect("first sign-in gives a device cookie");
    let stranger = app.browser("acme");
    for _ in 0..6 {
        let _ = stranger.sign_in("bob@acme.test", "attacker guess").await;
    }
    assert_eq!(
        reason(&stranger.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap_err().1),
        Some(AuthFailure::Locked)
    );
    own.sign_in("bob@acme.test", DEMO_PASSWORD)
        .await
        .expect("trusted browser still signs in");
    // Its own typos are counted on its own counter.
    for _ in 0..5 {
        let _ = own.sign_in("bob@acme.test", "my own typo!!").await;
    }
    assert_eq!(
        reason(&own.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap_err().1),
        Some(AuthFailure::Locked)
    );
}

#[tokio::test]
async fn status_messages_only_after_a_correct_password() {
    let app = spawn_app().await;
    let acme = app.browser("acme");
    let (status, error) = acme.sign_in("frank@acme.test", DEMO_PASSWORD).await.unwrap_err();
    assert_eq!((status, error.message()), (403, "This account is disabled"));
    let (_, error) = acme.sign_in("frank@acme.test", "wrong password!").await.unwrap_err();
    assert_eq!(error.message(), "Invalid username or password");

    let (status, error) = acme.sign_in("dave@acme.test", DEMO_PASSWORD).await.unwrap_err();
    assert_eq!(
        (status, error.message()),
        (423, "Your account is locked. Contact your administrator.")
    );

    // Pending: invited, no password yet.
    let (_, error) = acme.sign_in("carol@acme.test", DEMO_PASSWORD).await.unwrap_err();
    assert_eq!(error.message(), "Invalid username or password");

    let globex = app.browser("globex");
    let (status, error) = globex.sign_in("admin@globex.test", DEMO_PASSWORD).await.unwrap_err();
    assert_eq!((status, error.message()), (403, "This account signs in with SSO"));
    let (_, error) = globex
        .sign_in("admin@globex.test", "wrong password!")
        .await
        .unwrap_err();
    assert_eq!(error.message(), "Invalid username or password");
}

#[tokio::test]
async fn wrong_host_help_only_after_a_correct_password() {
    let app = spawn_app().await;
    let admin = app.browser("admin");
    let (status, error) = admin.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap_err();
    assert_eq!(status, 403);
    let expected = app.url("acme", "");
    assert!(
        matches!(&error, app::AppError::Unauthenticated { sign_in_url: Some(url), .. } if *url == expected),
        "{error:?}"
    );
    assert!(error.message().contains(&expected));
    let (_, error) = admin.sign_in("bob@acme.test", "wrong password!").await.unwrap_err();
    assert_eq!(error.message(), "Invalid username or password");

    admin
        .sign_in("admin@demo-msp.test", DEMO_PASSWORD)
        .await
        .expect("admin signs in on admin");
    let acme = app.browser("acme");
    let (_, error) = acme.sign_in("admin@demo-msp.test", DEMO_PASSWORD).await.unwrap_err();
    assert_eq!(reason(&error), Some(AuthFailure::WrongHost));
}

#[tokio::test]
async fn sessions_expire_when_idle_and_absolutely() {
    let app = spawn_app().await;
    let acme = app.browser("acme");
    acme.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap();
    app.clock.advance(Duration::minutes(29));
    assert!(
        acme.host_info().await.viewer.is_some(),
        "activity keeps the session alive"
    );
    app.clock.advance(Duration::minutes(31));
    let info = acme.host_info().await;
    assert!(info.viewer.is_none());
    assert_eq!(
        info.notice.as_deref(),
        Some("Your session expired. Please sign in again.")
    );
    let expired = security_events::Entity::find()
        .filter(security_events::Column::EventType.eq("session_expired"))
        .all(&app.state.db)
        .await
        .unwrap();
    assert_eq!(expired.len(), 1);

    acme.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap();
    for _ in 0..30 {
        app.clock.advance(Duration::minutes(25));
        if acme.host_info().await.viewer.is_none() {
            break;
        }
    }
    let info = acme.host_info().await;
    assert!(info.viewer.is_none(), "no session outlives 12 hours");
}

#[tokio::test]
async fn a_disabled_membership_ends_its_sessions() {
    let app = spawn_app().await;
    let acme = app.browser("acme");
    acme.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap();
    let bob = users::Entity::find()
        .filter(users::Column::Email.eq("bob@acme.test"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let membership = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(bob.id))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut active: memberships::ActiveModel = membership.into();
    active.status = Set("disabled".into());
    active.update(&app.state.db).await.unwrap();
    assert!(acme.host_info().await.viewer.is_none());
}

#[tokio::test]
async fn old_hash_parameters_are_upgraded_at_sign_in() {
    use argon2::PasswordHasher as _;
    let app = spawn_app().await;
    let old = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(4096, 1, 1, None).unwrap(),
    )
    .hash_password(DEMO_PASSWORD.as_bytes())
    .unwrap()
    .to_string();
    let bob = users::Entity::find()
        .filter(users::Column::Email.eq("bob@acme.test"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut active: users::ActiveModel = bob.clone().into();
    active.password_hash = Set(Some(old));
    active.update(&app.state.db).await.unwrap();
    app.browser("acme")
        .sign_in("bob@acme.test", DEMO_PASSWORD)
        .await
        .expect("old hash still verifies");
    let bob = users::Entity::find_by_id(bob.id)
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    assert!(
        bob.password_hash
            .unwrap()
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let acme = app.browser("acme");
    let before = (
        app.count(security_events::Entity).await,
        app.count(sign_in_throttles::Entity).await,
        app.count(sessions::Entity).await,
    );
    let long_password = "x".repeat(129);
    let long_identifier = format!("{}@acme.test", "a".repeat(250));
    let cases: [(&str, &str, &str); 6] = [
        ("", DEMO_PASSWORD, "identifier"),
        ("   ", DEMO_PASSWORD, "identifier"),
        ("bob@acme.test", "", "password"),
        ("bob@acme.test", &long_password, "password"),
        (&long_identifier, DEMO_PASSWORD, "identifier"),
        ("bob\u{0}@acme.test", DEMO_PASSWORD, "identifier"),
    ];
    for (identifier, password, field) in cases {
        let (status, error) = acme.sign_in(identifier, password).await.unwrap_err();
        assert_eq!(status, 422, "{identifier:?}");
        assert!(!error.field_messages(field).is_empty(), "{field}: {error:?}");
    }
    // Missing field, invalid UTF-8, and a body over the limit.
    let path = format!(
        "{}{}",
        acme.origin,
        <app::api::SignIn as leptos::server_fn::ServerFn>::PATH
    );
    let missing = acme
        .client
        .post(&path)
        .form(&[("identifier", "bob")])
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 400);
    let bad_utf8 = acme
        .client
        .post(&path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(b"identifier=%FF%FE&password=abcdefghijklm".to_vec())
        .send()
        .await
        .unwrap();
    assert!(matches!(bad_utf8.status().as_u16(), 400 | 422), "{}", bad_utf8.status());
    let huge = acme
        .client
        .post(&path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("identifier=bob&password={}", "a".repeat(200_000)))
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), 413);
    let body: app::AppError = huge.json().await.unwrap();
    assert!(body.message().contains("larger than"), "{body:?}");
    let after = (
        app.count(security_events::Entity).await,
        app.count(sign_in_throttles::Entity).await,
        app.count(sessions::Entity).await,
    );
    assert_eq!(before, after, "refused input wrote nothing");
}

/// One failure budget per account: its email and username, on every host, spend the same five
/// guesses; an unknown identifier has a budget of its own and the same answers.
#[tokio::test]
async fn one_failure_budget_per_account_whichever_identifier_and_host() {
    let app = spawn_app().await;
    app.use_passwords("globex").await;
    let guesses = [
        ("acme", "pat@partner.test"),
        ("globex", "pat"),
        ("admin", "PAT@partner.test"),
        ("acme", "pat"),
    ];
    for (host, identifier) in guesses {
        let (status, error) = app
            .browser(host)
            .sign_in(identifier, "wrong password!")
            .await
            .unwrap_err();
        assert_eq!(
            (status, reason(&error)),
            (401, Some(AuthFailure::InvalidCredentials)),
            "{host} {identifier}"
        );
    }
    let (_, error) = app
        .browser("globex")
        .sign_in("pat@partner.test", "wrong password!")
        .await
        .unwrap_err();
    assert_eq!(
        reason(&error),
        Some(AuthFailure::Locked),
        "the fifth guess, on any host, locks"
    );
    for host in ["acme", "globex"] {
        for identifier in ["pat", "pat@partner.test"] {
            let (status, error) = app.browser(host).sign_in(identifier, DEMO_PASSWORD).await.unwrap_err();
            assert_eq!(
                (status, reason(&error)),
                (423, Some(AuthFailure::Locked)),
                "{host} {identifier}"
            );
        }
    }
    // Unknown identifiers: the same answers, and a budget of their own across hosts.
    for (attempt, host) in ["acme", "globex", "admin", "acme", "globex"].into_iter().enumerate() {
        let (_, error) = app
            .browser(host)
            .sign_in("ghost@nowhere.test", "wrong password!")
            .await
            .unwrap_err();
        let expected = if attempt < 4 {
            AuthFailure::InvalidCredentials
        } else {
            AuthFailure::Locked
        };
        assert_eq!(reason(&error), Some(expected), "{attempt} {host}");
    }
    app.browser("acme")
        .sign_in("bob", DEMO_PASSWORD)
        .await
        .expect("another account is untouched");
}

/// Every prompt for the current password spends the same budget: five wrong answers to Change
/// password lock the account for sign-in everywhere, each written as a Login Failed event.
#[tokio::test]
async fn every_password_recheck_spends_the_sign_in_budget() {
    let app = spawn_app().await;
    let bob = app.browser("acme");
    bob.sign_in("bob", DEMO_PASSWORD).await.unwrap();
    for attempt in 1..=5 {
        let answer = bob
            .call::<app::api::ChangeMyPassword, ()>(&[
                ("current", "not my password at all"),
                ("password", "lantern quartz meadow 77"),
                ("confirm", "lantern quartz meadow 77"),
            ])
            .await
            .unwrap_err();
        let expected = if attempt < 5 { 422 } else { 403 };
        assert_eq!(answer.0, expected, "attempt {attempt}: {:?}", answer.1);
    }
    let (status, error) = app
        .browser("acme")
        .sign_in("bob@acme.test", DEMO_PASSWORD)
        .await
        .unwrap_err();
    assert_eq!((status, reason(&error)), (423, Some(AuthFailure::Locked)));
    let failures = security_events::Entity::find()
        .filter(security_events::Column::EventType.eq("login_failed"))
        .all(&app.state.db)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.detail.as_ref().is_some_and(|d| d["context"] == "change_password"))
        .count();
    assert_eq!(failures, 5);
    // The lock holds the prompt too, even with the right password.
    let (status, _) = bob
        .call::<app::api::ChangeMyPassword, ()>(&[
            ("current", DEMO_PASSWORD),
            ("password", "lantern quartz meadow 77"),
            ("confirm", "lantern quartz meadow 77"),
        ])
        .await
        .unwrap_err();
    assert_eq!(status, 403);
}
