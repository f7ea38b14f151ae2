//! Server functions for admins acting on users and on the deployment: each checks the session,
//! then calls the one service that holds the rule (and its permission check).

use crate::AppError;
use crate::types::{
    AccessLink, ApiTokenSummary, AuditPage, AuditQuery, BulkResults, CreatedApiToken, EventPage, EventQuery,
    InviteOutcome, MfaResetLevel, OutboxMessage, OutboxMessageBody, OutboxPage, PendingEmailChange, RoleSummary,
    SignInMode, SsoConfig, SsoConnectionReport, TemporaryPassword, TenantSummary, UserDetail, UserListQuery, UserPage,
};
use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
async fn admin() -> Result<(super::ssr::FnContext, crate::server::Actor), AppError> {
    let ctx = super::ssr::context()?;
    let actor =
        crate::server::services::auth::require_session(&ctx.state, &ctx.realm, &ctx.meta, ctx.session_token()).await?;
    Ok((ctx, actor))
}

/// "Invite user" to a workspace (the caller's own when `tenant_id` is left out).
#[server]
pub async fn invite_user(
    email: String,
    display_name: String,
    username: Option<String>,
    tenant_id: Option<Uuid>,
    role: Option<String>,
) -> Result<InviteOutcome, AppError> {
    let (ctx, actor) = admin().await?;
    let request = crate::types::InviteRequest {
        email,
        display_name,
        username,
        tenant_id,
        role,
    };
    crate::server::services::invites::invite(&ctx.state, &actor, &ctx.meta, request).await
}

#[server]
pub async fn resend_invite(user_id: Uuid, tenant_id: Uuid) -> Result<InviteOutcome, AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::invites::resend(&ctx.state, &actor, &ctx.meta, user_id, tenant_id).await
}

#[server]
pub async fn generate_access_link(user_id: Uuid, tenant_id: Uuid) -> Result<AccessLink, AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::invites::access_link(&ctx.state, &actor, &ctx.meta, user_id, tenant_id).await
}

#[server]
pub async fn revoke_invite(user_id: Uuid, tenant_id: Uuid) -> Result<(), AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::invites::revoke(&ctx.state, &actor, &ctx.meta, user_id, tenant_id).await
}

#[server]
pub async fn generate_temporary_password(user_id: Uuid, tenant_id: Uuid) -> Result<TemporaryPassword, AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::temporary_passwords::generate(&ctx.state, &actor, &ctx.meta, user_id, tenant_id).await
}

#[server]
pub async fn send_password_reset_link(user_id: Uuid, tenant_id: Uuid) -> Result<(), AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::recovery::send_reset_link(&ctx.state, &actor, &ctx.meta, user_id, tenant_id).await
}

/// Settings > Outbox, newest first; `status` is `pending`, `sent`, `failed` or empty for all.
#[server]
pub async fn list_outbox(status: String, before: String) -> Result<OutboxPage, AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::outbox::list(&ctx.state, &actor, Some(&status), Some(&before)).await
}

#[server]
pub async fn read_outbox_message(id: Uuid) -> Result<OutboxMessageBody, AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::outbox::read(&ctx.state, &actor, &ctx.meta, id).await
}

#[server]
pub async fn retry_outbox_message(id: Uuid) -> Result<OutboxMessage, AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::outbox::retry(&ctx.state, &actor, &ctx.meta, id).await
}

/// Settings > API tokens.
#[server]
pub async fn list_api_tokens() -> Result<Vec<ApiTokenSummary>, AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::tokens::list(&ctx.state, &actor).await
}

/// "Create token": the token is in this answer only.
#[server]
pub async fn create_api_token(
    name: String,
    role: Option<String>,
    expires_in_days: Option<u32>,
) -> Result<CreatedApiToken, AppError> {
    let (ctx, actor) = admin().await?;
    let request = crate::types::NewApiToken {
        name,
        role,
        expires_in_days,
    };
    crate::server::services::tokens::create_for(&ctx.state, &actor, &ctx.meta, request).await
}

#[server]
pub async fn revoke_api_token(id: Uuid) -> Result<(), AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::tokens::revoke(&ctx.state, &actor, &ctx.meta, id).await
}

/// Settings > Users and Roles, Tenant > Users: one page of the list.
#[server]
pub async fn list_users(#[server(default)] query: UserListQuery) -> Result<UserPage, AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::directory::list(&ctx.state, &actor, &query).await
}

