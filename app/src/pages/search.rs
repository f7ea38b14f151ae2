//! The console search in the navigation: a pasted support reference opens its event on the
//! user's Edit User page (DESIGN.md, "Support reference on every user-facing error"); any other
//! text searches the users.

use crate::api::list_events;
use crate::domain::SupportReference;
use crate::types::EventQuery;
use leptos::prelude::*;
use leptos_router::NavigateOptions;
use leptos_router::hooks::use_navigate;

#[component]
pub fn ConsoleSearch() -> impl IntoView {
    let text = RwSignal::new(String::new());
    let navigate = use_navigate();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let typed = text.get_untracked().trim().to_owned();
        if typed.is_empty() {
            return;
        }
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let target = match SupportReference::parse(&typed) {
                Some(reference) => {
                    let query = EventQuery {
                        q: Some(reference.as_str().to_owned()),
                        ..Default::default()
                    };
                    let found = list_events(query)
                        .await
                        .ok()
                        .and_then(|page| page.events.into_iter().next());
                    match found {
                        Some(event) => match event.user_id {
                            Some(user_id) => format!("/users/{user_id}?ref={}", event.reference),
                            None => format!("/security/mfa-error-logs?q={}", event.reference),
                        },
                        // Eight letters that are no reference: a name, perhaps.
                        None => format!("/users?q={}", js_sys::encode_uri_component(&typed)),
                    }
                }
                None => format!("/users?q={}", js_sys::encode_uri_component(&typed)),
            };
            text.set(String::new());
            navigate(&target, NavigateOptions::default());
        });
    };
    view! {
        <form class="console-search" role="search" on:submit=submit>
            <label class="sr-only" for="console-search">"Search users or paste a support reference"</label>
            <input id="console-search" type="search" maxlength="100" placeholder="Search users or paste a reference"
                data-testid="console-search" prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))/>
        </form>
    }
}
