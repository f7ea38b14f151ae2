//! Impersonate (DESIGN.md, the Active row's menu): an operator admin with the permission sees a
//! tenant workspace as one of its users, to reproduce what the user reports.
//!
//! The console cannot set a cookie for another host, so it gets a one-time link (two minutes,
//! bound to the tenant's host) and opens it; that host trades the link for a session marked with
//! the admin's id, already past MFA, that ends after [`SESSION_LIMIT`] whatever the activity.
//! Starting and ending are audited; the user's security events show the start. Anything that
//! needs the user's password stays out of reach, and the user's other sessions are left alone.

use super::access::require;
use super::events::NewEvent;
use super::roles::permission::USERS_IMPERSONATE;
use super::{audit, db_error, events, one_time, sessions, users};
use crate::AppError;
use crate::server::crypto::{random_token, secret_hash};
use crate::server::entities::one_time_secrets::SecretPurpose;
use crate::server::entities::{sessions as session_rows, users as user_rows};
use crate::server::{Actor, AppState, Realm, RequestMeta};
use crate::types::{AccessLink, Impersonation, MembershipStatus, SecurityEventType, TenantKind};
use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::json;
use uuid::Uuid;

/// How long the hand-over link works.
pub const LINK_LIFETIME: Duration = Duration::minutes(2);
/// How long an impersonation lasts at most.
pub const SESSION_LIMIT: Duration = Duration::minutes(30);

/// "Impersonate": the link that opens the user's workspace as them.
pub async fn start(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    user_id: Uuid,
    tenant_id: Uuid,
) -> Result<AccessLink, AppError> {
    if actor.tenant.kind != TenantKind::Operator.as_str() || actor.token_id.is_some() {
        return Err(AppError::forbidden(
            "Only the operator's admins can impersonate, from the admin console.",
        ));
    }
    require(actor, USERS_IMPERSONATE, tenant_id)?;
    if user_id == actor.user.id {
        return Err(AppError::conflict("You cannot impersonate yourself."));
    }
    let users::Target {
        user,
        membership,
        tenant,
    } = users::target(&state.db, user_id, tenant_id).await?;
    if tenant.kind != TenantKind::Customer.as_str() {
        return Err(AppError::conflict(
            "Only users of tenant workspaces can be impersonated.",
        ));
    }
    let now = state.clock.now();
    let status = membership.status_at(now);
    if status != MembershipStatus::Active {
        return Err(AppError::conflict(format!(
            "Impersonate is not available: the account is {}.",
            status.label()
        )));
    }
    let token = random_token();
    let expires_at = now + LINK_LIFETIME;
    let txn = super::begin(&state.db).await?;
    let secret = one_time::NewSecret {
        id: Uuid::now_v7(),
        purpose: SecretPurpose::Impersonation,
        supersedes: &[SecretPurpose::Impersonation],
        user_id,
        tenant_id,
        secret_hash: secret_hash(&token),
        expires_at,
        failed_attempts: 0,
        created_by: Some(actor.user.id),
        data: None,
    };
    one_time::issue(&txn, secret, now).await?;
    let change = audit::Change {
        action: "user.impersonation_started",
        target_type: "user",
        target_id: Some(user.id.to_string()),
        tenant_id: Some(tenant_id),
        before: None,
        after: Some(json!({ "email": user.email, "limit_minutes": SESSION_LIMIT.num_minutes() })),
    };
    audit::record(&txn, state.clock.as_ref(), actor, meta, change).await?;
    txn.commit().await.map_err(db_error)?;
    let url = format!("{}/impersonate#token={token}", state.config.workspace_url(&tenant.slug));
    Ok(AccessLink { url, expires_at })
}

