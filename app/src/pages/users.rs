//! Users: search, status tabs with counts, filters, keyset pages, and on each row a menu with
//! exactly the actions its status allows (DESIGN.md, the menu table). Actions that cannot apply
//! stay in the menu, disabled, with the reason. Security-relevant ones ask first; every action
//! ends in a toast; one-time values are shown once with a copy button.

use crate::AppError;
use crate::api::{list_roles, list_tenants, list_users};
use crate::components::{ConfirmDialog, CopyValue, ErrorNotice, Spinner};
use crate::types::{
    HostInfo, MembershipStatus, MfaResetLevel, MfaState, RealmKind, RoleSummary, UserListQuery, UserPage, UserRow,
};
use leptos::prelude::*;
use leptos_router::components::Redirect;
use uuid::Uuid;

/// The menu actions, in the wording of the seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RowAction {
    SendResetLink,
    ResetMfa,
    TemporaryPassword,
    ChangeRole,
    Lock,
    ResendInvite,
    AccessLink,
    RevokeInvite,
    Unlock,
    ResetCooldown,
    EnableAccess,
}

impl RowAction {
    fn label(self) -> &'static str {
        match self {
            Self::SendResetLink => "Send Reset Password Link",
            Self::ResetMfa => "Reset MFA",
            Self::TemporaryPassword => "Generate Temporary Password",
            Self::ChangeRole => "Change Role",
            Self::Lock => "Lock Account",
            Self::ResendInvite => "Resend Invite",
            Self::AccessLink => "Generate Access Link",
            Self::RevokeInvite => "Revoke Invite",
            Self::Unlock => "Unlock Account",
            Self::ResetCooldown => "Reset Cooldown",
            Self::EnableAccess => "Enable Access",
        }
    }

    /// The items of a row's menu, by status (DESIGN.md).
    fn for_status(status: MembershipStatus) -> &'static [RowAction] {
        match status {
            MembershipStatus::Active => &[
                Self::SendResetLink,
                Self::ResetMfa,
                Self::TemporaryPassword,
                Self::ChangeRole,
                Self::Lock,
            ],
            MembershipStatus::Pending => &[
                Self::ResendInvite,
                Self::AccessLink,
                Self::ChangeRole,
                Self::RevokeInvite,
            ],
            MembershipStatus::Locked => &[Self::Unlock, Self::SendResetLink, Self::ResetMfa],
            MembershipStatus::Cooldown => &[Self::ResetCooldown, Self::ResetMfa, Self::Lock],
            MembershipStatus::Disabled => &[Self::EnableAccess],
        }
    }

    /// Why the action cannot apply to this row, if it cannot.
    fn unavailable(self, row: &UserRow) -> Option<&'static str> {
        match self {
            Self::SendResetLink if row.sso => Some("Password reset is not available: this account signs in with SSO"),
            Self::TemporaryPassword if row.sso => {
                Some("Temporary passwords are not available: this account signs in with SSO")
            }
            Self::TemporaryPassword if row.membership_count > 1 => {
                Some("Temporary passwords are not available: the user belongs to more than one workspace")
            }
            Self::ResetMfa if !row.mfa_enrolled => Some("MFA is not set up for this user"),
            _ => None,
        }
    }

    /// (title, text, button) of the confirmation, for the actions that ask first.
    fn confirmation(self, row: &UserRow) -> Option<(String, String, &'static str)> {
        let who = row.display_name.clone();
        match self {
            Self::ResetMfa => Some((
                "Reset MFA for this user?".into(),
                "Once MFA is reset, the user will need to set up multi-factor authentication again.".into(),
                "Reset MFA",
            )),
            Self::Lock => Some((
                format!("Lock {who}'s account?"),
                "The user is signed out everywhere and cannot sign in until the account is unlocked.".into(),
                "Lock Account",
            )),
            Self::RevokeInvite => Some((
                format!("Revoke the invite for {who}?"),
                "The invite link stops working and the pending user is removed from this workspace.".into(),
                "Revoke Invite",
            )),
            Self::TemporaryPassword => Some((
                format!("Generate a temporary password for {who}?"),
                "It replaces the current password and signs the user out everywhere. It is shown once, valid 24 hours, and must be changed at the first sign-in.".into(),
                "Generate Temporary Password",
            )),
            _ => None,
        }
    }
}

