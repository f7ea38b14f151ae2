//! Users: search, status tabs with counts, filters, keyset pages, and on each row a menu with
//! exactly the actions its status allows (DESIGN.md, the menu table). Actions that cannot apply
//! stay in the menu, disabled, with the reason. Security-relevant ones ask first; every action
//! ends in a toast; one-time values are shown once with a copy button.

use super::user_actions::{Outcome, RowAction, Subject, Toast, action_runner, run};
use crate::AppError;
use crate::api::{list_roles, list_tenants, list_users};
use crate::components::{ConfirmDialog, ErrorNotice, Spinner, csv_link};
use crate::types::{HostInfo, MembershipStatus, MfaState, RealmKind, UserListQuery, UserPage, UserRow};
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_query_map;
use uuid::Uuid;

const TABS: [(Option<MembershipStatus>, &str); 6] = [
    (None, "All"),
    (Some(MembershipStatus::Active), "Active"),
    (Some(MembershipStatus::Pending), "Pending"),
    (Some(MembershipStatus::Locked), "Locked"),
    (Some(MembershipStatus::Cooldown), "Cooldown"),
    (Some(MembershipStatus::Disabled), "Disabled"),
];

pub(super) fn badge(status: MembershipStatus) -> &'static str {
    match status {
        MembershipStatus::Active => "badge badge-active",
        MembershipStatus::Pending => "badge badge-pending",
        MembershipStatus::Locked => "badge badge-locked",
        MembershipStatus::Cooldown => "badge badge-cooldown",
        MembershipStatus::Disabled => "badge badge-disabled",
    }
}

#[component]
pub fn UsersPage() -> impl IntoView {
    let host = expect_context::<HostInfo>();
    if host.viewer.is_none() {
        return view! { <Redirect path="/sign-in"/> }.into_any();
    }
    let operator = host.realm.kind == RealmKind::Operator;
    // Tenant › Users links here with `?tenant=<id>`; the console search with `?q=<text>`.
    let query_map = use_query_map();
    let linked_tenant = query_map.get_untracked().get("tenant").and_then(|t| t.parse().ok());
    let search = RwSignal::new(query_map.get_untracked().get("q").unwrap_or_default());
    let typed = RwSignal::new(search.get_untracked());
    // A new console search while this page is open changes only the query.
    Effect::new(move |_| {
        if let Some(q) = query_map.with(|m| m.get("q")) {
            typed.set(q.clone());
            search.set(q);
        }
    });
    let status = RwSignal::new(None::<MembershipStatus>);
    let mfa = RwSignal::new(None::<MfaState>);
    let role = RwSignal::new(None::<Uuid>);
    let tenant = RwSignal::new(linked_tenant);
    let cursors = RwSignal::new(Vec::<String>::new());
    let changed = RwSignal::new(0u32);
    let outcome = RwSignal::new(None::<Result<Outcome, AppError>>);
    // Outlives the table, which is rebuilt when the list reloads after the bulk action.
    let results = RwSignal::new(None::<Vec<BulkLine>>);
    let query = Memo::new(move |_| UserListQuery {
        q: Some(search.get()).filter(|q| !q.is_empty()),
        tenant_id: tenant.get(),
        status: status.get(),
        mfa: mfa.get(),
        role_id: role.get(),
        cursor: cursors.get().last().cloned(),
        ..Default::default()
    });
    let page = LocalResource::new(move || {
        changed.get();
        list_users(query.get())
    });
    let tenants = LocalResource::new(move || async move { if operator { list_tenants().await.ok() } else { None } });
    // The roles the chosen workspace allows (every role, across workspaces), without counting
    // their members: the filter shows names only.
    let roles = LocalResource::new(move || list_roles(tenant.get(), Some(false)));
    let restart = move || cursors.set(Vec::new());
    let (choose, dialogs) = action_runner(outcome, changed);
    let csv_href = move || {
        let q = query.get();
        csv_link(
            "/api/v1/users.csv",
            &[
                ("q", q.q.clone()),
                ("tenantId", q.tenant_id.map(|t| t.to_string())),
                ("status", q.status.map(|s| s.as_str().to_owned())),
                ("mfa", q.mfa.map(|m| m.as_str().to_owned())),
                ("roleId", q.role_id.map(|r| r.to_string())),
            ],
        )
    };
    view! {
        <main class="card wide" data-testid="users">
            <p class="crumbs">{if operator { "Settings › Users and Roles" } else { "Workspace › Users" }}</p>
            <h1>"Users"</h1>
            {operator.then(|| view! {
                <div class="tabs" role="tablist" aria-label="Users and Roles">
                    <a class="tab tab-current" role="tab" aria-selected="true" href="/users">"Users"</a>
                    <a class="tab" role="tab" aria-selected="false" href="/roles">"Roles"</a>
                </div>
            })}
            <Toast outcome/>
            <form class="form-row" role="search" on:submit=move |ev: leptos::ev::SubmitEvent| {
                ev.prevent_default();
                search.set(typed.get_untracked().trim().to_owned());
                restart();
            }>
                <label>"Search"
                    <input type="search" placeholder="Name, email or username" maxlength="100"
                        prop:value=move || typed.get() on:input=move |ev| typed.set(event_target_value(&ev))/>
                </label>
                {operator.then(|| view! {
                    <label>"Workspace"
                        <select on:change=move |ev| { tenant.set(event_target_value(&ev).parse().ok()); restart(); }>
                            <option value="">"All workspaces"</option>
                            <Suspense fallback=|| ()>
                                {move || tenants.get().flatten().map(|list| list.into_iter().map(|t| {
                                    let id = t.id;
                                    view! { <option value=id.to_string() selected=move || tenant.get() == Some(id)>{t.name}</option> }
                                }).collect_view())}
                            </Suspense>
                        </select>
                    </label>
                })}
                <label>"Role"
                    <select on:change=move |ev| { role.set(event_target_value(&ev).parse().ok()); restart(); }>
                        <option value="">"Any"</option>
                        <Suspense fallback=|| ()>
                            {move || roles.get().and_then(Result::ok).map(|list| list.into_iter().map(|r| {
                                let id = r.id;
                                let label = match r.workspace { Some(w) => format!("{} ({w})", r.name), None => r.name };
                                view! { <option value=id.to_string() selected=move || role.get() == Some(id)>{label}</option> }
                            }).collect_view())}
                        </Suspense>
                    </select>
                </label>
                <label>"MFA"
                    <select on:change=move |ev| { mfa.set(event_target_value(&ev).parse().ok()); restart(); }>
                        <option value="">"Any"</option>
                        <option value="enrolled">"Set up"</option>
                        <option value="not_enrolled">"Not set up"</option>
                    </select>
                </label>
                <button type="submit" class="button">"Search"</button>
            </form>
            <Suspense fallback=|| view! { <Spinner/> }>
                {move || page.get().map(|result| match result {
                    Ok(page) => view! { <UserTable page status cursors choose changed outcome results operator/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })}
            </Suspense>
            {dialogs}
            <p class="hint"><a href=csv_href download data-testid="csv">"Download CSV"</a>
                " of every row these filters match (scripts: GET /api/v1/users.csv with the same filters)."</p>
        </main>
    }
    .into_any()
}

/// The bulk actions of the list (DESIGN.md, "Bulk actions").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BulkAction {
    ResetMfa,
    ResendInvites,
    Lock,
}

