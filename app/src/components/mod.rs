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

/// A value shown once (a token, a link, a temporary password), with a button that copies it.
#[component]
pub fn CopyValue(value: String, #[prop(into)] label: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let text = value.clone();
    let copy = move |_| {
        if let Some(window) = web_sys::window() {
            let _ = window.navigator().clipboard().write_text(&text);
            copied.set(true);
        }
    };
    view! {
        <div class="copy-value">
            <code data-testid="copy-value" aria-label=label>{value}</code>
            <button type="button" class="button-secondary" on:click=copy>
                {move || if copied.get() { "Copied" } else { "Copy" }}
            </button>
        </div>
    }
}

/// A confirmation for a destructive or security-relevant action, as a modal `<dialog>`: Escape
/// and Cancel close it, and the browser returns focus to the button that opened it.
#[component]
pub fn ConfirmDialog(
    open: RwSignal<bool>,
    #[prop(into)] title: Signal<String>,
    #[prop(into)] body: Signal<String>,
    #[prop(into)] confirm_label: Signal<String>,
    on_confirm: Callback<()>,
) -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    Effect::new(move |_| {
        let Some(element) = dialog.get() else { return };
        if open.get() {
            if !element.open() {
                let _ = element.show_modal();
            }
        } else if element.open() {
            element.close();
        }
    });
    view! {
        <dialog node_ref=dialog class="dialog" aria-labelledby="dialog-title" on:close=move |_| open.set(false)
            data-testid="confirm-dialog">
            <h2 id="dialog-title">{move || title.get()}</h2>
            <p>{move || body.get()}</p>
            <div class="actions dialog-actions">
                <button type="button" class="button-secondary" autofocus on:click=move |_| open.set(false)>"Cancel"</button>
                <button type="button" class="button button-danger" on:click=move |_| {
                    open.set(false);
                    on_confirm.run(());
                }>{move || confirm_label.get()}</button>
            </div>
        </dialog>
    }
}

/// A `.csv` list's address with the filters the screen shows (empty ones left out), for the
/// console's "Download CSV": the admin's session cookie authorises it on this host.
pub fn csv_link(path: &str, filters: &[(&str, Option<String>)]) -> String {
    let query: Vec<String> = filters
        .iter()
        .filter_map(|(name, value)| {
            value
                .as_ref()
                .map(|v| format!("{name}={}", String::from(js_sys::encode_uri_component(v))))
        })
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}