/// What an action left for the admin: a message, and perhaps a value to copy once.
#[derive(Clone, Debug, PartialEq)]
struct Outcome {
    message: String,
    value: Option<(String, &'static str)>,
}

async fn run(action: RowAction, row: UserRow, role_id: Option<Uuid>) -> Result<Outcome, AppError> {
    use crate::api::*;
    let (user_id, tenant_id) = (row.user_id, row.tenant_id);
    let who = row.display_name.clone();
    let said = |message: String| Ok(Outcome { message, value: None });
    match action {
        RowAction::SendResetLink => {
            send_password_reset_link(user_id, tenant_id).await?;
            said(format!("A password reset link was sent to {}.", row.email))
        }
        RowAction::ResetMfa => {
            let answer = reset_mfa(vec![user_id], tenant_id, MfaResetLevel::User).await?;
            match answer.results.into_iter().next() {
                Some(result) if result.succeeded() => said(format!("MFA was reset for {who}.")),
                Some(result) => Err(AppError::conflict(result.message)),
                None => Err(AppError::internal()),
            }
        }
        RowAction::TemporaryPassword => {
            let password = generate_temporary_password(user_id, tenant_id).await?;
            Ok(Outcome {
                message: format!(
                    "Temporary password for {who}, valid until {}. Copy it now: it is not shown again.",
                    password.expires_at.format("%Y-%m-%d %H:%M UTC")
                ),
                value: Some((password.temporary_password, "Temporary password")),
            })
        }
        RowAction::ChangeRole => {
            let role_id = role_id.ok_or_else(|| AppError::invalid("role_id", "Choose a role."))?;
            change_role(user_id, tenant_id, role_id).await?;
            said(format!("{who}'s role was changed."))
        }
        RowAction::Lock => {
            lock_account(user_id, tenant_id, String::new()).await?;
            said(format!("{who}'s account was locked."))
        }
        RowAction::ResendInvite => {
            resend_invite(user_id, tenant_id).await?;
            said(format!(
                "A new invite was sent to {}. Older links no longer work.",
                row.email
            ))
        }
        RowAction::AccessLink => {
            let link = generate_access_link(user_id, tenant_id).await?;
            Ok(Outcome {
                message: format!(
                    "Access link for {who}, valid until {}. Older links no longer work.",
                    link.expires_at.format("%Y-%m-%d %H:%M UTC")
                ),
                value: Some((link.url, "Access link")),
            })
        }
        RowAction::RevokeInvite => {
            revoke_invite(user_id, tenant_id).await?;
            said(format!("The invite for {} was revoked.", row.email))
        }
        RowAction::Unlock => {
            unlock_account(user_id, tenant_id).await?;
            said(format!("{who}'s account was unlocked."))
        }
        RowAction::ResetCooldown => {
            reset_cooldown(user_id, tenant_id).await?;
            said(format!("The MFA cooldown for {who} was reset."))
        }
        RowAction::EnableAccess => {
            enable_access(user_id, tenant_id).await?;
            said(format!("Access was enabled for {who}."))
        }
    }
}

const TABS: [(Option<MembershipStatus>, &str); 6] = [
    (None, "All"),
    (Some(MembershipStatus::Active), "Active"),
    (Some(MembershipStatus::Pending), "Pending"),
    (Some(MembershipStatus::Locked), "Locked"),
    (Some(MembershipStatus::Cooldown), "Cooldown"),
    (Some(MembershipStatus::Disabled), "Disabled"),
];

fn badge(status: MembershipStatus) -> &'static str {
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
    let search = RwSignal::new(String::new());
    let typed = RwSignal::new(String::new());
    let status = RwSignal::new(None::<MembershipStatus>);
    let mfa = RwSignal::new(None::<MfaState>);
    let tenant = RwSignal::new(None::<Uuid>);
    let cursors = RwSignal::new(Vec::<String>::new());
    let changed = RwSignal::new(0u32);
    let outcome = RwSignal::new(None::<Result<Outcome, AppError>>);
    let query = Memo::new(move |_| UserListQuery {
        q: Some(search.get()).filter(|q| !q.is_empty()),
        tenant_id: tenant.get(),
        status: status.get(),
        mfa: mfa.get(),
        cursor: cursors.get().last().cloned(),
        ..Default::default()
    });
    let page = LocalResource::new(move || {
        changed.get();
        list_users(query.get())
    });
    let tenants = LocalResource::new(move || async move { if operator { list_tenants().await.ok() } else { None } });
    let restart = move || cursors.set(Vec::new());
    let csv_hint =
        "CSV export of exactly these rows: GET /api/v1/users.csv with the same filters (Settings › API tokens).";
    view! {
        <main class="card wide" data-testid="users">
            <p class="crumbs">{if operator { "Users" } else { "Workspace › Users" }}</p>
            <h1>"Users"</h1>
            {move || outcome.get().map(|result| match result {
                Ok(done) => view! {
                    <div class="notice toast" role="status" data-testid="toast">
                        <button type="button" class="toast-close" aria-label="Dismiss" on:click=move |_| outcome.set(None)>"×"</button>
                        <p class="notice-message">{done.message.clone()}</p>
                        {done.value.clone().map(|(value, label)| view! { <CopyValue value label/> })}
                    </div>
                }.into_any(),
                Err(error) => view! {
                    <div class="toast">
                        <button type="button" class="toast-close" aria-label="Dismiss" on:click=move |_| outcome.set(None)>"×"</button>
                        <ErrorNotice error/>
                    </div>
                }.into_any(),
            })}
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
                                {move || tenants.get().flatten().map(|list| list.into_iter().map(|t| view! {
                                    <option value=t.id.to_string()>{t.name}</option>
                                }).collect_view())}
                            </Suspense>
                        </select>
                    </label>
                })}
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
                    Ok(page) => view! { <UserTable page status cursors changed outcome/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })}
            </Suspense>
            <p class="hint">{csv_hint}</p>
        </main>
    }
    .into_any()
}

