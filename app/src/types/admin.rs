//! What the admin console and the REST API list and change: users, tenants, logs, API tokens.

use super::{MembershipStatus, MfaFactorSummary, SecurityEventType, SignInMode, TenantKind, TenantStatus};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Largest page a list answers; the default is [`DEFAULT_PAGE`].
pub const MAX_PAGE: u32 = 200;
pub const DEFAULT_PAGE: u32 = 50;

text_enum! {
    /// The MFA filter of a users list.
    pub enum MfaState {
        /// At least one confirmed factor.
        Enrolled = "enrolled",
        NotEnrolled = "not_enrolled",
    }
}

text_enum! {
    /// How far the caller's authority reaches over a person (docs/design.md, "One person, many
    /// workspaces"). What touches the whole person (their password, every factor, their email,
    /// their sessions on other hosts) needs authority over every workspace they belong to.
    pub enum PersonReach {
        /// Every workspace of the person is the caller's; they belong to one.
        Whole = "whole",
        /// Every workspace of the person is the caller's; they belong to several (one temporary
        /// password would open them all).
        WholeShared = "whole_shared",
        /// The person has not accepted this workspace's invite yet: only the invite may be acted
        /// on. Told the same way whoever the person is, so it reveals nothing of them.
        Invited = "invited",
        /// The person's sign-in is also used beyond the caller's workspace.
        Beyond = "beyond",
    }
}

impl PersonReach {
    /// Why an action on the whole person is not open to the caller, naming no other workspace.
    pub fn refusal(self) -> Option<&'static str> {
        match self {
            Self::Whole | Self::WholeShared => None,
            Self::Invited => Some("Not available until the invite is accepted"),
            Self::Beyond => Some(
                "Not available here: this person's sign-in is also used outside this workspace. Use Reset Org-Level MFA or Lock Account, or ask your service provider",
            ),
        }
    }

    /// In more than one workspace, as far as the caller may know.
    pub fn several_workspaces(self) -> bool {
        matches!(self, Self::WholeShared | Self::Beyond)
    }
}

/// Filters of a users list (`GET /api/v1/users`, the console's Users pages). Every filter is
/// optional; `cursor` is the `nextCursor` of the page before.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams, utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserListQuery {
    /// Part of a name, email or username (case-insensitive).
    #[serde(default)]
    pub q: Option<String>,
    /// One workspace; a tenant-scoped caller always sees only their own.
    #[serde(default)]
    pub tenant_id: Option<Uuid>,
    #[serde(default)]
    pub status: Option<MembershipStatus>,
    /// A role's id.
    #[serde(default)]
    pub role_id: Option<Uuid>,
    #[serde(default)]
    pub mfa: Option<MfaState>,
    #[serde(default)]
    pub cursor: Option<String>,
    /// 1 to 200; 50 when left out.
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One row of a users list: a user's membership of one workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserRow {
    pub user_id: Uuid,
    pub email: String,
    pub username: Option<String>,
    pub display_name: String,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub tenant_name: String,
    /// The workspace signs in with SSO: password actions do not apply.
    pub sso: bool,
    pub role_id: Uuid,
    pub role_name: String,
    /// The status in effect now (an ended cooldown or lock reads as Active).
    pub status: MembershipStatus,
    pub locked_reason: Option<String>,
    pub locked_until: Option<DateTime<Utc>>,
    pub cooldown_until: Option<DateTime<Utc>>,
    pub mfa_enrolled: bool,
    /// Whether the caller may act on the whole person, or why not.
    pub reach: PersonReach,
    pub created_at: DateTime<Utc>,
}

/// How many rows of each status the filters match (the status filter itself aside).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StatusCounts {
    pub pending: u64,
    pub active: u64,
    pub locked: u64,
    pub cooldown: u64,
    pub disabled: u64,
}

impl StatusCounts {
    pub fn of(&self, status: MembershipStatus) -> u64 {
        match status {
            MembershipStatus::Pending => self.pending,
            MembershipStatus::Active => self.active,
            MembershipStatus::Locked => self.locked,
            MembershipStatus::Cooldown => self.cooldown,
            MembershipStatus::Disabled => self.disabled,
        }
    }

