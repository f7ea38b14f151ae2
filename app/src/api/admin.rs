//! Server functions for admins acting on users and on the deployment: each checks the session,
//! then calls the one service that holds the rule (and its permission check).

use crate::AppError;
use crate::types::{
    AccessLink, ApiTokenSummary, CreatedApiToken, InviteOutcome, OutboxMessage, OutboxMessageBody, OutboxPage,
    TemporaryPassword,
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