#[component]
fn UserTable(
    page: UserPage,
    status: RwSignal<Option<MembershipStatus>>,
    cursors: RwSignal<Vec<String>>,
    changed: RwSignal<u32>,
    outcome: RwSignal<Option<Result<Outcome, AppError>>>,
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
    // One dialog for the page: the pending action and its row.
    let pending = RwSignal::new(None::<(RowAction, UserRow)>);
    let confirming = RwSignal::new(false);
    let choosing_role = RwSignal::new(None::<UserRow>);
    let chosen_role = RwSignal::new(None::<Uuid>);
    let perform = move |action: RowAction, row: UserRow, role: Option<Uuid>| {
        leptos::task::spawn_local(async move {
            let result = run(action, row, role).await;
            outcome.set(Some(result));
            changed.update(|n| *n += 1);
        });
    };
    let choose = Callback::new(move |(action, row): (RowAction, UserRow)| {
        if action == RowAction::ChangeRole {
            chosen_role.set(Some(row.role_id));
            choosing_role.set(Some(row));
        } else if action.confirmation(&row).is_some() {
            pending.set(Some((action, row)));
            confirming.set(true);
        } else {
            perform(action, row, None);
        }
    });
    let title = Signal::derive(move || {
        pending
            .get()
            .and_then(|(a, r)| a.confirmation(&r))
            .map(|c| c.0)
            .unwrap_or_default()
    });
    let body = Signal::derive(move || {
        pending
            .get()
            .and_then(|(a, r)| a.confirmation(&r))
            .map(|c| c.1)
            .unwrap_or_default()
    });
    let button = Signal::derive(move || {
        pending
            .get()
            .and_then(|(a, r)| a.confirmation(&r))
            .map(|c| c.2.to_owned())
            .unwrap_or_default()
    });
    view! {
        <div class="tabs" role="tablist" aria-label="Status">{tabs}</div>
        {empty.then(|| view! { <p class="empty" data-testid="empty">"No users match these filters."</p> })}
        {(!empty).then(|| view! {
            <table class="table" data-testid="user-table">
                <thead><tr><th>"Name"</th><th>"Email"</th><th class="col-optional">"Workspace"</th><th class="col-optional">"Role"</th><th>"Status"</th><th class="col-optional">"MFA"</th><th><span class="sr-only">"Actions"</span></th></tr></thead>
                <tbody>
                    {page.users.into_iter().map(|row| view! { <UserRowView row choose/> }).collect_view()}
                </tbody>
            </table>
        })}
        <div class="pager">
            <button type="button" class="button-secondary" disabled=move || cursors.with(Vec::is_empty)
                on:click=move |_| cursors.update(|c| { c.pop(); })>"Previous"</button>
            <button type="button" class="button-secondary" disabled=next.is_none()
                on:click=move |_| if let Some(cursor) = next.clone() { cursors.update(|c| c.push(cursor)) }>"Next"</button>
        </div>
        <ConfirmDialog open=confirming title body confirm_label=button
            on_confirm=Callback::new(move |_| {
                if let Some((action, row)) = pending.get_untracked() {
                    perform(action, row, None);
                }
            })/>
        {move || choosing_role.get().map(|row| {
            let roles = LocalResource::new({
                let tenant_id = row.tenant_id;
                move || list_roles(Some(tenant_id))
            });
            let submit_row = row.clone();
            view! {
                <div class="notice" data-testid="change-role">
                    <form class="form-row" on:submit=move |ev: leptos::ev::SubmitEvent| {
                        ev.prevent_default();
                        choosing_role.set(None);
                        perform(RowAction::ChangeRole, submit_row.clone(), chosen_role.get_untracked());
                    }>
                        <label>{format!("New role for {}", row.display_name)}
                            <select on:change=move |ev| chosen_role.set(event_target_value(&ev).parse().ok())>
                                <Suspense fallback=|| ()>
                                    {move || roles.get().and_then(Result::ok).map(|list: Vec<RoleSummary>| list.into_iter().map(|r| {
                                        let id = r.id;
                                        view! { <option value=id.to_string() selected=move || chosen_role.get() == Some(id)>{r.name}</option> }
                                    }).collect_view())}
                                </Suspense>
                            </select>
                        </label>
                        <button type="button" class="button-secondary" on:click=move |_| choosing_role.set(None)>"Cancel"</button>
                        <button type="submit" class="button">"Change Role"</button>
                    </form>
                </div>
            }
        })}
    }
}