    pub fn add(&mut self, status: MembershipStatus, count: u64) {
        let slot = match status {
            MembershipStatus::Pending => &mut self.pending,
            MembershipStatus::Active => &mut self.active,
            MembershipStatus::Locked => &mut self.locked,
            MembershipStatus::Cooldown => &mut self.cooldown,
            MembershipStatus::Disabled => &mut self.disabled,
        };
        *slot += count;
    }

    pub fn total(&self) -> u64 {
        MembershipStatus::ALL.iter().map(|s| self.of(*s)).sum()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserPage {
    pub users: Vec<UserRow>,
    /// Pass back as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
    pub counts: StatusCounts,
}

/// A user's membership of one workspace, with what an admin needs to judge access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MembershipDetail {
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub tenant_name: String,
    pub sso: bool,
    pub is_mfa_enforced: bool,
    pub role_id: Uuid,
    pub role_name: String,
    pub status: MembershipStatus,
    pub locked_reason: Option<String>,
    pub locked_until: Option<DateTime<Utc>>,
    pub cooldown_until: Option<DateTime<Utc>>,
    /// Wrong MFA codes since the last success.
    pub mfa_failed_attempts: i32,
    /// A pending invite's link expiry.
    pub invite_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// `GET /api/v1/users/{id}`: a user as an admin sees them, limited to the caller's scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserDetail {
    pub id: Uuid,
    pub email: String,
    pub username: Option<String>,
    pub display_name: String,
    pub secondary_email: Option<String>,
    pub phone: Option<String>,
    pub has_password: bool,
    pub password_changed_at: Option<DateTime<Utc>>,
    pub must_change_password: bool,
    pub memberships: Vec<MembershipDetail>,
    /// The factors the caller may see: all of them for an admin of every workspace of the
    /// person, otherwise those set up on the caller's workspace.
    pub factors: Vec<MfaFactorSummary>,
    /// For an admin of every workspace of the person only: the codes are the whole person's.
    pub recovery_codes_left: Option<u64>,
    /// The live sessions on workspaces the caller may see.
    pub active_sessions: u64,
    /// Whether the caller may act on the whole person, or why not.
    pub reach: PersonReach,
    /// The live sessions the caller may see, newest first.
    pub sessions: Vec<UserSessionRow>,
    /// Every reason the next sign-in on a visible workspace would fail or stop.
    pub access: Vec<AccessProblem>,
    pub pending_email: Option<PendingEmailChange>,
    pub created_at: DateTime<Utc>,
}

/// `DELETE /api/v1/users/by-email/{email}`: the workspaces the user was removed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RemovedUser {
    pub user_id: Uuid,
    pub email: String,
    pub removed_from: Vec<TenantRef>,
    /// True when no membership was left, so the user itself was deleted. Told to the operator's
    /// admins only: to a workspace's admin it would say whether the person belongs elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_deleted: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TenantRef {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
}

/// A workspace as the Tenants list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TenantSummary {
    pub id: Uuid,
    pub slug: String,
    pub name: String,
    pub kind: TenantKind,
    pub sign_in_mode: SignInMode,
    pub is_mfa_enforced: bool,
    pub status: TenantStatus,
    pub sign_in_url: String,
    pub member_count: u64,
    pub policy: PolicyOverrides,
    /// An identity provider is set up, so the workspace may sign in with SSO.
    pub sso_configured: bool,
    pub created_at: DateTime<Utc>,
}

/// "Create tenant", also `POST /api/v1/tenants`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewTenant {
    pub name: String,
    /// The subdomain: 2 to 63 lower-case letters, digits and inner hyphens.
    pub slug: String,
    #[serde(default)]
    pub sign_in_mode: Option<SignInMode>,
    #[serde(default)]
    pub is_mfa_enforced: Option<bool>,
}

/// `PUT /api/v1/tenants/{id}/mfa`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantMfaSetting {
    pub is_mfa_enforced: bool,
}