impl BulkAction {
    fn label(self) -> &'static str {
        match self {
            Self::ResetMfa => "Reset MFA",
            Self::ResendInvites => "Resend Invites",
            Self::Lock => "Lock Accounts",
        }
    }

    fn question(self, n: usize) -> (String, String) {
        match self {
            Self::ResetMfa => (
                format!("Reset MFA for {n} users?"),
                "Once MFA is reset, each user will need to set up multi-factor authentication again.".into(),
            ),
            Self::ResendInvites => (
                format!("Resend the invite to {n} users?"),
                "Each gets a new link by email; their older links stop working.".into(),
            ),
            Self::Lock => (
                format!("Lock {n} accounts?"),
                "Each user is signed out everywhere and cannot sign in until unlocked.".into(),
            ),
        }
    }
}

/// One row's line in the bulk results.
#[derive(Clone, Debug, PartialEq)]
struct BulkLine {
    who: String,
    done: bool,
    message: String,
}

async fn run_bulk(action: BulkAction, subjects: Vec<Subject>) -> Vec<BulkLine> {
    let mut lines = Vec::with_capacity(subjects.len());
    if action == BulkAction::ResetMfa {
        // One call per workspace, as `PUT /api/v1/users/mfa/reset` answers per id.
        let mut tenants: Vec<Uuid> = subjects.iter().map(|s| s.tenant_id).collect();
        tenants.sort_unstable();
        tenants.dedup();
        for tenant_id in tenants {
            let group: Vec<&Subject> = subjects.iter().filter(|s| s.tenant_id == tenant_id).collect();
            let ids = group.iter().map(|s| s.user_id).collect();
            match crate::api::reset_mfa(ids, tenant_id, crate::types::MfaResetLevel::User).await {
                Ok(answer) => lines.extend(answer.results.into_iter().map(|r| {
                    BulkLine {
                        who: group
                            .iter()
                            .find(|s| s.user_id == r.id)
                            .map_or_else(String::new, |s| s.email.clone()),
                        done: r.succeeded(),
                        message: r.message,
                    }
                })),
                Err(error) => lines.extend(group.iter().map(|s| BulkLine {
                    who: s.email.clone(),
                    done: false,
                    message: error.message().to_owned(),
                })),
            }
        }
        return lines;
    }
    let one = if action == BulkAction::Lock {
        RowAction::Lock
    } else {
        RowAction::ResendInvite
    };
    for subject in subjects {
        let who = subject.email.clone();
        lines.push(match run(one, subject, None).await {
            Ok(done) => BulkLine {
                who,
                done: true,
                message: done.message,
            },
            Err(error) => BulkLine {
                who,
                done: false,
                message: error.message().to_owned(),
            },
        });
    }
    lines
}

