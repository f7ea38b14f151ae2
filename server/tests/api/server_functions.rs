//! Every server function, called over HTTP at its registered path.

use crate::helpers::*;
use app::api::{GetHostInfo, GetMyAccount, RevokeMySession, SignIn, SignOut};
use app::types::{HostInfo, MyAccount, RealmKind, Viewer};

#[tokio::test]
async fn every_server_function_answers_over_http() {
    let app = spawn_app().await;
    let acme = app.browser("acme");

    let info: HostInfo = acme.call::<GetHostInfo, _>(&[]).await.unwrap();
    assert_eq!(
        (info.realm.kind, info.realm.name.as_str(), info.viewer),
        (RealmKind::Tenant, "Acme Corp", None)
    );

    let (status, _) = acme.call::<GetMyAccount, MyAccount>(&[]).await.unwrap_err();
    assert_eq!(status, 401);

    let viewer: Viewer = acme
        .call::<SignIn, _>(&[("identifier", "bob"), ("password", DEMO_PASSWORD)])
        .await
        .unwrap();
    assert_eq!(viewer.display_name, "Bob Builder");

    let other_browser = app.browser("acme");
    other_browser.sign_in("bob@acme.test", DEMO_PASSWORD).await.unwrap();

    let account: MyAccount = acme.call::<GetMyAccount, _>(&[]).await.unwrap();
    assert_eq!(account.profile.email, "bob@acme.test");
    assert_eq!(account.profile.memberships.len(), 1);
    assert_eq!(account.sessions.len(), 2);
    let other = account.sessions.iter().find(|s| !s.current).unwrap().id.to_string();

    let _: () = acme
        .call::<RevokeMySession, _>(&[("session_id", &other)])
        .await
        .unwrap();
    assert!(
        other_browser.host_info().await.viewer.is_none(),
        "revoked session is gone"
    );
    let (status, _) = acme
        .call::<RevokeMySession, ()>(&[("session_id", &other)])
        .await
        .unwrap_err();
    assert_eq!(status, 404);
    let (status, _) = acme
        .call::<RevokeMySession, ()>(&[("session_id", "not-a-uuid")])
        .await
        .unwrap_err();
    assert_eq!(status, 400);

    let _: () = acme.call::<SignOut, _>(&[]).await.unwrap();
    assert!(acme.host_info().await.viewer.is_none());
    let (status, _) = acme.call::<GetMyAccount, MyAccount>(&[]).await.unwrap_err();
    assert_eq!(status, 401);
}

#[tokio::test]
async fn cross_site_calls_are_refused() {
    let app = spawn_app().await;
    let acme = app.browser("acme");
    let headers = header_map(&[("origin", "http://evil.test")]);
    let (status, _) = acme
        .call_with_headers::<SignIn, Viewer>(&[("identifier", "bob"), ("password", DEMO_PASSWORD)], headers)
        .await
        .unwrap_err();
    assert_eq!(status, 403);
    let same = header_map(&[("origin", &acme.origin)]);
    acme.call_with_headers::<SignIn, Viewer>(&[("identifier", "bob"), ("password", DEMO_PASSWORD)], same)
        .await
        .unwrap();
}