/// Filters of the MFA error log (`GET /api/v1/events`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams, utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventQuery {
    #[serde(default, rename = "type")]
    pub event_type: Option<SecurityEventType>,
    /// Earliest time, inclusive (RFC 3339).
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    /// Latest time, exclusive (RFC 3339).
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    /// A support reference (e.g. `7F3K-Q2M9`), or part of an email or sign-in identifier.
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub tenant_id: Option<Uuid>,
    #[serde(default)]
    pub user_id: Option<Uuid>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One security event (the MFA error log and more).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SecurityEventRow {
    pub id: Uuid,
    /// The support reference the user saw.
    pub reference: String,
    #[serde(rename = "type")]
    pub event_type: SecurityEventType,
    pub type_label: String,
    pub occurred_at: DateTime<Utc>,
    pub user_id: Option<Uuid>,
    pub user_email: Option<String>,
    pub tenant_id: Option<Uuid>,
    pub tenant_slug: Option<String>,
    /// What was typed to sign in, when no user matched it.
    pub identifier: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// E.g. the SMS provider's status code.
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub detail: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct EventPage {
    pub events: Vec<SecurityEventRow>,
    pub next_cursor: Option<String>,
}

/// Filters of the audit trail (`GET /api/v1/audit`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::IntoParams, utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", into_params(parameter_in = Query))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditQuery {
    /// An action name, e.g. `user.locked`.
    #[serde(default)]
    pub action: Option<String>,
    #[serde(default)]
    pub from: Option<DateTime<Utc>>,
    #[serde(default)]
    pub to: Option<DateTime<Utc>>,
    /// Part of the actor's email, or a target id.
    #[serde(default)]
    pub q: Option<String>,
    #[serde(default)]
    pub tenant_id: Option<Uuid>,
    #[serde(default)]
    pub cursor: Option<String>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One audit row: who changed what, where, when, from and to what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditRow {
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    pub actor_user_id: Option<Uuid>,
    pub actor_email: Option<String>,
    /// Set when the change came through an API token.
    pub actor_token_id: Option<Uuid>,
    pub action: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub tenant_id: Option<Uuid>,
    pub tenant_slug: Option<String>,
    pub ip: Option<String>,
    pub request_id: Option<String>,
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub before: Option<serde_json::Value>,
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub after: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditPage {
    pub entries: Vec<AuditRow>,
    pub next_cursor: Option<String>,
}

/// An API token as Settings > API tokens lists it. The token itself is never shown again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ApiTokenSummary {
    pub id: Uuid,
    pub name: String,
    /// The first characters, to recognise it.
    pub prefix: String,
    pub owner_email: String,
    pub tenant_id: Uuid,
    pub tenant_slug: String,
    pub role_name: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// "Create token", also `POST /api/v1/tokens`. The token acts as its creator, in the creator's
/// workspace, with the creator's role or a lesser built-in one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewApiToken {
    pub name: String,
    /// A built-in role key (`administrator`, `support`, `read_only`); the creator's role when
    /// left out.
    #[serde(default)]
    pub role: Option<String>,
    /// 1 to 365; no expiry when left out.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
}

/// A new token, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CreatedApiToken {
    pub token: String,
    pub summary: ApiTokenSummary,
}

text_enum! {
    /// Which MFA enrollment a reset removes (seed 004: "Reset MFA For This User" and "Reset
    /// Org-Level MFA For This User").
    pub enum MfaResetLevel {
        /// Every factor and recovery code of the user, wherever it was set up.
        User = "user",
        /// The factors set up on this workspace (the enrollment its enforcement asked for); the
        /// recovery codes go when no factor is left.
        Org = "org",
    }
}

/// `PUT /api/v1/users/mfa/reset`, and the console's bulk "Reset MFA".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BulkMfaReset {
    /// 1 to 1000 user ids.
    pub ids: Vec<Uuid>,
    /// The workspace; optional when each user has one, or for a tenant's token.
    #[serde(default)]
    pub tenant_id: Option<Uuid>,
    /// `user` (default): every factor; `org`: the factors set up on that workspace.
    #[serde(default)]
    pub level: Option<MfaResetLevel>,
}

/// At most this many users in one bulk action.
pub const BULK_LIMIT: usize = 1000;

/// One row's answer in a bulk action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BulkResult {
    pub id: Uuid,
    /// `done`; `skipped` when there was nothing to do for this row (the message says why); or
    /// the error code (`not_found`, `forbidden`, ...).
    pub result: String,
    pub message: String,
}

impl BulkResult {
    pub fn of(id: Uuid, outcome: Result<(), crate::AppError>, done_message: &str) -> Self {
        match outcome {
            Ok(()) => Self {
                id,
                result: "done".into(),
                message: done_message.into(),
            },
            Err(error @ crate::AppError::Conflict { .. }) => Self {
                id,
                result: "skipped".into(),
                message: error.message().into(),
            },
            Err(error) => Self {
                id,
                result: error.code().into(),
                message: error.message().into(),
            },
        }
    }

