//! Security events: what happened to whose account, with a support reference the user sees.

use super::db_error;
use crate::AppError;
use crate::domain::SupportReference;
use crate::server::crypto::random_u64;
use crate::server::entities::security_events;
use crate::server::{Clock, RequestMeta};
use crate::types::SecurityEventType;
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
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
    // 40 random bits: a clash is rare enough that one more try settles it.
    let mut last_error = None;
    for _ in 0..2 {
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
        match row.insert(db).await {
            Ok(_) => return Ok(reference),
            Err(error) => last_error = Some(error),
        }
    }
    Err(db_error(last_error.expect("loop ran")))
}