#[component]
fn UserTable(
    page: UserPage,
    status: RwSignal<Option<MembershipStatus>>,
    cursors: RwSignal<Vec<String>>,
    choose: Callback<(RowAction, Subject)>,
    changed: RwSignal<u32>,
    outcome: RwSignal<Option<Result<Outcome, AppError>>>,
    results: RwSignal<Option<Vec<BulkLine>>>,
    operator: bool,
) -> impl IntoView {
    let counts = page.counts.clone();
    let tabs = TABS
        .iter()
        .map(|&(value, label)| {
            let n = value.map_or(counts.total(), |s| counts.of(s));
            view! {
                <button type="button" role="tab"
                    class=move || if status.get() == value { "tab tab-current" } else { "tab" }
                    aria-selected=move || (status.get() == value).to_string()
                    on:click=move |_| { status.set(value); cursors.set(Vec::new()); }>{format!("{label} ({n})")}</button>
            }
        })
        .collect_view();
    let next = page.next_cursor.clone();
    let empty = page.users.is_empty();
    let operator_slug = expect_context::<HostInfo>().realm.slug;
    let subjects: Vec<Subject> = page
        .users
        .iter()
        .map(|r| Subject::of_row(r, operator, &operator_slug))
        .collect();
    // A row is one membership: (user, workspace).
    let selected = RwSignal::new(Vec::<(Uuid, Uuid)>::new());
    let row_ids: Vec<(Uuid, Uuid)> = subjects.iter().map(|s| (s.user_id, s.tenant_id)).collect();
    let bulk = RwSignal::new(None::<BulkAction>);
    let confirming = RwSignal::new(false);
    let all_ids = row_ids.clone();
    let picked = {
        let subjects = subjects.clone();
        let row_ids = row_ids.clone();
        move || {
            let chosen = selected.get();
            subjects
                .iter()
                .zip(&row_ids)
                .filter(|(_, id)| chosen.contains(id))
                .map(|(s, _)| s.clone())
                .collect::<Vec<_>>()
        }
    };
    let count = {
        let picked = picked.clone();
        Signal::derive(move || picked().len())
    };
    let ask = move |action: BulkAction| {
        bulk.set(Some(action));
        confirming.set(true);
    };
    let on_confirm = {
        let picked = picked.clone();
        Callback::new(move |_| {
            let Some(action) = bulk.get_untracked() else { return };
            let subjects = picked();
            leptos::task::spawn_local(async move {
                let lines = run_bulk(action, subjects).await;
                let ok = lines.iter().filter(|l| l.done).count();
                outcome.set(Some(Ok(Outcome {
                    message: format!("{}: {ok} of {} done.", action.label(), lines.len()),
                    value: None,
                })));
                results.set(Some(lines));
                changed.update(|n| *n += 1);
            });
        })
    };
    let question = move |part: usize| {
        Signal::derive(move || {
            bulk.get()
                .map(|a| {
                    let (title, body) = a.question(count.get());
                    if part == 0 { title } else { body }
                })
                .unwrap_or_default()
        })
    };
    view! {
        <div class="tabs" role="tablist" aria-label="Status">{tabs}</div>
        {move || results.get().map(|lines| view! {
            <div class="notice" data-testid="bulk-results">
                <button type="button" class="toast-close" aria-label="Dismiss" on:click=move |_| results.set(None)>"×"</button>
                <p class="notice-message">"Result for each selected user"</p>
                <ul class="bulk-results">
                    {lines.into_iter().map(|line| view! {
                        <li class=if line.done { "bulk-done" } else { "bulk-failed" }>
                            <strong>{line.who}</strong>" — "{if line.done { "Done" } else { "Not done" }}": "{line.message}
                        </li>
                    }).collect_view()}
                </ul>
            </div>
        })}
        <div class="bulk-bar" data-testid="bulk-bar" aria-live="polite">
            <span>{move || match count.get() { 0 => "Select rows for bulk actions".to_owned(), n => format!("{n} selected") }}</span>
            {[BulkAction::ResetMfa, BulkAction::ResendInvites, BulkAction::Lock].into_iter().map(|action| view! {
                <button type="button" class="button-secondary" disabled=move || count.get() == 0
                    on:click=move |_| ask(action)>{action.label()}</button>
            }).collect_view()}
        </div>
        {empty.then(|| view! { <p class="empty" data-testid="empty">"No users match these filters."</p> })}
        {(!empty).then(|| view! {
            <table class="table" data-testid="user-table">
                <thead><tr>
                    <th><input type="checkbox" aria-label="Select every row on this page"
                        prop:checked=move || { let n = selected.with(Vec::len); n > 0 && n == all_ids.len() }
                        on:change={
                            let all_ids = row_ids.clone();
                            move |ev| selected.set(if event_target_checked(&ev) { all_ids.clone() } else { Vec::new() })
                        }/></th>
                    <th>"Name"</th><th>"Email"</th><th class="col-optional">"Workspace"</th><th class="col-optional">"Role"</th><th>"Status"</th><th class="col-optional">"MFA"</th><th><span class="sr-only">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {page.users.into_iter().zip(subjects.clone()).zip(row_ids.clone()).map(|((row, subject), row_id)| {
                        view! { <UserRowView row subject row_id selected choose/> }
                    }).collect_view()}
                </tbody>
            </table>
        })}
        <div class="pager">
            <button type="button" class="button-secondary" disabled=move || cursors.with(Vec::is_empty)
                on:click=move |_| cursors.update(|c| { c.pop(); })>"Previous"</button>
            <button type="button" class="button-secondary" disabled=next.is_none()
                on:click=move |_| if let Some(cursor) = next.clone() { cursors.update(|c| c.push(cursor)) }>"Next"</button>
        </div>
        <ConfirmDialog open=confirming title=question(0) body=question(1)
            confirm_label=Signal::derive(move || bulk.get().map(|a| a.label().to_owned()).unwrap_or_default())
            on_confirm/>
    }
}

