//! Small pieces the pages share.

use crate::AppError;
use leptos::prelude::*;

/// A refused action, as a person should read it: the message, the support reference to quote,
/// and where to go instead when the server knows.
#[component]
pub fn ErrorNotice(error: AppError) -> impl IntoView {
    let reference = error.reference().map(str::to_owned);
    let sign_in_url = match &error {
        AppError::Unauthenticated { sign_in_url, .. } => sign_in_url.clone(),
        _ => None,
    };
    view! {
        <div class="notice notice-error" role="alert" data-testid="error">
            <p class="notice-message">{error.message().to_owned()}</p>
            {sign_in_url.map(|url| view! { <p><a href=url.clone()>"Go to " {url.clone()}</a></p> })}
            {reference.map(|r| view! {
                <p class="notice-ref">"Ref " <code data-testid="support-ref">{r}</code>
                " · quote this to your administrator"</p>
            })}
        </div>
    }
}

#[component]
pub fn Spinner() -> impl IntoView {
    view! { <p class="loading" aria-busy="true">"Loading…"</p> }
}
