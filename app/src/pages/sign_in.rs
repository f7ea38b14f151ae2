use super::HostContext;
use crate::api::SignIn;
use crate::components::ErrorNotice;
use crate::types::{HostInfo, RealmKind, SignInMode};
use leptos::prelude::*;
use leptos_router::components::Redirect;

#[component]
pub fn SignInPage() -> impl IntoView {
    let host = expect_context::<HostInfo>();
    let context = expect_context::<HostContext>();
    let recovery = expect_context::<super::recovery::RecoveryState>();
    if host.viewer.is_some() {
        return view! { <Redirect path="/"/> }.into_any();
    }
    let sign_in = ServerAction::<SignIn>::new();
    Effect::new(move |_| {
        if let Some(Ok(_)) = sign_in.value().get() {
            context.reload();
        }
    });
    let heading = match host.realm.kind {
        RealmKind::Operator => format!("Sign in to the {} admin console", host.realm.name),
        RealmKind::Tenant => format!("Sign in to {}", host.realm.name),
    };
    let sso_note = (host.realm.sign_in_mode == SignInMode::Sso).then(|| {
        view! { <p class="notice">"This workspace signs in with single sign-on through its identity provider."</p> }
    });
    let pending = sign_in.pending();
    view! {
        <main class="card auth-card" data-testid="sign-in">
            <h1>{heading}</h1>
            {host.notice.clone().map(|notice| view! { <p class="notice" data-testid="notice">{notice}</p> })}
            {recovery.notice.get_untracked().map(|notice| view! {
                <p class="notice" data-testid="notice">{notice}</p>
            })}
            {sso_note}
            {move || sign_in.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
            <ActionForm action=sign_in attr:class="form">
                <label>"Email or username"
                    <input name="identifier" type="text" autocomplete="username" required maxlength="254" autofocus/>
                </label>
                <label>"Password"
                    <input name="password" type="password" autocomplete="current-password" required maxlength="128"/>
                </label>
                <button type="submit" class="button" disabled=pending>
                    {move || if pending.get() { "Signing in…" } else { "Sign in" }}
                </button>
            </ActionForm>
            {(host.realm.sign_in_mode == SignInMode::Password || host.realm.kind == RealmKind::Operator).then(|| view! {
                <p class="below-form"><a href="/forgot-password">"Forgot password?"</a></p>
            })}
        </main>
    }
    .into_any()
}