/// The tenant host trades the link for a session cookie (`Set-Cookie` value).
pub async fn begin(state: &AppState, realm: &Realm, meta: &RequestMeta, token: &str) -> Result<String, AppError> {
    let now = state.clock.now();
    let expired = || AppError::invalid("token", "This impersonation link expired or was already used.");
    let secret = one_time::find_live(
        &state.db,
        &secret_hash(token),
        &[SecretPurpose::Impersonation],
        realm.tenant.id,
        now,
    )
    .await?
    .ok_or_else(expired)?;
    let admin_id = secret.created_by_user_id.ok_or_else(expired)?;
    let txn = super::begin(&state.db).await?;
    if !one_time::consume(&txn, secret.id, now).await? {
        return Err(expired());
    }
    let new_session = sessions::create(&txn, secret.user_id, realm.tenant.id, meta, now).await?;
    let ends_at = now + SESSION_LIMIT;
    session_rows::Entity::update_many()
        .col_expr(session_rows::Column::ImpersonatorUserId, Expr::value(admin_id))
        .col_expr(session_rows::Column::MfaVerified, Expr::value(true))
        .col_expr(session_rows::Column::AbsoluteExpiresAt, Expr::value(ends_at))
        .col_expr(
            session_rows::Column::IdleExpiresAt,
            Expr::value(Ord::min(new_session.session.idle_expires_at, ends_at)),
        )
        .filter(session_rows::Column::Id.eq(new_session.session.id))
        .exec(&txn)
        .await
        .map_err(db_error)?;
    let event = NewEvent {
        event_type: SecurityEventType::ImpersonationStarted,
        user_id: Some(secret.user_id),
        tenant_id: Some(realm.tenant.id),
        identifier: None,
        detail: json!({ "admin_user_id": admin_id, "ends_at": ends_at }),
    };
    events::record(&txn, state.clock.as_ref(), meta, event).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(sessions::cookie(&new_session.token, state.config.secure_cookies))
}

/// What the banner shows, for a session an admin opened.
pub async fn describe(state: &AppState, actor: &Actor) -> Result<Option<Impersonation>, AppError> {
    let (Some(admin_id), Some(session_id)) = (actor.impersonator_id, actor.session_id) else {
        return Ok(None);
    };
    let admin = user_rows::Entity::find_by_id(admin_id)
        .one(&state.db)
        .await
        .map_err(db_error)?;
    let session = session_rows::Entity::find_by_id(session_id)
        .one(&state.db)
        .await
        .map_err(db_error)?;
    Ok(admin.zip(session).map(|(admin, session)| Impersonation {
        admin_email: admin.email,
        ends_at: session.absolute_expires_at,
        console_url: state.config.workspace_url(super::hosts::ADMIN_LABEL),
    }))
}

/// "End impersonation": the session ends and the audit trail says so. Answers the console URL.
pub async fn end(state: &AppState, actor: &Actor, meta: &RequestMeta) -> Result<String, AppError> {
    let (Some(admin_id), Some(session_id)) = (actor.impersonator_id, actor.session_id) else {
        return Err(AppError::conflict("This session is not an impersonation."));
    };
    let txn = super::begin(&state.db).await?;
    sessions::delete(&txn, session_id).await?;
    // The admin acted; the row names them, not the user whose session it was.
    let admin = user_rows::Entity::find_by_id(admin_id)
        .one(&txn)
        .await
        .map_err(db_error)?
        .ok_or_else(AppError::internal)?;
    let as_admin = Actor {
        user: admin,
        impersonator_id: None,
        ..actor.clone()
    };
    let change = audit::Change {
        action: "user.impersonation_ended",
        target_type: "user",
        target_id: Some(actor.user.id.to_string()),
        tenant_id: Some(actor.tenant.id),
        before: None,
        after: None,
    };
    audit::record(&txn, state.clock.as_ref(), &as_admin, meta, change).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(state.config.workspace_url(super::hosts::ADMIN_LABEL))
}

/// For what an admin must not do in the user's name.
pub fn refuse_while_impersonating(actor: &Actor) -> Result<(), AppError> {
    match actor.impersonator_id {
        Some(_) => Err(AppError::forbidden("Not available while impersonating.")),
        None => Ok(()),
    }
}
