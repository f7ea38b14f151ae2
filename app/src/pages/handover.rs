//! Pages reached from a link an admin caused: Confirm email (the new address of an email
//! change) and Impersonate (the console's hand-over to a tenant host), and the banner shown on
//! every page while an impersonation lasts.

use super::HostContext;
use super::recovery::take_link_token;
use crate::api::{begin_impersonation, confirm_email_change, end_impersonation};
use crate::components::{ErrorNotice, Spinner};
use crate::types::Impersonation;
use leptos::prelude::*;

#[component]
pub fn ConfirmEmailPage() -> impl IntoView {
    let token = StoredValue::new(take_link_token("/confirm-email"));
    let result = RwSignal::new(None::<Result<String, crate::AppError>>);
    let busy = RwSignal::new(false);
    // A button rather than on load: mail scanners that open links must not confirm.
    let confirm = move |_| {
        let Some(token) = token.get_value() else { return };
        busy.set(true);
        leptos::task::spawn_local(async move {
            result.set(Some(confirm_email_change(token).await));
            busy.set(false);
        });
    };
    view! {
        <main class="card auth-card" data-testid="confirm-email">
            <h1>"Confirm your new email"</h1>
            {move || match result.get() {
                Some(Ok(email)) => view! {
                    <p class="notice" role="status">{format!("Done: you now sign in with {email}.")}</p>
                    <p><a class="button" href="/sign-in">"Go to sign in"</a></p>
                }.into_any(),
                Some(Err(error)) => view! { <ErrorNotice error/> }.into_any(),
                None if token.get_value().is_none() => view! {
                    <p>"Open the link from the confirmation email. If it no longer works, ask your administrator to send it again."</p>
                }.into_any(),
                None => view! {
                    <p>"Your administrator asked to change the email you sign in with. Confirm to make this address your sign-in email."</p>
                    <button type="button" class="button" disabled=move || busy.get() on:click=confirm>"Confirm new email"</button>
                }.into_any(),
            }}
        </main>
    }
}

#[component]
pub fn ImpersonatePage() -> impl IntoView {
    let host = expect_context::<HostContext>();
    let token = take_link_token("/impersonate");
    let failed = RwSignal::new(None::<crate::AppError>);
    match token {
        Some(token) => leptos::task::spawn_local(async move {
            match begin_impersonation(token).await {
                Ok(()) => {
                    let _ = web_sys::window().map(|w| w.location().replace("/"));
                    host.reload();
                }
                Err(error) => failed.set(Some(error)),
            }
        }),
        None => failed.set(Some(crate::AppError::invalid(
            "token",
            "This impersonation link expired or was already used.",
        ))),
    }
    view! {
        <main class="card auth-card" data-testid="impersonate">
            <h1>"Impersonate"</h1>
            {move || match failed.get() {
                Some(error) => view! { <ErrorNotice error/> }.into_any(),
                None => view! { <Spinner/> }.into_any(),
            }}
        </main>
    }
}

/// On every page while an admin sees the workspace as the user.
#[component]
pub fn ImpersonationBanner(impersonation: Impersonation, who: String) -> impl IntoView {
    let ending = RwSignal::new(false);
    let end = move |_| {
        ending.set(true);
        leptos::task::spawn_local(async move {
            let target = end_impersonation().await.unwrap_or_else(|_| "/".to_owned());
            let _ = web_sys::window().map(|w| w.location().replace(&target));
        });
    };
    view! {
        <div class="impersonation-banner" role="status" data-testid="impersonation-banner">
            <span>{format!(
                "You ({}) are seeing this workspace as {who}. It ends by itself at {}.",
                impersonation.admin_email,
                impersonation.ends_at.format("%H:%M UTC")
            )}</span>
            <button type="button" class="button" disabled=move || ending.get() on:click=end>"End impersonation"</button>
        </div>
    }
}
