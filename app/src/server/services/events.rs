//! Security events: what happened to whose account, with a support reference the user sees.

use super::db_error;
use crate::AppError;
use crate::domain::SupportReference;
use crate::server::crypto::random_u64;
use crate::server::entities::security_events;
use crate::server::{Clock, RequestMeta};
use crate::types::SecurityEventType;
use sea_orm::{ConnectionTrait, EntityTrait, Set, TryInsertResult};
use uuid::Uuid;

pub struct NewEvent<'a> {
    pub event_type: SecurityEventType,
    pub user_id: Option<Uuid>,
    pub tenant_id: Option<Uuid>,
    /// The sign-in identifier as typed (normalised), for failures of unknown accounts.
    pub identifier: Option<&'a str>,
    pub detail: serde_json::Value,
}

/// Writes the event and returns its support reference.
pub async fn record(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    meta: &RequestMeta,
    event: NewEvent<'_>,
) -> Result<SupportReference, AppError> {
    // 40 random bits: a clash is rare, and another reference settles it. The clash is skipped
    // rather than raised, so that inside a transaction (PostgreSQL aborts one on any error) the
    // next try can still be written.
    for _ in 0..3 {
        let reference = SupportReference::from_bits(random_u64() & 0xFF_FFFF_FFFF);
        let row = security_events::ActiveModel {
            id: Set(Uuid::now_v7()),
            reference: Set(reference.as_str().to_owned()),
            event_type: Set(event.event_type.as_str().to_owned()),
            user_id: Set(event.user_id),
            tenant_id: Set(event.tenant_id),
            identifier: Set(event.identifier.map(str::to_owned)),
            occurred_at: Set(clock.now()),
            ip: Set(meta.ip.clone()),
            user_agent: Set(meta.user_agent.clone()),
            detail: Set(Some(event.detail.clone())),
        };
        let written = security_events::Entity::insert(row)
            .on_conflict_do_nothing_on([security_events::Column::Reference])
            .exec_without_returning(db)
            .await
            .map_err(db_error)?;
        if matches!(written, TryInsertResult::Inserted(n) if n > 0) {
            return Ok(reference);
        }
    }
    tracing::error!("three support references in a row were taken");
    Err(AppError::internal())
}
