//! Security > MFA error logs and Security > Audit trail: newest first, with search, a date
//! range, a type (or action) filter and keyset pages. Pasting a support reference into the
//! search finds the event the user saw.

use crate::api::{list_audit, list_events};
use crate::components::{ErrorNotice, Spinner, csv_link};
use crate::types::{AuditQuery, EventQuery, HostInfo, SecurityEventType};
use chrono::{DateTime, NaiveDate, Utc};
use leptos::prelude::*;
use leptos_router::components::Redirect;

fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A date field (`yyyy-mm-dd`) as the start of that day, or of the next one for an end date.
fn day(text: &str, end: bool) -> Option<DateTime<Utc>> {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    let date = if end { date.succ_opt()? } else { date };
    Some(date.and_hms_opt(0, 0, 0)?.and_utc())
}

/// The filters both logs share.
#[derive(Clone, Default, PartialEq)]
struct Filters {
    q: String,
    kind: String,
    from: String,
    to: String,
}

#[component]
fn FilterBar(
    filters: RwSignal<Filters>,
    cursors: RwSignal<Vec<String>>,
    kinds: Vec<(String, String)>,
    kind_label: &'static str,
    placeholder: &'static str,
    /// The `.csv` list and the name of its kind parameter (`type` or `action`).
    csv: (&'static str, &'static str),
) -> impl IntoView {
    let csv_href = move || {
        let f = filters.get();
        let (path, kind_param) = csv;
        let when = |text: &str, end| day(text, end).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        csv_link(
            path,
            &[
                ("q", Some(f.q.trim().to_owned()).filter(|q| !q.is_empty())),
                (kind_param, Some(f.kind.clone()).filter(|k| !k.is_empty())),
                ("from", when(&f.from, false)),
                ("to", when(&f.to, true)),
            ],
        )
    };
    let draft = RwSignal::new(filters.get_untracked());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        filters.set(draft.get_untracked());
        cursors.set(Vec::new());
    };
    view! {
        <form class="form-row" role="search" on:submit=submit>
            <label>"Search"
                <input type="search" maxlength="100" placeholder=placeholder
                    prop:value=move || draft.get().q on:input=move |ev| draft.update(|d| d.q = event_target_value(&ev))/>
            </label>
            <label>{kind_label}
                <select on:change=move |ev| draft.update(|d| d.kind = event_target_value(&ev))>
                    <option value="">"All"</option>
                    {kinds.into_iter().map(|(value, label)| view! { <option value=value>{label}</option> }).collect_view()}
                </select>
            </label>
            <label>"From"
                <input type="date" prop:value=move || draft.get().from on:input=move |ev| draft.update(|d| d.from = event_target_value(&ev))/>
            </label>
            <label>"To"
                <input type="date" prop:value=move || draft.get().to on:input=move |ev| draft.update(|d| d.to = event_target_value(&ev))/>
            </label>
            <button type="submit" class="button">"Apply"</button>
            <a class="button-secondary" href=csv_href download data-testid="csv">"Download CSV"</a>
        </form>
    }
}

#[component]
fn Pager(cursors: RwSignal<Vec<String>>, next: Option<String>) -> impl IntoView {
    view! {
        <div class="pager">
            <button type="button" class="button-secondary" disabled=move || cursors.with(Vec::is_empty)
                on:click=move |_| cursors.update(|c| { c.pop(); })>"Newer"</button>
            <button type="button" class="button-secondary" disabled=next.is_none()
                on:click=move |_| if let Some(cursor) = next.clone() { cursors.update(|c| c.push(cursor)) }>"Older"</button>
        </div>
    }
}