    pub fn succeeded(&self) -> bool {
        self.result == "done"
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct BulkResults {
    pub results: Vec<BulkResult>,
}

/// A role as the Roles tab and the Change Role dialog show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct RoleSummary {
    pub id: Uuid,
    /// `administrator`, `support`, `read_only` or `member` for the built-in roles.
    pub key: Option<String>,
    pub name: String,
    pub builtin: bool,
    pub permissions: Vec<String>,
    /// Memberships holding the role, in the caller's scope; absent when the caller asked for the
    /// roles without their counts (a filter or a dialog needs only the names).
    pub member_count: Option<u64>,
    /// The workspace a custom role belongs to.
    pub workspace: Option<String>,
}

/// `POST /api/v1/roles`: a custom role for one workspace, with permissions no wider than the
/// caller's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRole {
    /// The workspace; the caller's own when left out.
    #[serde(default)]
    pub tenant_id: Option<Uuid>,
    /// 2 to 60 characters, unique in the workspace.
    pub name: String,
    /// Permission names, e.g. `users.read`, `users.support` (see the Roles tab).
    pub permissions: Vec<String>,
}

/// Every permission a role may hold, with what it allows, for the Roles tab.
pub const PERMISSIONS: [(&str, &str); 11] = [
    ("users.read", "See users, their status and sessions"),
    (
        "users.support",
        "Reset passwords and MFA, unlock, resend invites, end sessions",
    ),
    ("users.manage", "Invite, change roles and emails, remove users"),
    ("users.impersonate", "Impersonate tenant users (operator admins only)"),
    ("roles.manage", "Create custom roles"),
    ("tenants.read", "See workspaces"),
    ("tenants.manage", "Create workspaces and change their settings"),
    ("settings.manage", "Change deployment settings"),
    ("events.read", "Read the MFA error logs"),
    ("audit.read", "Read the audit trail"),
    ("tokens.manage", "Create and revoke API tokens"),
];

/// `POST /api/v1/users/{id}/role`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleChange {
    pub role_id: Uuid,
    #[serde(default)]
    pub tenant_id: Option<Uuid>,
}

text_enum! {
    /// Why a user's next sign-in on a workspace would not go through (the access diagnosis).
    pub enum AccessProblemKind {
        Locked = "locked",
        /// Too many wrong passwords for the identifier: the sign-in counter is locked.
        SignInLocked = "sign_in_locked",
        Cooldown = "cooldown",
        InvitePending = "invite_pending",
        InviteExpired = "invite_expired",
        Disabled = "disabled",
        WorkspaceSuspended = "workspace_suspended",
        Sso = "sso",
        NoPassword = "no_password",
        MustChangePassword = "must_change_password",
        TemporaryPasswordExpired = "temporary_password_expired",
        MfaEnrollmentRequired = "mfa_enrollment_required",
        WrongHost = "wrong_host",
    }
}

text_enum! {
    /// The one action that fixes an access problem, offered in place on the Edit User page.
    pub enum AccessFix {
        UnlockAccount = "unlock_account",
        ResetCooldown = "reset_cooldown",
        ResendInvite = "resend_invite",
        EnableAccess = "enable_access",
        SendResetLink = "send_reset_link",
        GenerateTemporaryPassword = "generate_temporary_password",
        /// Nothing to undo: tell the user where to sign in (the URL is in the message).
        CopySignInUrl = "copy_sign_in_url",
    }
}

/// One reason the next sign-in would fail or stop, with its fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccessProblem {
    pub tenant_id: Uuid,
    pub tenant_name: String,
    pub kind: AccessProblemKind,
    /// What stops the user, in words an admin can read to them.
    pub message: String,
    /// `true` when the sign-in is refused; `false` when it goes through but stops at a step the
    /// user must take (set up MFA, replace a password).
    pub blocks_sign_in: bool,
    pub fix: Option<AccessFix>,
    /// The sign-in address, for [`AccessFix::CopySignInUrl`].
    pub sign_in_url: String,
}

/// A live session of a user, as an admin sees it on the Edit User page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UserSessionRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub tenant_name: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Set when an admin opened this session to see the workspace as the user.
    pub impersonated_by: Option<String>,
}

