//! What every database needs before the first request: the built-in roles and the operator org.

use super::db_error;
use super::roles::{BUILTIN, permissions_json};
use crate::AppError;
use crate::server::entities::{roles, tenants};
use crate::types::{SignInMode, TenantKind, TenantStatus};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

pub const DEFAULT_OPERATOR_NAME: &str = "Latchkey";

/// Idempotent: safe on every start, and from several processes at once.
pub async fn ensure_defaults(db: &impl ConnectionTrait, now: DateTime<Utc>) -> Result<(), AppError> {
    for role in BUILTIN {
        let row = roles::ActiveModel {
            id: Set(Uuid::now_v7()),
            tenant_id: Set(None),
            key: Set(Some(role.key.to_owned())),
            name: Set(role.name.to_owned()),
            scope: Set(role.scope.to_owned()),
            permissions: Set(permissions_json(role)),
            is_builtin: Set(true),
            created_at: Set(now),
        };
        // Built-in roles are defined in code: a new release's permissions replace the stored ones.
        let update = OnConflict::column(roles::Column::Key)
            .update_columns([roles::Column::Name, roles::Column::Permissions])
            .to_owned();
        roles::Entity::insert(row)
            .on_conflict(update)
            .exec(db)
            .await
            .map_err(db_error)?;
    }
    let operator = tenants::ActiveModel {
        id: Set(Uuid::now_v7()),
        slug: Set(super::hosts::ADMIN_LABEL.to_owned()),
        name: Set(DEFAULT_OPERATOR_NAME.to_owned()),
        kind: Set(TenantKind::Operator.into()),
        sign_in_mode: Set(SignInMode::Password.into()),
        is_mfa_enforced: Set(false),
        policy_overrides: Set(serde_json::json!({})),
        status: Set(TenantStatus::Active.into()),
        sso_issuer: Set(None),
        sso_client_id: Set(None),
        sso_client_secret_enc: Set(None),
        sso_allowed_domains: Set(None),
        sso_jit_provisioning: Set(false),
        sso_requires_mfa: Set(true),
        created_at: Set(now),
        updated_at: Set(now),
    };
    tenants::Entity::insert(operator)
        .on_conflict_do_nothing_on([tenants::Column::Slug])
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(())
}

pub async fn builtin_role(db: &impl ConnectionTrait, key: &str) -> Result<roles::Model, AppError> {
    roles::Entity::find()
        .filter(roles::Column::Key.eq(key))
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| {
            tracing::error!(key, "built-in role missing");
            AppError::internal()
        })
}

pub async fn operator(db: &impl ConnectionTrait) -> Result<tenants::Model, AppError> {
    tenants::Entity::find()
        .filter(tenants::Column::Kind.eq(TenantKind::Operator))
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(AppError::internal)
}

/// Renames the operator org (the demo calls it "Demo MSP").
pub async fn rename_operator(db: &impl ConnectionTrait, name: &str, now: DateTime<Utc>) -> Result<(), AppError> {
    let operator = operator(db).await?;
    let mut active: tenants::ActiveModel = operator.into();
    active.name = Set(name.to_owned());
    active.updated_at = Set(now);
    active.update(db).await.map_err(db_error)?;
    Ok(())
}
