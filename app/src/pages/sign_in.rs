use super::HostContext;
use crate::api::SignIn;
use crate::components::ErrorNotice;
use crate::types::{HostInfo, RealmKind, SSO_START_PATH, SignInMode, SsoFailureReason};
use crate::{AppError, AuthFailure};
use leptos::either::Either;
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;

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
    let sso = host.realm.kind == RealmKind::Tenant && host.realm.sign_in_mode == SignInMode::Sso;
    // The SSO callback comes back here with `?sso_error=<reason>&ref=<support reference>`.
    let query = use_query_map().get_untracked();
    let sso_error = query
        .get("sso_error")
        .and_then(|r| r.parse::<SsoFailureReason>().ok())
        .map(|reason| {
            let reference = query
                .get("ref")
                .filter(|r| r.len() <= 16 && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
            AppError::Unauthenticated {
                reason: AuthFailure::SsoFailed,
                message: reason.message().to_owned(),
                reference,
                sign_in_url: None,
            }
        });
    let pending = sign_in.pending();
    view! {
        <main class="card auth-card" data-testid="sign-in">
            <h1>{heading}</h1>
            {host.notice.clone().map(|notice| view! { <p class="notice" data-testid="notice">{notice}</p> })}
            {recovery.notice.get_untracked().map(|notice| view! {
                <p class="notice" data-testid="notice">{notice}</p>
            })}
            {sso_error.map(|error| view! { <ErrorNotice error/> })}
            {if sso { Either::Left(view! {
                <p>"This workspace signs in with single sign-on through its identity provider."</p>
                <a class="button button-wide" href=SSO_START_PATH rel="external" data-testid="continue-with-sso">"Continue with SSO"</a>
                <p class="muted below-form">"Passwords are not used here: to reset yours, use your identity provider, or ask your administrator."</p>
            }) } else { Either::Right(view! {
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
            <p class="below-form"><a href="/forgot-password">"Forgot password?"</a></p>
            }) }}
        </main>
    }
    .into_any()
}
