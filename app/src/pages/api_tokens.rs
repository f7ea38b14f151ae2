//! Settings > API tokens: create a token for scripts (shown once), see when each was last used,
//! revoke one; and the way into the interactive API docs.

use crate::api::{CreateApiToken, RevokeApiToken, list_api_tokens};
use crate::components::{ConfirmDialog, CopyValue, ErrorNotice, Spinner};
use crate::types::{ApiTokenSummary, HostInfo};
use leptos::prelude::*;
use leptos_router::components::Redirect;
use uuid::Uuid;

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

const ROLES: [(&str, &str); 4] = [
    ("", "Same as mine"),
    ("administrator", "Administrator"),
    ("support", "Support"),
    ("read_only", "Read-only"),
];

const LIFETIMES: [(&str, &str); 4] = [("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("", "Never")];

#[component]
pub fn ApiTokensPage() -> impl IntoView {
    let host = expect_context::<HostInfo>();
    if host.viewer.is_none() {
        return view! { <Redirect path="/sign-in"/> }.into_any();
    }
    let create = ServerAction::<CreateApiToken>::new();
    let revoke = ServerAction::<RevokeApiToken>::new();
    let tokens = LocalResource::new(move || {
        create.version().get();
        revoke.version().get();
        list_api_tokens()
    });
    let name = RwSignal::new(String::new());
    let role = RwSignal::new(String::new());
    let lifetime = RwSignal::new("90".to_owned());
    let doomed = RwSignal::new(None::<(Uuid, String)>);
    let confirming = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(CreateApiToken {
            name: name.get_untracked(),
            role: Some(role.get_untracked()).filter(|r| !r.is_empty()),
            expires_in_days: lifetime.get_untracked().parse().ok(),
        });
    };
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            name.set(String::new());
        }
    });
    let docs_url = "/api/docs";
    view! {
        <main class="card wide" data-testid="api-tokens">
            <p class="crumbs">"Settings › API tokens"</p>
            <h1>"API tokens"</h1>
            <p class="lead">
                "Scripts call the REST API with a token: " <code>"Authorization: Bearer lk_…"</code>
                ". A token acts as you, in this workspace, with the role you choose. "
                <a href=docs_url target="_blank" rel="noopener" data-testid="docs-link">"Open the interactive API docs"</a>
                " and choose Authorize to try calls with a token."
            </p>
            {move || revoke.value().get().map(|result| match result {
                Ok(()) => view! { <p class="notice" role="status" data-testid="toast">"The token was revoked. Calls with it now answer 401."</p> }.into_any(),
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
            <form class="form-row" on:submit=submit data-testid="create-token">
                <label>"Name"
                    <input type="text" required maxlength="100" placeholder="e.g. nightly MFA report"
                        prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                </label>
                <label>"Role"
                    <select on:change=move |ev| role.set(event_target_value(&ev))>
                        {ROLES.iter().map(|&(value, label)| view! { <option value=value selected=move || role.get() == value>{label}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Expires"
                    <select on:change=move |ev| lifetime.set(event_target_value(&ev))>
                        {LIFETIMES.iter().map(|&(value, label)| view! { <option value=value selected=move || lifetime.get() == value>{label}</option> }).collect_view()}
                    </select>
                </label>
                <button type="submit" class="button" disabled=move || create.pending().get()>
                    {move || if create.pending().get() { "Creating…" } else { "Create token" }}
                </button>
            </form>
            {move || create.value().get().map(|result| match result {
                Ok(created) => view! {
                    <section class="notice" role="status" data-testid="new-token">
                        <p class="notice-message">{format!("Token \"{}\" created. Copy it now: it is not shown again.", created.summary.name)}</p>
                        <CopyValue value=created.token label="New API token"/>
                    </section>
                }.into_any(),
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
            <Suspense fallback=|| view! { <Spinner/> }>
                {move || tokens.get().map(|result| match result {
                    Ok(list) if list.is_empty() => view! { <p class="empty" data-testid="empty">"No API tokens yet."</p> }.into_any(),
                    Ok(list) => view! { <TokenTable list doomed confirming/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })}
            </Suspense>
            <ConfirmDialog open=confirming
                title=Signal::derive(move || format!("Revoke {}?", doomed.get().map(|(_, n)| n).unwrap_or_default()))
                body="Scripts that use this token stop working at once. This cannot be undone."
                confirm_label="Revoke token"
                on_confirm=Callback::new(move |_| {
                    if let Some((id, _)) = doomed.get_untracked() {
                        revoke.dispatch(RevokeApiToken { id });
                    }
                })/>
        </main>
    }
    .into_any()
}

#[component]
fn TokenTable(
    list: Vec<ApiTokenSummary>,
    doomed: RwSignal<Option<(Uuid, String)>>,
    confirming: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <table class="table section-gap" data-testid="token-table">
            <thead><tr><th>"Name"</th><th>"Token"</th><th>"Owner"</th><th>"Workspace"</th><th>"Role"</th>
                <th>"Created"</th><th>"Expires"</th><th>"Last used"</th><th>"Status"</th><th></th></tr></thead>
            <tbody>
                {list.into_iter().map(|t| {
                    let (id, name) = (t.id, t.name.clone());
                    let status = match t.revoked_at {
                        Some(_) => view! { <span class="badge badge-disabled">"Revoked"</span> }.into_any(),
                        None => view! { <span class="badge badge-active">"Active"</span> }.into_any(),
                    };
                    let revocable = t.revoked_at.is_none();
                    view! {
                        <tr data-testid="token-row">
                            <td>{t.name.clone()}</td>
                            <td><code>{format!("{}…", t.prefix)}</code></td>
                            <td>{t.owner_email.clone()}</td>
                            <td>{t.tenant_slug.clone()}</td>
                            <td>{t.role_name.clone()}</td>
                            <td class="nowrap">{when(t.created_at)}</td>
                            <td class="nowrap">{t.expires_at.map(when).unwrap_or_else(|| "Never".into())}</td>
                            <td class="nowrap">{t.last_used_at.map(when).unwrap_or_else(|| "Never".into())}</td>
                            <td>{status}</td>
                            <td class="row-actions">
                                {revocable.then(|| view! {
                                    <button type="button" class="button-link" on:click=move |_| {
                                        doomed.set(Some((id, name.clone())));
                                        confirming.set(true);
                                    }>"Revoke"</button>
                                })}
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}
