//! Settings > Outbox: every email Latchkey queued, its delivery status and last error; with no
//! mail server configured, this is where an admin reads a message and passes it on.

use crate::api::{ReadOutboxMessage, RetryOutboxMessage, list_outbox};
use crate::components::{ErrorNotice, Spinner};
use crate::types::{HostInfo, OutboxMessage, OutboxPage, RealmKind};
use leptos::prelude::*;
use leptos_router::components::Redirect;

const FILTERS: [(&str, &str); 4] = [
    ("", "All"),
    ("pending", "Pending"),
    ("sent", "Sent"),
    ("failed", "Failed"),
];

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[component]
pub fn OutboxPage() -> impl IntoView {
    let host = expect_context::<HostInfo>();
    if host.viewer.is_none() {
        return view! { <Redirect path="/sign-in"/> }.into_any();
    }
    if host.realm.kind != RealmKind::Operator {
        return view! { <main class="card"><h1>"Page not found"</h1></main> }.into_any();
    }
    let status = RwSignal::new(String::new());
    // Cursors of the pages before this one, to walk back with "Newer".
    let cursors = RwSignal::new(Vec::<String>::new());
    let retry = ServerAction::<RetryOutboxMessage>::new();
    let open = ServerAction::<ReadOutboxMessage>::new();
    let page = LocalResource::new(move || {
        retry.version().get();
        let before = cursors.get().last().cloned().unwrap_or_default();
        list_outbox(status.get(), before)
    });
    let choose = move |value: &'static str| {
        status.set(value.to_owned());
        cursors.set(Vec::new());
    };
    view! {
        <main class="card wide" data-testid="outbox">
            <p class="crumbs">"Settings › Outbox"</p>
            <h1>"Outbox"</h1>
            {move || retry.value().get().map(|result| match result {
                Ok(message) => view! { <p class="notice" role="status" data-testid="toast">{format!("Message to {} queued to send again now.", message.recipient)}</p> }.into_any(),
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
            {move || open.value().get().map(|result| match result {
                Ok(body) => view! {
                    <section class="message-view" data-testid="message-view">
                        <div class="message-head">
                            <div><strong>{body.subject}</strong><br/><span class="muted">"To " {body.recipient}</span></div>
                            <button type="button" class="button-link" on:click=move |_| open.value().set(None)>"Close"</button>
                        </div>
                        <pre class="message-text">{body.text}</pre>
                    </section>
                }.into_any(),
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
            <Suspense fallback=|| view! { <Spinner/> }>
                {move || page.get().map(|result| match result {
                    Ok(page) => view! { <OutboxTable page status choose cursors retry open/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })}
            </Suspense>
        </main>
    }
    .into_any()
}

#[component]
fn OutboxTable(
    page: OutboxPage,
    status: RwSignal<String>,
    choose: impl Fn(&'static str) + Copy + Send + Sync + 'static,
    cursors: RwSignal<Vec<String>>,
    retry: ServerAction<RetryOutboxMessage>,
    open: ServerAction<ReadOutboxMessage>,
) -> impl IntoView {
    let count = |value: &str| match value {
        "pending" => Some(page.pending),
        "sent" => Some(page.sent),
        "failed" => Some(page.failed),
        _ => None,
    };
    let tabs = FILTERS
        .iter()
        .map(|&(value, label)| {
            let text = match count(value) {
                Some(n) => format!("{label} ({n})"),
                None => label.to_owned(),
            };
            view! {
                <button type="button" role="tab"
                    class=move || if status.get() == value { "tab tab-current" } else { "tab" }
                    aria-selected=move || (status.get() == value).to_string()
                    on:click=move |_| choose(value)>{text}</button>
            }
        })
        .collect_view();
    let delivery = if page.smtp_configured {
        "Messages are delivered by SMTP, with retries. A failed message keeps its last error: fix the cause, then retry it. Bodies stay sealed: they may carry live codes and links meant for their recipient alone."
    } else {
        "No mail server is configured, so messages stay here. Open a message to read it and pass the code or link on: it is the only way it reaches anyone. Each reading is recorded in the audit trail."
    };
    let next = page.next_cursor.clone();
    let is_empty = page.messages.is_empty();
    let smtp = page.smtp_configured;
    view! {
        <p class="notice" data-testid="delivery">{delivery}</p>
        <div class="tabs" role="tablist">{tabs}</div>
        {is_empty.then(|| view! { <p class="empty" data-testid="empty">"No messages here."</p> })}
        {(!is_empty).then(|| view! {
            <table class="table" data-testid="outbox-table">
                <thead><tr><th>"Queued"</th><th>"To"</th><th>"Subject"</th><th>"Workspace"</th><th>"Status"</th><th>"Tries"</th><th></th></tr></thead>
                <tbody>
                    {page.messages.into_iter().map(|m| view! { <OutboxRow message=m retry open smtp/> }).collect_view()}
                </tbody>
            </table>
        })}
        <div class="pager">
            <button type="button" class="button-secondary" disabled=move || cursors.with(Vec::is_empty)
                on:click=move |_| cursors.update(|c| { c.pop(); })>"Newer"</button>
            <button type="button" class="button-secondary" disabled=next.is_none()
                on:click=move |_| if let Some(cursor) = next.clone() { cursors.update(|c| c.push(cursor)) }>"Older"</button>
        </div>
    }
}

#[component]
fn OutboxRow(
    message: OutboxMessage,
    retry: ServerAction<RetryOutboxMessage>,
    open: ServerAction<ReadOutboxMessage>,
    /// Without a mail server nothing would send a retried message, so there is no retry.
    smtp: bool,
) -> impl IntoView {
    let id = message.id;
    let can_retry = smtp && message.status != "sent" && message.channel == "email";
    let status_class = match message.status.as_str() {
        "sent" => "badge badge-active",
        "failed" => "badge badge-locked",
        _ => "badge badge-pending",
    };
    let detail = match (&message.sent_at, &message.last_error) {
        (Some(sent), _) => format!("Sent {}", when(*sent)),
        (None, Some(error)) => format!("Last error: {error}. Next try {}", when(message.next_attempt_at)),
        (None, None) => "Waiting for delivery".to_owned(),
    };
    view! {
        <tr data-testid="outbox-row">
            <td class="nowrap">{when(message.created_at)}</td>
            <td>{message.recipient.clone()}</td>
            <td class="truncate">{message.subject.clone().unwrap_or_default()}</td>
            <td>{message.tenant_name.clone().unwrap_or_else(|| "—".into())}</td>
            <td><span class=status_class title=detail.clone()>{message.status.clone()}</span></td>
            <td>{message.attempts}</td>
            <td class="row-actions">
                {(!smtp).then(|| view! {
                    <button type="button" class="button-link" on:click=move |_| { open.dispatch(ReadOutboxMessage { id }); }>"Open"</button>
                })}
                {can_retry.then(|| view! {
                    <button type="button" class="button-link" on:click=move |_| { retry.dispatch(RetryOutboxMessage { id }); }>"Retry now"</button>
                })}
            </td>
        </tr>
        {message.last_error.clone().map(|error| view! {
            <tr class="row-detail"><td colspan="7">"Last error: " {error}</td></tr>
        })}
    }
}
