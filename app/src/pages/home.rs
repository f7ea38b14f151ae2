use super::HostContext;
use crate::api::SignOut;
use crate::types::{HostInfo, RealmKind, Viewer};
use leptos::prelude::*;
use leptos_router::components::Redirect;

#[component]
pub fn UserMenu(viewer: Viewer) -> impl IntoView {
    let host = expect_context::<HostContext>();
    let sign_out = ServerAction::<SignOut>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = sign_out.value().get() {
            host.reload();
        }
    });
    view! {
        <nav class="usermenu">
            <a href="/account" data-testid="viewer-name">{viewer.display_name}</a>
            <span class="role">{viewer.role_name}</span>
            <ActionForm action=sign_out>
                <button type="submit" class="button-link" data-testid="sign-out">"Sign out"</button>
            </ActionForm>
        </nav>
    }
}

#[component]
pub fn HomePage() -> impl IntoView {
    let host = expect_context::<HostInfo>();
    let Some(viewer) = host.viewer.clone() else {
        return view! { <Redirect path="/sign-in"/> }.into_any();
    };
    let (heading, text) = match host.realm.kind {
        RealmKind::Operator => (
            "Admin console",
            "You are signed in to the operator's admin console. User, tenant and log screens arrive here as they are built; your own account is under My account.",
        ),
        RealmKind::Tenant => ("Welcome", "You are signed in to your workspace."),
    };
    view! {
        <main class="card" data-testid="home">
            <h1>{heading}</h1>
            <p class="lead">"Signed in as " <strong>{viewer.display_name.clone()}</strong> " (" {viewer.email.clone()} ") · " {viewer.role_name.clone()}</p>
            <p>{text}</p>
            <p><a class="button" href="/account">"My account"</a></p>
        </main>
    }
    .into_any()
}