#[component]
pub fn EventsPage() -> impl IntoView {
    let host = expect_context::<HostInfo>();
    if host.viewer.is_none() {
        return view! { <Redirect path="/sign-in"/> }.into_any();
    }
    // The console search sends a reference it could not tie to a user here.
    let q = leptos_router::hooks::use_query_map()
        .get_untracked()
        .get("q")
        .unwrap_or_default();
    let filters = RwSignal::new(Filters {
        q,
        ..Filters::default()
    });
    let cursors = RwSignal::new(Vec::<String>::new());
    let page = LocalResource::new(move || {
        let f = filters.get();
        list_events(EventQuery {
            q: Some(f.q.trim().to_owned()).filter(|q| !q.is_empty()),
            event_type: f.kind.parse().ok(),
            from: day(&f.from, false),
            to: day(&f.to, true),
            cursor: cursors.get().last().cloned(),
            ..Default::default()
        })
    });
    let kinds = SecurityEventType::ALL
        .iter()
        .map(|t| (t.as_str().to_owned(), t.label().to_owned()))
        .collect();
    view! {
        <main class="card wide" data-testid="events">
            <p class="crumbs">"Security › MFA error logs"</p>
            <h1>"MFA error logs"</h1>
            <p class="lead">"Every sign-in and MFA problem a user ran into, with the support reference they were shown."</p>
            <FilterBar filters cursors kinds kind_label="Type" placeholder="Support reference, email or identifier" csv=("/api/v1/events.csv", "type")/>
            <Suspense fallback=|| view! { <Spinner/> }>
                {move || page.get().map(|result| match result {
                    Ok(page) if page.events.is_empty() => view! {
                        <p class="empty" data-testid="empty">"No events match these filters."</p>
                    }.into_any(),
                    Ok(page) => view! {
                        <table class="table section-gap" data-testid="event-table">
                            <thead><tr><th>"When"</th><th>"Reference"</th><th>"Type"</th><th>"User"</th><th class="col-optional">"Workspace"</th><th class="col-optional">"IP"</th><th class="col-optional">"Detail"</th></tr></thead>
                            <tbody>
                                {page.events.into_iter().map(|e| {
                                    let detail = e.detail.as_ref().map(|d| d.to_string()).unwrap_or_default();
                                    view! {
                                    <tr data-testid="event-row">
                                        <td class="nowrap">{when(e.occurred_at)}</td>
                                        <td><code>{e.reference}</code></td>
                                        <td>{e.type_label}</td>
                                        <td>{e.user_email.or(e.identifier).unwrap_or_else(|| "—".into())}</td>
                                        <td class="col-optional">{e.tenant_slug.unwrap_or_else(|| "—".into())}</td>
                                        <td class="col-optional nowrap">{e.ip.unwrap_or_default()}</td>
                                        <td class="col-optional truncate" title=detail.clone()>{detail.clone()}</td>
                                    </tr>
                                }}).collect_view()}
                            </tbody>
                        </table>
                        <Pager cursors next=page.next_cursor/>
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })}
            </Suspense>
        </main>
    }
    .into_any()
}

/// The actions the audit trail records, for its filter.
const AUDIT_ACTIONS: [&str; 26] = [
    "user.invited",
    "user.locked",
    "user.unlocked",
    "user.cooldown_reset",
    "user.mfa_reset",
    "user.org_mfa_reset",
    "user.role_changed",
    "user.access_enabled",
    "user.removed",
    "user.password_reset_link_sent",
    "user.temporary_password_generated",
    "user.invite_resent",
    "user.access_link_generated",
    "user.invite_revoked",
    "user.email_change_requested",
    "user.email_change_resent",
    "user.impersonation_started",
    "user.impersonation_ended",
    "session.revoked",
    "tenant.created",
    "tenant.mfa_enforcement_changed",
    "tenant.settings_changed",
    "api_token.created",
    "api_token.revoked",
    "outbox.message_read",
    "outbox.retry",
];

#[component]
pub fn AuditPage() -> impl IntoView {
    let host = expect_context::<HostInfo>();
    if host.viewer.is_none() {
        return view! { <Redirect path="/sign-in"/> }.into_any();
    }
    let filters = RwSignal::new(Filters::default());
    let cursors = RwSignal::new(Vec::<String>::new());
    let page = LocalResource::new(move || {
        let f = filters.get();
        list_audit(AuditQuery {
            q: Some(f.q.trim().to_owned()).filter(|q| !q.is_empty()),
            action: Some(f.kind.clone()).filter(|a| !a.is_empty()),
            from: day(&f.from, false),
            to: day(&f.to, true),
            cursor: cursors.get().last().cloned(),
            ..Default::default()
        })
    });
    let kinds = AUDIT_ACTIONS.iter().map(|a| (a.to_string(), a.to_string())).collect();
    view! {
        <main class="card wide" data-testid="audit">
            <p class="crumbs">"Security › Audit trail"</p>
            <h1>"Audit trail"</h1>
            <p class="lead">"Every change an admin or an API token made: who, what, where, when, and the values before and after."</p>
            <FilterBar filters cursors kinds kind_label="Action" placeholder="Email, action or target id" csv=("/api/v1/audit.csv", "action")/>
            <Suspense fallback=|| view! { <Spinner/> }>
                {move || page.get().map(|result| match result {
                    Ok(page) if page.entries.is_empty() => view! {
                        <p class="empty" data-testid="empty">"No changes match these filters."</p>
                    }.into_any(),
                    Ok(page) => view! {
                        <table class="table section-gap" data-testid="audit-table">
                            <thead><tr><th>"When"</th><th>"Who"</th><th>"Action"</th><th class="col-optional">"Target"</th><th class="col-optional">"Workspace"</th><th class="col-optional">"IP"</th><th class="col-optional">"Before → after"</th></tr></thead>
                            <tbody>
                                {page.entries.into_iter().map(|e| {
                                    let who = match (e.actor_email, e.actor_token_id) {
                                        (Some(email), Some(_)) => format!("{email} (API token)"),
                                        (Some(email), None) => email,
                                        (None, _) => "—".into(),
                                    };
                                    let change = format!(
                                        "{} → {}",
                                        e.before.map(|v| v.to_string()).unwrap_or_else(|| "—".into()),
                                        e.after.map(|v| v.to_string()).unwrap_or_else(|| "—".into())
                                    );
                                    view! {
                                        <tr data-testid="audit-row">
                                            <td class="nowrap">{when(e.occurred_at)}</td>
                                            <td>{who}</td>
                                            <td><code>{e.action}</code></td>
                                            <td class="col-optional">{format!("{} {}", e.target_type, e.target_id.unwrap_or_default())}</td>
                                            <td class="col-optional">{e.tenant_slug.unwrap_or_else(|| "—".into())}</td>
                                            <td class="col-optional nowrap">{e.ip.unwrap_or_default()}</td>
                                            <td class="col-optional truncate" title=change.clone()>{change.clone()}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                        <Pager cursors next=page.next_cursor/>
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })}
            </Suspense>
        </main>
    }
    .into_any()
}
