//! Tenants as the console and the API manage them: list, create, and MFA enforcement.

use super::access::{require, require_operator};
use super::directory::{list_scope, member_counts};
use super::roles::permission::{TENANTS_MANAGE, TENANTS_READ};
use super::{audit, conflict_or_db_error, db_error};
use crate::AppError;
use crate::domain::{DisplayName, Slug};
use crate::server::entities::{memberships, tenants};
use crate::server::{Actor, AppState, RequestMeta};
use crate::types::{
    NewTenant, PolicyOverrides, SignInMode, TenantKind, TenantMfaSetting, TenantSettings, TenantStatus, TenantSummary,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use uuid::Uuid;

fn summary(state: &AppState, tenant: tenants::Model, member_count: u64) -> TenantSummary {
    TenantSummary {
        policy: policy_of(&tenant),
        sso_configured: sso_configured(&tenant),
        sign_in_url: state.config.workspace_url(&tenant.slug),
        kind: tenant.kind.parse().unwrap_or(TenantKind::Customer),
        sign_in_mode: tenant.sign_in_mode.parse().unwrap_or(SignInMode::Password),
        status: tenant.status.parse().unwrap_or(TenantStatus::Suspended),
        id: tenant.id,
        slug: tenant.slug,
        name: tenant.name,
        is_mfa_enforced: tenant.is_mfa_enforced,
        member_count,
        created_at: tenant.created_at,
    }
}

/// An identity provider is fully set up (issuer, client id and secret), so SSO can be turned on.
fn sso_configured(tenant: &tenants::Model) -> bool {
    tenant.sso_issuer.is_some() && tenant.sso_client_id.is_some() && tenant.sso_client_secret_enc.is_some()
}

/// The workspace's policy overrides; a stored value this release cannot read counts as none.
pub fn policy_of(tenant: &tenants::Model) -> PolicyOverrides {
    serde_json::from_value(tenant.policy_overrides.clone()).unwrap_or_default()
}

/// Every workspace the caller may see, by name, with its member count.
pub async fn list(state: &AppState, actor: &Actor) -> Result<Vec<TenantSummary>, AppError> {
    let scope = list_scope(actor, None, TENANTS_READ)?;
    summaries(state, scope).await
}

pub async fn get(state: &AppState, actor: &Actor, tenant_id: Uuid) -> Result<TenantSummary, AppError> {
    let scope = list_scope(actor, None, TENANTS_READ)?;
    if scope.is_some_and(|visible| visible != tenant_id) {
        return Err(AppError::not_found("No such workspace."));
    }
    summaries(state, Some(tenant_id))
        .await?
        .pop()
        .ok_or_else(|| AppError::not_found("No such workspace."))
}

/// One workspace's summary, or every workspace's. The member counts come from the stored
/// counts: counting the memberships took a scan of all of them (124 ms at a million).
async fn summaries(state: &AppState, only: Option<Uuid>) -> Result<Vec<TenantSummary>, AppError> {
    let db = &state.db;
    let mut query = tenants::Entity::find().order_by_asc(tenants::Column::Name);
    if let Some(tenant_id) = only {
        query = query.filter(tenants::Column::Id.eq(tenant_id));
    }
    let counts = member_counts(db, only).await?;
    Ok(query
        .all(db)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|t| {
            let n = counts.get(&t.id).copied().unwrap_or(0).max(0) as u64;
            summary(state, t, n)
        })
        .collect())
}

/// "Create tenant": operator admins only. The slug becomes the workspace's subdomain.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    request: NewTenant,
) -> Result<TenantSummary, AppError> {
    require_operator(actor, TENANTS_MANAGE)?;
    let name = DisplayName::parse(&request.name)
        .map_err(|_| AppError::invalid("name", "A workspace name has 1 to 100 printable characters."))?;
    let slug = Slug::parse(&request.slug)?;
    let now = state.clock.now();
    let txn = super::begin(&state.db).await?;
    let taken = format!("The address {} is already taken.", slug.as_str());
    let tenant = tenants::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(slug.as_str().to_owned()),
        name: Set(name.as_str().to_owned()),
        kind: Set(TenantKind::Customer.into()),
        sign_in_mode: Set(request.sign_in_mode.unwrap_or(SignInMode::Password).into()),
        is_mfa_enforced: Set(request.is_mfa_enforced.unwrap_or(false)),
        policy_overrides: Set(json!({})),
        status: Set(TenantStatus::Active.into()),
        sso_issuer: Set(None),
        sso_client_id: Set(None),
        sso_client_secret_enc: Set(None),
        sso_allowed_domains: Set(None),
        sso_jit_provisioning: Set(false),
        sso_requires_mfa: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(|e| conflict_or_db_error(e, &taken))?;
    audit::record(
        &txn,
        state.clock.as_ref(),
        actor,
        meta,
        audit::Change {
            action: "tenant.created",
            target_type: "tenant",
            target_id: Some(tenant.id.to_string()),
            tenant_id: Some(tenant.id),
            before: None,
            after: Some(json!({
                "name": tenant.name,
                "slug": tenant.slug,
                "sign_in_mode": tenant.sign_in_mode,
                "is_mfa_enforced": tenant.is_mfa_enforced,
            })),
        },
    )
    .await?;
    txn.commit().await.map_err(|e| conflict_or_db_error(e, &taken))?;
    Ok(summary(state, tenant, 0))
}

