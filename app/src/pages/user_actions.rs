//! The account actions of the row menus and the Edit User page: their seed wording, which
//! statuses offer them, why one cannot apply, the confirmations, and the server call each makes.

use crate::AppError;
use crate::api::list_roles;
use crate::components::{ConfirmDialog, CopyValue, ErrorNotice};
use crate::types::{MembershipStatus, MfaResetLevel, PersonReach, RoleSummary, UserRow};
use leptos::prelude::*;
use uuid::Uuid;

/// Who an action is for, and what decides whether it can apply.
#[derive(Clone, Debug, PartialEq)]
pub struct Subject {
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    pub display_name: String,
    pub email: String,
    pub role_id: Uuid,
    pub sso: bool,
    pub mfa_enrolled: bool,
    /// Whether the admin may act on the whole person (password, every factor), or why not.
    pub reach: PersonReach,
    /// A member of the operator org, not of a tenant workspace.
    pub operator_member: bool,
    /// The admin looking is one of the operator's.
    pub operator_viewer: bool,
}

impl Subject {
    pub fn of_row(row: &UserRow, operator_viewer: bool, operator_slug: &str) -> Self {
        Self {
            user_id: row.user_id,
            tenant_id: row.tenant_id,
            display_name: row.display_name.clone(),
            email: row.email.clone(),
            role_id: row.role_id,
            sso: row.sso,
            mfa_enrolled: row.mfa_enrolled,
            reach: row.reach,
            operator_member: row.tenant_slug == operator_slug,
            operator_viewer,
        }
    }
}

/// The account actions, in the wording of the seeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowAction {
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
    DisableAccess,
    /// The enrollment the workspace's enforcement asked for (seed 004).
    ResetOrgMfa,
    /// Operators only, for users of tenant workspaces.
    Impersonate,
}