/// The Edit User page.
#[server]
pub async fn get_user(user_id: Uuid) -> Result<UserDetail, AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::directory::detail(&ctx.state, &actor, user_id).await
}

/// The Roles tab, the role filter and the Change Role dialog. `member_counts: false` leaves the
/// counts out (the filter and the dialog show only names); they are counted unless asked not to.
#[server]
pub async fn list_roles(tenant_id: Option<Uuid>, member_counts: Option<bool>) -> Result<Vec<RoleSummary>, AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::directory::roles(&ctx.state, &actor, tenant_id, member_counts.unwrap_or(true)).await
}

#[server]
pub async fn lock_account(user_id: Uuid, tenant_id: Uuid, reason: String) -> Result<(), AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::account_actions::lock(&ctx.state, &actor, &ctx.meta, user_id, tenant_id, &reason).await
}

#[server]
pub async fn unlock_account(user_id: Uuid, tenant_id: Uuid) -> Result<(), AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::account_actions::unlock(&ctx.state, &actor, &ctx.meta, user_id, tenant_id).await
}

#[server]
pub async fn reset_cooldown(user_id: Uuid, tenant_id: Uuid) -> Result<(), AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::account_actions::reset_cooldown(&ctx.state, &actor, &ctx.meta, user_id, tenant_id).await
}

#[server]
pub async fn disable_access(user_id: Uuid, tenant_id: Uuid) -> Result<(), AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::account_actions::disable_access(&ctx.state, &actor, &ctx.meta, user_id, tenant_id).await
}

#[server]
pub async fn enable_access(user_id: Uuid, tenant_id: Uuid) -> Result<(), AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::account_actions::enable_access(&ctx.state, &actor, &ctx.meta, user_id, tenant_id).await
}

#[server]
pub async fn change_role(user_id: Uuid, tenant_id: Uuid, role_id: Uuid) -> Result<(), AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::account_actions::change_role(&ctx.state, &actor, &ctx.meta, (user_id, tenant_id), role_id)
        .await
}

/// "Reset MFA" for one user or a bulk selection in one workspace, answered per user.
#[server]
pub async fn reset_mfa(user_ids: Vec<Uuid>, tenant_id: Uuid, level: MfaResetLevel) -> Result<BulkResults, AppError> {
    let (ctx, actor) = admin().await?;
    if user_ids.is_empty() || user_ids.len() > crate::types::BULK_LIMIT {
        return Err(AppError::invalid(
            "user_ids",
            format!("Choose 1 to {} users.", crate::types::BULK_LIMIT),
        ));
    }
    let mut results = Vec::with_capacity(user_ids.len());
    for user_id in user_ids {
        let outcome = crate::server::services::account_actions::reset_mfa(
            &ctx.state,
            &actor,
            &ctx.meta,
            (user_id, tenant_id),
            level,
        )
        .await;
        results.push(crate::types::BulkResult::of(
            user_id,
            outcome,
            "MFA was reset. The user sets it up again at the next sign-in.",
        ));
    }
    Ok(BulkResults { results })
}

/// Tenants.
#[server]
pub async fn list_tenants() -> Result<Vec<TenantSummary>, AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::tenant_admin::list(&ctx.state, &actor).await
}

#[server]
pub async fn create_tenant(
    name: String,
    slug: String,
    sign_in_mode: Option<SignInMode>,
    is_mfa_enforced: Option<bool>,
) -> Result<TenantSummary, AppError> {
    let (ctx, actor) = admin().await?;
    let request = crate::types::NewTenant {
        name,
        slug,
        sign_in_mode,
        is_mfa_enforced,
    };
    crate::server::services::tenant_admin::create(&ctx.state, &actor, &ctx.meta, request).await
}

/// Tenant > Settings: MFA enforcement.
#[server]
pub async fn set_tenant_mfa(tenant_id: Uuid, is_mfa_enforced: bool) -> Result<TenantSummary, AppError> {
    let (ctx, actor) = admin().await?;
    let setting = crate::types::TenantMfaSetting { is_mfa_enforced };
    crate::server::services::tenant_admin::set_mfa(&ctx.state, &actor, &ctx.meta, tenant_id, setting).await
}