/// Turns MFA enforcement on or off for one workspace. Users without a factor must set one up
/// at their next sign-in once it is on.
pub async fn set_mfa(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    tenant_id: Uuid,
    setting: TenantMfaSetting,
) -> Result<TenantSummary, AppError> {
    require_manager(actor, tenant_id)?;
    let enforced = setting.is_mfa_enforced;
    // The write comes first, so that SQLite takes its write lock at the start of the
    // transaction instead of failing to upgrade a read snapshot that another writer moved on.
    let txn = super::begin(&state.db).await?;
    let changed = tenants::Entity::update_many()
        .col_expr(tenants::Column::IsMfaEnforced, Expr::value(enforced))
        .col_expr(tenants::Column::UpdatedAt, Expr::value(state.clock.now()))
        .filter(tenants::Column::Id.eq(tenant_id))
        .filter(tenants::Column::IsMfaEnforced.ne(enforced))
        .exec(&txn)
        .await
        .map_err(db_error)?
        .rows_affected;
    let tenant = tenants::Entity::find_by_id(tenant_id)
        .one(&txn)
        .await
        .map_err(db_error)?
        .ok_or_else(|| AppError::not_found("No such workspace."))?;
    if changed > 0 {
        audit::record(
            &txn,
            state.clock.as_ref(),
            actor,
            meta,
            audit::Change {
                action: "tenant.mfa_enforcement_changed",
                target_type: "tenant",
                target_id: Some(tenant.id.to_string()),
                tenant_id: Some(tenant.id),
                before: Some(json!({ "is_mfa_enforced": !enforced })),
                after: Some(json!({ "is_mfa_enforced": enforced })),
            },
        )
        .await?;
    }
    txn.commit().await.map_err(db_error)?;
    let members = memberships::Entity::find()
        .filter(memberships::Column::TenantId.eq(tenant.id))
        .count(&state.db)
        .await
        .map_err(db_error)?;
    Ok(summary(state, tenant, members))
}

/// Tenant › Settings: sign-in mode, MFA enforcement and policy overrides, in one audited change.
pub async fn update_settings(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    tenant_id: Uuid,
    settings: TenantSettings,
) -> Result<TenantSummary, AppError> {
    require_manager(actor, tenant_id)?;
    settings
        .policy
        .check()
        .map_err(|(field, message)| AppError::invalid(field, message))?;
    let before = tenants::Entity::find_by_id(tenant_id)
        .one(&state.db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| AppError::not_found("No such workspace."))?;
    if before.kind == TenantKind::Operator.as_str() && settings.sign_in_mode != SignInMode::Password {
        return Err(AppError::invalid(
            "signInMode",
            "The admin console always signs in with passwords.",
        ));
    }
    if settings.sign_in_mode == SignInMode::Sso && !sso_configured(&before) {
        return Err(AppError::conflict(
            "Single sign-on needs an identity provider for this workspace first (issuer, client id and secret).",
        ));
    }
    let now = state.clock.now();
    let policy = json!(settings.policy);
    let txn = super::begin(&state.db).await?;
    tenants::Entity::update_many()
        .col_expr(tenants::Column::SignInMode, Expr::value(settings.sign_in_mode.as_str()))
        .col_expr(tenants::Column::IsMfaEnforced, Expr::value(settings.is_mfa_enforced))
        .col_expr(tenants::Column::PolicyOverrides, Expr::value(policy.clone()))
        .col_expr(tenants::Column::UpdatedAt, Expr::value(now))
        .filter(tenants::Column::Id.eq(tenant_id))
        .exec(&txn)
        .await
        .map_err(db_error)?;
    let old = json!({
        "sign_in_mode": before.sign_in_mode,
        "is_mfa_enforced": before.is_mfa_enforced,
        "policy": before.policy_overrides,
    });
    let new = json!({
        "sign_in_mode": settings.sign_in_mode,
        "is_mfa_enforced": settings.is_mfa_enforced,
        "policy": policy,
    });
    if old != new {
        let change = audit::Change {
            action: "tenant.settings_changed",
            target_type: "tenant",
            target_id: Some(tenant_id.to_string()),
            tenant_id: Some(tenant_id),
            before: Some(old),
            after: Some(new),
        };
        audit::record(&txn, state.clock.as_ref(), actor, meta, change).await?;
    }
    txn.commit().await.map_err(db_error)?;
    get(state, actor, tenant_id).await
}

/// A workspace's settings are changed by the operator's admins, or its own, with
/// `tenants.manage`; another workspace is not found.
fn require_manager(actor: &Actor, tenant_id: Uuid) -> Result<(), AppError> {
    require_in_scope(actor, TENANTS_MANAGE, tenant_id)
}

/// The operator's admins, or the workspace's own, with `permission`; to anyone else another
/// workspace is not found.
pub(crate) fn require_in_scope(actor: &Actor, permission: &str, tenant_id: Uuid) -> Result<(), AppError> {
    let in_scope = actor.tenant.kind == TenantKind::Operator.as_str() || actor.tenant.id == tenant_id;
    if !in_scope {
        return Err(AppError::not_found("No such workspace."));
    }
    require(actor, permission, tenant_id)
}