/// An email change waiting for the new address to confirm it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PendingEmailChange {
    pub new_email: String,
    pub expires_at: DateTime<Utc>,
}

/// `POST /api/v1/users/{id}/email`: change the main email; it applies when the new address
/// confirms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailChangeRequest {
    pub email: String,
}

/// Policies a workspace may set for itself (Tenant › Settings); a missing value keeps the
/// deployment default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PolicyOverrides {
    /// How long invite and access links work: 1 to 30 days (default 7).
    #[serde(default)]
    pub invite_link_days: Option<u32>,
    /// How long a temporary password works: 1 to 72 hours (default 24).
    #[serde(default)]
    pub temporary_password_hours: Option<u32>,
}

pub const DEFAULT_INVITE_LINK_DAYS: u32 = 7;
pub const DEFAULT_TEMPORARY_PASSWORD_HOURS: u32 = 24;

impl PolicyOverrides {
    pub fn invite_link_days(&self) -> u32 {
        self.invite_link_days.unwrap_or(DEFAULT_INVITE_LINK_DAYS)
    }

    pub fn temporary_password_hours(&self) -> u32 {
        self.temporary_password_hours
            .unwrap_or(DEFAULT_TEMPORARY_PASSWORD_HOURS)
    }

    /// Each value within its bounds, or the field and what is allowed.
    pub fn check(&self) -> Result<(), (&'static str, &'static str)> {
        if self.invite_link_days.is_some_and(|d| !(1..=30).contains(&d)) {
            return Err(("inviteLinkDays", "Invite links work 1 to 30 days."));
        }
        if self.temporary_password_hours.is_some_and(|h| !(1..=72).contains(&h)) {
            return Err(("temporaryPasswordHours", "Temporary passwords work 1 to 72 hours."));
        }
        Ok(())
    }
}

/// `PUT /api/v1/tenants/{id}/settings`, Tenant › Settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantSettings {
    pub sign_in_mode: SignInMode,
    pub is_mfa_enforced: bool,
    #[serde(default, deserialize_with = "object")]
    pub policy: PolicyOverrides,
}

/// Reads a nested struct from a JSON object only: serde would also take an array of its fields.
fn object<'de, D: serde::Deserializer<'de>, T: serde::de::DeserializeOwned>(d: D) -> Result<T, D::Error> {
    let value = serde_json::Value::deserialize(d)?;
    if !value.is_object() {
        return Err(serde::de::Error::custom("expected a JSON object"));
    }
    serde_json::from_value(value).map_err(serde::de::Error::custom)
}

/// Tenant › Settings › Single sign-on, as the console and `GET /api/v1/tenants/{id}/sso` show
/// it. The client secret is never shown again once saved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SsoConfig {
    pub issuer: Option<String>,
    pub client_id: Option<String>,
    pub has_client_secret: bool,
    pub allowed_domains: Vec<String>,
    pub jit_provisioning: bool,
    pub requires_mfa: bool,
    /// The redirect URI to register at the identity provider.
    pub redirect_uri: String,
}

/// `PUT /api/v1/tenants/{id}/sso`. An empty or absent `clientSecret` keeps the stored one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SsoConfigUpdate {
    /// The provider's issuer URL, exactly as its discovery document names it.
    pub issuer: String,
    pub client_id: String,
    #[serde(default)]
    pub client_secret: Option<String>,
    /// Email domains that may sign in through the provider; empty means any.
    #[serde(default)]
    pub allowed_domains: Vec<String>,
    /// Give an allowed email with no account here a Member account at its first sign-in.
    #[serde(default)]
    pub jit_provisioning: bool,
    /// Latchkey's own MFA still applies after the provider signed the user in.
    #[serde(default = "yes")]
    pub requires_mfa: bool,
}

fn yes() -> bool {
    true
}

/// `POST /api/v1/tenants/{id}/sso/test`: the issuer to try, saved or not.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SsoConnectionTest {
    pub issuer: String,
}

/// What "Test connection" found at the issuer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SsoConnectionReport {
    /// The discovery document was found and has everything sign-in needs.
    pub ok: bool,
    pub issuer: String,
    /// Each thing that is wrong, in words an admin can act on; empty when `ok`.
    pub problems: Vec<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub signing_keys: u32,
}