impl RowAction {
    pub fn label(self) -> &'static str {
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
            Self::DisableAccess => "Disable Access",
            Self::ResetOrgMfa => "Reset Org-Level MFA",
            Self::Impersonate => "Impersonate",
        }
    }

    /// The items of a row's menu, by status (DESIGN.md).
    pub fn for_status(status: MembershipStatus) -> &'static [RowAction] {
        match status {
            MembershipStatus::Active => &[
                Self::SendResetLink,
                Self::ResetMfa,
                Self::TemporaryPassword,
                Self::ChangeRole,
                Self::Lock,
                Self::DisableAccess,
                Self::Impersonate,
            ],
            MembershipStatus::Pending => &[
                Self::ResendInvite,
                Self::AccessLink,
                Self::ChangeRole,
                Self::RevokeInvite,
            ],
            MembershipStatus::Locked => &[Self::Unlock, Self::SendResetLink, Self::ResetMfa, Self::DisableAccess],
            MembershipStatus::Cooldown => &[Self::ResetCooldown, Self::ResetMfa, Self::Lock, Self::DisableAccess],
            MembershipStatus::Disabled => &[Self::EnableAccess],
        }
    }

    /// Why the action cannot apply to this row, if it cannot.
    pub fn unavailable(self, row: &Subject) -> Option<&'static str> {
        match self {
            Self::SendResetLink if row.sso => Some("Password reset is not available: this account signs in with SSO"),
            Self::TemporaryPassword if row.sso => {
                Some("Temporary passwords are not available: this account signs in with SSO")
            }
            Self::SendResetLink | Self::TemporaryPassword | Self::ResetMfa if row.reach.refusal().is_some() => {
                row.reach.refusal()
            }
            Self::TemporaryPassword if row.reach == PersonReach::WholeShared => {
                Some("Temporary passwords are not available: the user belongs to more than one workspace")
            }
            Self::ResetMfa | Self::ResetOrgMfa if !row.mfa_enrolled => Some("MFA is not set up for this user"),
            Self::Impersonate if !row.operator_viewer => Some("Only the operator's admins can impersonate"),
            Self::Impersonate if row.operator_member => Some("Only users of tenant workspaces can be impersonated"),
            _ => None,
        }
    }

    /// (title, text, button) of the confirmation, for the actions that ask first.
    pub fn confirmation(self, row: &Subject) -> Option<(String, String, &'static str)> {
        let who = row.display_name.clone();
        match self {
            Self::ResetMfa => Some((
                "Reset MFA for this user?".into(),
                "Once MFA is reset, the user will need to set up multi-factor authentication again.".into(),
                "Reset MFA",
            )),
            Self::ResetOrgMfa => Some((
                "Reset org-level MFA for this user?".into(),
                "The factors set up for this workspace are removed; if none is left, the user sets MFA up again at the next sign-in here.".into(),
                "Reset Org-Level MFA",
            )),
            Self::Impersonate => Some((
                format!("Impersonate {who}?"),
                "A new tab opens the workspace signed in as this user for at most 30 minutes. It is recorded in the audit trail and in the user's security events.".into(),
                "Impersonate",
            )),
            Self::Lock => Some((
                format!("Lock {who}'s account?"),
                "The user is signed out of this workspace and cannot sign in to it until the account is unlocked.".into(),
                "Lock Account",
            )),
            Self::DisableAccess => Some((
                format!("Disable {who}'s access?"),
                "The user is signed out of this workspace and sees \"This account is disabled\" at sign-in until access is enabled again.".into(),
                "Disable Access",
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
pub struct Outcome {
    pub message: String,
    pub value: Option<(String, &'static str)>,
}

pub async fn run(action: RowAction, row: Subject, role_id: Option<Uuid>) -> Result<Outcome, AppError> {
    use crate::api::*;
    let (user_id, tenant_id) = (row.user_id, row.tenant_id);
    let who = row.display_name.clone();
    let said = |message: String| Ok(Outcome { message, value: None });
    match action {
        RowAction::SendResetLink => {
            send_password_reset_link(user_id, tenant_id).await?;
            said(format!("A password reset link was sent to {}.", row.email))
        }
        RowAction::ResetMfa | RowAction::ResetOrgMfa => {
            let level = if action == RowAction::ResetMfa {
                MfaResetLevel::User
            } else {
                MfaResetLevel::Org
            };
            let answer = reset_mfa(vec![user_id], tenant_id, level).await?;
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
        RowAction::DisableAccess => {
            disable_access(user_id, tenant_id).await?;
            said(format!("Access was disabled for {who}."))
        }
        RowAction::Impersonate => {
            let link = impersonate_user(user_id, tenant_id).await?;
            // Opened at once: the link is good for two minutes and works once.
            let opened = web_sys::window().and_then(|w| w.open_with_url_and_target(&link.url, "_blank").ok().flatten());
            Ok(Outcome {
                message: format!(
                    "Impersonating {who} in a new tab until {}. End it from the banner there.",
                    (link.expires_at + chrono::Duration::minutes(28)).format("%H:%M UTC")
                ),
                value: opened
                    .is_none()
                    .then_some((link.url, "Impersonation link (works once, for 2 minutes)")),
            })
        }
    }
}

/// Where an action's outcome shows: a toast that says what happened, with a one-time value to
/// copy when there is one.
#[component]
pub fn Toast(outcome: RwSignal<Option<Result<Outcome, AppError>>>) -> impl IntoView {
    move || {
        outcome.get().map(|result| match result {
            Ok(done) => view! {
                <div class="notice toast" role="status" data-testid="toast">
                    <button type="button" class="toast-close" aria-label="Dismiss" on:click=move |_| outcome.set(None)>"×"</button>
                    <p class="notice-message">{done.message.clone()}</p>
                    {done.value.clone().map(|(value, label)| view! { <CopyValue value label/> })}
                </div>
            }
            .into_any(),
            Err(error) => view! {
                <div class="toast">
                    <button type="button" class="toast-close" aria-label="Dismiss" on:click=move |_| outcome.set(None)>"×"</button>
                    <ErrorNotice error/>
                </div>
            }
            .into_any(),
        })
    }
}

/// Runs the actions a page offers: asks first where the action says so, lets the admin choose
/// the role for Change Role, then reports in `outcome` and bumps `changed` so lists reload.
/// Returns the callback the menus and buttons call, and the dialogs to place on the page.
pub fn action_runner(
    outcome: RwSignal<Option<Result<Outcome, AppError>>>,
    changed: RwSignal<u32>,
) -> (Callback<(RowAction, Subject)>, impl IntoView) {
    let pending = RwSignal::new(None::<(RowAction, Subject)>);
    let confirming = RwSignal::new(false);
    let choosing_role = RwSignal::new(None::<Subject>);
    let chosen_role = RwSignal::new(None::<Uuid>);
    let perform = move |action: RowAction, subject: Subject, role: Option<Uuid>| {
        leptos::task::spawn_local(async move {
            let result = run(action, subject, role).await;
            outcome.set(Some(result));
            changed.update(|n| *n += 1);
        });
    };
    let choose = Callback::new(move |(action, subject): (RowAction, Subject)| {
        if action == RowAction::ChangeRole {
            chosen_role.set(Some(subject.role_id));
            choosing_role.set(Some(subject));
        } else if action.confirmation(&subject).is_some() {
            pending.set(Some((action, subject)));
            confirming.set(true);
        } else {
            perform(action, subject, None);
        }
    });
    let part = move |pick: fn((String, String, &'static str)) -> String| {
        Signal::derive(move || {
            pending
                .get()
                .and_then(|(a, s)| a.confirmation(&s))
                .map(pick)
                .unwrap_or_default()
        })
    };
    let dialogs = view! {
        <ConfirmDialog open=confirming title=part(|c| c.0) body=part(|c| c.1) confirm_label=part(|c| c.2.to_owned())
            on_confirm=Callback::new(move |_| {
                if let Some((action, subject)) = pending.get_untracked() {
                    perform(action, subject, None);
                }
            })/>
        {move || choosing_role.get().map(|subject| {
            let roles = LocalResource::new({
                let tenant_id = subject.tenant_id;
                move || list_roles(Some(tenant_id), Some(false))
            });
            let submitted = subject.clone();
            view! {
                <div class="notice" data-testid="change-role">
                    <form class="form-row" on:submit=move |ev: leptos::ev::SubmitEvent| {
                        ev.prevent_default();
                        choosing_role.set(None);
                        perform(RowAction::ChangeRole, submitted.clone(), chosen_role.get_untracked());
                    }>
                        <label>{format!("New role for {}", subject.display_name)}
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
    };
    (choose, dialogs)
}
