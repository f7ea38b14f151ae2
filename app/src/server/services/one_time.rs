//! One-time secrets (DESIGN.md, "One-time secrets"): issued as hashes with a purpose, a tenant
//! and an expiry; a new one of the same purpose supersedes the older ones; used up once.

use super::db_error;
use crate::AppError;
use crate::server::entities::one_time_secrets::{self, Column, SecretPurpose};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

/// A secret about to be stored. `supersedes` names the purposes it voids (its own, and e.g.
/// invites and access links void each other).
pub struct NewSecret<'a> {
    pub id: Uuid,
    pub purpose: SecretPurpose,
    pub supersedes: &'a [SecretPurpose],
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    pub secret_hash: String,
    pub expires_at: DateTime<Utc>,
    pub failed_attempts: i32,
    pub created_by: Option<Uuid>,
    pub data: Option<serde_json::Value>,
}

/// Marks the user's live secrets of `purposes` on this tenant as superseded.
pub async fn supersede(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    tenant_id: Uuid,
    purposes: &[SecretPurpose],
    now: DateTime<Utc>,
) -> Result<u64, AppError> {
    let result = one_time_secrets::Entity::update_many()
        .col_expr(Column::SupersededAt, Expr::value(now))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Purpose.is_in(purposes.iter().map(|p| p.as_str())))
        .filter(Column::SupersededAt.is_null())
        .filter(Column::ConsumedAt.is_null())
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(result.rows_affected)
}

/// Stores a secret, voiding the older ones it supersedes.
pub async fn issue(db: &impl ConnectionTrait, secret: NewSecret<'_>, now: DateTime<Utc>) -> Result<(), AppError> {
    supersede(db, secret.user_id, secret.tenant_id, secret.supersedes, now).await?;
    one_time_secrets::ActiveModel {
        id: Set(secret.id),
        purpose: Set(secret.purpose.into()),
        user_id: Set(secret.user_id),
        tenant_id: Set(secret.tenant_id),
        secret_hash: Set(secret.secret_hash),
        expires_at: Set(secret.expires_at),
        max_uses: Set(1),
        use_count: Set(0),
        failed_attempts: Set(secret.failed_attempts),
        superseded_at: Set(None),
        consumed_at: Set(None),
        created_by_user_id: Set(secret.created_by),
        data: Set(secret.data),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// What a link token names on a tenant.
pub enum Found {
    /// Not used, not replaced, not expired.
    Live(Box<one_time_secrets::Model>),
    /// A newer link of the same person replaced it before it was used. Only the link's holder
    /// learns this, and they hold the secret already.
    Replaced,
    /// Nothing, or a link used or expired.
    Nothing,
}

/// The secret behind a link token on this tenant, and whether it still works.
pub async fn find(
    db: &impl ConnectionTrait,
    hash: &str,
    purposes: &[SecretPurpose],
    tenant_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Found, AppError> {
    let found = one_time_secrets::Entity::find()
        .filter(Column::SecretHash.eq(hash))
        .filter(Column::Purpose.is_in(purposes.iter().map(|p| p.as_str())))
        .one(db)
        .await
        .map_err(db_error)?;
    Ok(match found {
        Some(s) if s.tenant_id != tenant_id || s.consumed_at.is_some() || s.expires_at <= now => Found::Nothing,
        Some(s) if s.superseded_at.is_some() => Found::Replaced,
        Some(s) => Found::Live(Box::new(s)),
        None => Found::Nothing,
    })
}

/// The live secret (not used, not superseded, not expired) behind a link token on this tenant.
pub async fn find_live(
    db: &impl ConnectionTrait,
    hash: &str,
    purposes: &[SecretPurpose],
    tenant_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<one_time_secrets::Model>, AppError> {
    Ok(match find(db, hash, purposes, tenant_id, now).await? {
        Found::Live(secret) => Some(*secret),
        Found::Replaced | Found::Nothing => None,
    })
}

/// The newest secret of `purpose` issued to the user on this tenant that is not superseded.
pub async fn newest(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    tenant_id: Uuid,
    purpose: SecretPurpose,
) -> Result<Option<one_time_secrets::Model>, AppError> {
    use sea_orm::QueryOrder;
    one_time_secrets::Entity::find()
        .filter(Column::UserId.eq(user_id))
        .filter(Column::TenantId.eq(tenant_id))
        .filter(Column::Purpose.eq(purpose))
        .filter(Column::SupersededAt.is_null())
        .order_by_desc(Column::CreatedAt)
        .one(db)
        .await
        .map_err(db_error)
}

/// Counts a wrong guess against a secret, atomically, so parallel guesses cannot exceed a limit.
pub async fn count_failure(db: &impl ConnectionTrait, secret_id: Uuid) -> Result<(), AppError> {
    one_time_secrets::Entity::update_many()
        .col_expr(Column::FailedAttempts, Expr::col(Column::FailedAttempts).add(1))
        .filter(Column::Id.eq(secret_id))
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Takes one of the secret's `max` tries before its code is compared, in one conditional
/// UPDATE, so parallel wrong codes cannot get more than `max` comparisons. `false` when none is
/// left. A right code uses the secret up, so the try it took does not matter then.
pub async fn reserve_try(db: &impl ConnectionTrait, secret_id: Uuid, max: i32) -> Result<bool, AppError> {
    let reserved = one_time_secrets::Entity::update_many()
        .col_expr(Column::FailedAttempts, Expr::col(Column::FailedAttempts).add(1))
        .filter(Column::Id.eq(secret_id))
        .filter(Column::FailedAttempts.lt(max))
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(reserved.rows_affected == 1)
}

/// Uses a one-time secret up. `false` when a parallel request used it first.
pub async fn consume(db: &impl ConnectionTrait, secret_id: Uuid, now: DateTime<Utc>) -> Result<bool, AppError> {
    let consumed = one_time_secrets::Entity::update_many()
        .col_expr(Column::ConsumedAt, Expr::value(now))
        .col_expr(Column::UseCount, Expr::col(Column::UseCount).add(1))
        .filter(Column::Id.eq(secret_id))
        .filter(Column::ConsumedAt.is_null())
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(consumed.rows_affected == 1)
}