fn menu_items(
    subject: Subject,
    status: MembershipStatus,
    open: RwSignal<bool>,
    choose: Callback<(RowAction, Subject)>,
) -> impl IntoView {
    RowAction::for_status(status)
        .iter()
        .map(|&action| {
            let reason = action.unavailable(&subject);
            let picked = subject.clone();
            view! {
                <li role="none">
                    <button type="button" role="menuitem" class="menu-item" disabled=reason.is_some()
                        title=reason.unwrap_or_default()
                        on:click=move |_| { open.set(false); choose.run((action, picked.clone())); }>
                        {action.label()}
                        {reason.map(|r| view! { <span class="menu-reason">{r}</span> })}
                    </button>
                </li>
            }
        })
        .collect_view()
}

#[component]
fn UserRowView(
    row: UserRow,
    subject: Subject,
    row_id: (Uuid, Uuid),
    selected: RwSignal<Vec<(Uuid, Uuid)>>,
    choose: Callback<(RowAction, Subject)>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let kebab = NodeRef::<leptos::html::Button>::new();
    let close = move || {
        open.set(false);
        if let Some(button) = kebab.get() {
            let _ = button.focus();
        }
    };
    let label = format!("Actions for {}", row.email);
    let status = row.status;
    let href = format!("/users/{}", row.user_id);
    view! {
        <tr data-testid="user-row" data-email=row.email.clone()>
            <td><input type="checkbox" data-testid="select-row" aria-label=format!("Select {}", row.email)
                prop:checked=move || selected.with(|s| s.contains(&row_id))
                on:change=move |ev| {
                    let on = event_target_checked(&ev);
                    selected.update(|s| { s.retain(|id| *id != row_id); if on { s.push(row_id) } });
                }/></td>
            <td><a href=href>{row.display_name.clone()}</a>{row.username.clone().map(|u| view! { <br/><span class="muted">{u}</span> })}</td>
            <td>{row.email.clone()}</td>
            <td class="col-optional">{row.tenant_slug.clone()}</td>
            <td class="col-optional">{row.role_name.clone()}</td>
            <td><span class=badge(row.status)>{row.status.label()}</span></td>
            <td class="col-optional">{if row.mfa_enrolled { "Set up" } else { "—" }}</td>
            <td class="row-actions menu-anchor" on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { close() }>
                <button type="button" class="kebab" node_ref=kebab aria-haspopup="menu" aria-expanded=move || open.get().to_string()
                    aria-label=label on:click=move |_| open.update(|o| *o = !*o)>"⋮"</button>
                <Show when=move || open.get()>
                    <ul class="menu" role="menu" data-testid="row-menu">{menu_items(subject.clone(), status, open, choose)}</ul>
                </Show>
            </td>
        </tr>
    }
}