fn menu_items(row: UserRow, open: RwSignal<bool>, choose: Callback<(RowAction, UserRow)>) -> impl IntoView {
    RowAction::for_status(row.status)
        .iter()
        .map(|&action| {
            let reason = action.unavailable(&row);
            let picked = row.clone();
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
fn UserRowView(row: UserRow, choose: Callback<(RowAction, UserRow)>) -> impl IntoView {
    let open = RwSignal::new(false);
    let kebab = NodeRef::<leptos::html::Button>::new();
    let close = move || {
        open.set(false);
        if let Some(button) = kebab.get() {
            let _ = button.focus();
        }
    };
    let label = format!("Actions for {}", row.email);
    let menu_row = row.clone();
    view! {
        <tr data-testid="user-row" data-email=row.email.clone()>
            <td>{row.display_name.clone()}{row.username.clone().map(|u| view! { <br/><span class="muted">{u}</span> })}</td>
            <td>{row.email.clone()}</td>
            <td class="col-optional">{row.tenant_slug.clone()}</td>
            <td class="col-optional">{row.role_name.clone()}</td>
            <td><span class=badge(row.status)>{row.status.label()}</span></td>
            <td class="col-optional">{if row.mfa_enrolled { "Set up" } else { "—" }}</td>
            <td class="row-actions menu-anchor" on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { close() }>
                <button type="button" class="kebab" node_ref=kebab aria-haspopup="menu" aria-expanded=move || open.get().to_string()
                    aria-label=label on:click=move |_| open.update(|o| *o = !*o)>"⋮"</button>
                <Show when=move || open.get()>
                    <ul class="menu" role="menu" data-testid="row-menu">{menu_items(menu_row.clone(), open, choose)}</ul>
                </Show>
            </td>
        </tr>
    }
}