/// Security > MFA error logs.
#[server]
pub async fn list_events(#[server(default)] query: EventQuery) -> Result<EventPage, AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::logs::events(&ctx.state, &actor, &query).await
}

/// Security > Audit trail.
#[server]
pub async fn list_audit(#[server(default)] query: AuditQuery) -> Result<AuditPage, AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::logs::audit(&ctx.state, &actor, &query).await
}

/// Edit User › Sessions: "Revoke".
#[server]
pub async fn revoke_user_session(user_id: Uuid, session_id: Uuid) -> Result<(), AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::directory::revoke_session(&ctx.state, &actor, &ctx.meta, user_id, session_id).await
}

/// Edit User › Profile: a new main email, applied once the new address confirms.
#[server]
pub async fn request_email_change(user_id: Uuid, email: String) -> Result<PendingEmailChange, AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::email_change::request(&ctx.state, &actor, &ctx.meta, user_id, &email).await
}

#[server]
pub async fn resend_email_change(user_id: Uuid) -> Result<PendingEmailChange, AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::email_change::resend(&ctx.state, &actor, &ctx.meta, user_id).await
}

/// "Impersonate": the one-time link that opens the user's workspace as them.
#[server]
pub async fn impersonate_user(user_id: Uuid, tenant_id: Uuid) -> Result<AccessLink, AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::impersonation::start(&ctx.state, &actor, &ctx.meta, user_id, tenant_id).await
}

/// Tenant › Settings.
#[server]
pub async fn get_tenant(tenant_id: Uuid) -> Result<TenantSummary, AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::tenant_admin::get(&ctx.state, &actor, tenant_id).await
}

#[server]
pub async fn update_tenant_settings(
    tenant_id: Uuid,
    sign_in_mode: SignInMode,
    is_mfa_enforced: bool,
    invite_link_days: Option<u32>,
    temporary_password_hours: Option<u32>,
) -> Result<TenantSummary, AppError> {
    let (ctx, actor) = admin().await?;
    let settings = crate::types::TenantSettings {
        sign_in_mode,
        is_mfa_enforced,
        policy: crate::types::PolicyOverrides {
            invite_link_days,
            temporary_password_hours,
        },
    };
    crate::server::services::tenant_admin::update_settings(&ctx.state, &actor, &ctx.meta, tenant_id, settings).await
}

/// Tenant › Settings › Single sign-on.
#[server]
pub async fn get_tenant_sso(tenant_id: Uuid) -> Result<SsoConfig, AppError> {
    let (ctx, actor) = admin().await?;
    crate::server::services::sso::config(&ctx.state, &actor, tenant_id).await
}

/// Saves the identity provider; `allowed_domains` is the form's text, one domain per line or
/// comma-separated, and an empty `client_secret` keeps the stored one.
#[server]
pub async fn update_tenant_sso(
    tenant_id: Uuid,
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    allowed_domains: String,
    jit_provisioning: Option<String>,
    requires_mfa: Option<String>,
) -> Result<SsoConfig, AppError> {
    let (ctx, actor) = admin().await?;
    let update = crate::types::SsoConfigUpdate {
        issuer,
        client_id,
        client_secret,
        allowed_domains: allowed_domains
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|d| !d.is_empty())
            .map(str::to_owned)
            .collect(),
        // HTML checkboxes: present when ticked.
        jit_provisioning: jit_provisioning.is_some(),
        requires_mfa: requires_mfa.is_some(),
    };
    crate::server::services::sso::update_config(&ctx.state, &actor, &ctx.meta, tenant_id, update).await
}

/// "Test connection": reads the issuer's discovery document without saving anything.
#[server]
pub async fn test_tenant_sso(tenant_id: Uuid, issuer: String) -> Result<SsoConnectionReport, AppError> {
    let (ctx, actor) = admin().await?;
    let test = crate::types::SsoConnectionTest { issuer };
    crate::server::services::sso::test_connection(&ctx.state, &actor, tenant_id, test).await
}

/// Roles tab: "New role".
#[server]
pub async fn create_role(
    tenant_id: Option<Uuid>,
    name: String,
    #[server(default)] permissions: Vec<String>,
) -> Result<RoleSummary, AppError> {
    let (ctx, actor) = admin().await?;
    let request = crate::types::NewRole {
        tenant_id,
        name,
        permissions,
    };
    crate::server::services::custom_roles::create(&ctx.state, &actor, &ctx.meta, request).await
}
