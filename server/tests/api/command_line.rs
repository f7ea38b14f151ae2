//! The operator's command line: the first administrator of a database, and break-glass for
//! one locked out of the console. Each change is audited with no acting user.

use crate::helpers::*;
use crate::mfa::enrolled;
use app::api::{AcceptInvite, CompletePasswordReset};
use app::server::entities::{audit_log, mfa_factors};
use app::server::services::command_line;
use app::types::MfaStep;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

const CHOSEN: &str = "granite-harbour-lantern-42";

fn token_of(url: &str) -> &str {
    url.split("#token=").nth(1).expect("a token in the fragment")
}

/// Every audit row of `action` was written from the command line, with no acting user.
async fn audited_from_command_line(app: &TestApp, action: &str) -> usize {
    let rows = audit_log::Entity::find()
        .filter(audit_log::Column::Action.eq(action))
        .all(&app.state.db)
        .await
        .unwrap();
    assert!(
        rows.iter()
            .all(|r| r.actor_user_id.is_none() && r.after.as_ref().unwrap()["via"] == "command_line"),
        "{rows:?}"
    );
    rows.len()
}

#[tokio::test]
async fn the_first_administrator_chooses_a_password_from_a_printed_link_then_sets_up_mfa() {
    let app = spawn_app().await;
    let link = command_line::create_operator_admin(&app.state, " First@Ops.test ", Some("First Admin"))
        .await
        .unwrap();
    assert_eq!(link.email, "first@ops.test");
    assert!(
        link.url.starts_with(&app.url("admin", "/accept-invite#token=")),
        "{}",
        link.url
    );
    let admin = app.browser("admin");
    admin
        .call::<AcceptInvite, ()>(&[
            ("token", token_of(&link.url)),
            ("password", CHOSEN),
            ("confirm", CHOSEN),
        ])
        .await
        .unwrap();
    let viewer = app.browser("admin").sign_in("first@ops.test", CHOSEN).await.unwrap();
    assert_eq!(
        viewer.mfa_step,
        Some(MfaStep::Enroll),
        "MFA comes right after the password"
    );
    assert_eq!(audited_from_command_line(&app, "user.created").await, 1);
    assert!(command_line::has_operator_admin(&app.state.db).await.unwrap());

    // The link works once; bad input and a taken address change nothing.
    let (status, _) = admin
        .call::<AcceptInvite, ()>(&[
            ("token", token_of(&link.url)),
            ("password", CHOSEN),
            ("confirm", CHOSEN),
        ])
        .await
        .unwrap_err();
    assert_eq!(status, 422);
    for (email, name, code) in [
        ("first@ops.test", None, "conflict"),
        ("bob@acme.test", None, "conflict"),
        ("not an email", None, "validation_failed"),
        ("second@ops.test", Some("bad\u{202e}name"), "validation_failed"),
        ("second@ops.test", Some(""), "validation_failed"),
    ] {
        let error = command_line::create_operator_admin(&app.state, email, name)
            .await
            .unwrap_err();
        assert_eq!(error.code(), code, "{email} {name:?}");
    }
    assert_eq!(audited_from_command_line(&app, "user.created").await, 1);
}

#[tokio::test]
async fn a_locked_out_administrator_is_unlocked_reset_and_given_a_password_link() {
    let app = spawn_app().await;
    let (_, _, _) = enrolled(&app, "admin", "ada").await;
    for _ in 0..5 {
        app.browser("admin")
            .sign_in("ada", "wrong password!")
            .await
            .unwrap_err();
    }
    let (status, _) = app.browser("admin").sign_in("ada", DEMO_PASSWORD).await.unwrap_err();
    assert_eq!(status, 423, "locked by wrong passwords");

    let said = command_line::unlock(&app.state, "admin@demo-msp.test", None)
        .await
        .unwrap();
    assert!(said.contains("may sign in"), "{said}");
    let viewer = app.browser("admin").sign_in("ada", DEMO_PASSWORD).await.unwrap();
    assert_eq!(viewer.mfa_step, Some(MfaStep::Verify));

    command_line::reset_mfa(&app.state, "admin@demo-msp.test", None)
        .await
        .unwrap();
    assert_eq!(app.count(mfa_factors::Entity).await, 0);
    let viewer = app.browser("admin").sign_in("ada", DEMO_PASSWORD).await.unwrap();
    assert_eq!(
        viewer.mfa_step,
        Some(MfaStep::Enroll),
        "re-enrolls although MFA is not enforced"
    );

    let link = command_line::reset_link(&app.state, "admin@demo-msp.test", None)
        .await
        .unwrap();
    assert!(
        link.url.starts_with(&app.url("admin", "/set-password#token=")),
        "{}",
        link.url
    );
    app.browser("admin")
        .call::<CompletePasswordReset, ()>(&[
            ("token", token_of(&link.url)),
            ("password", CHOSEN),
            ("confirm", CHOSEN),
        ])
        .await
        .unwrap();
    app.browser("admin").sign_in("ada", CHOSEN).await.unwrap();

    // A workspace is named by its slug; nobody and nowhere are refused.
    command_line::unlock(&app.state, "bob@acme.test", Some("acme"))
        .await
        .unwrap();
    for (email, tenant) in [
        ("bob@acme.test", None),
        ("nobody@acme.test", Some("acme")),
        ("bob@acme.test", Some("no-such-place")),
    ] {
        let error = command_line::unlock(&app.state, email, tenant).await.unwrap_err();
        assert_eq!(error.code(), "not_found", "{email} {tenant:?}");
    }
    let error = command_line::reset_link(&app.state, "frank@acme.test", Some("acme"))
        .await
        .unwrap_err();
    assert_eq!(error.code(), "conflict", "a disabled account gets no link");
    for action in ["user.unlocked", "user.mfa_reset", "user.password_reset_link_sent"] {
        assert!(audited_from_command_line(&app, action).await >= 1, "{action}");
    }
}
