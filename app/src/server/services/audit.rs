//! The audit trail (DESIGN.md, "Audit trail"): every change an admin or the API makes, written
//! in the transaction of the change itself, so there is never a change without its row.

use super::db_error;
use crate::AppError;
use crate::server::entities::audit_log;
use crate::server::{Actor, Clock, RequestMeta};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use uuid::Uuid;

pub struct Change<'a> {
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: Option<String>,
    pub tenant_id: Option<Uuid>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

pub async fn record(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    actor: &Actor,
    meta: &RequestMeta,
    change: Change<'_>,
) -> Result<(), AppError> {
    audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        actor_user_id: Set(Some(actor.user.id)),
        actor_token_id: Set(actor.token_id),
        action: Set(change.action.to_owned()),
        target_type: Set(change.target_type.to_owned()),
        target_id: Set(change.target_id),
        tenant_id: Set(change.tenant_id),
        occurred_at: Set(clock.now()),
        ip: Set(meta.ip.clone()),
        request_id: Set(meta.request_id.clone()),
        before: Set(change.before),
        after: Set(change.after),
    }
    .insert(db)
    .await
    .map_err(db_error)?;
    Ok(())
}

/// A change made from the command line (`latchkey admin create`, `latchkey user ...`): it has
/// no acting user or token, and its row says where it came from.
pub async fn record_from_command_line(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    change: Change<'_>,
) -> Result<(), AppError> {
    let mut after = change.after.unwrap_or_else(|| serde_json::json!({}));
    if let Some(fields) = after.as_object_mut() {
        fields.insert("via".to_owned(), serde_json::json!("command_line"));
    }
    audit_log::ActiveModel {
        id: Set(Uuid::now_v7()),
        actor_user_id: Set(None),
        actor_token_id: Set(None),
        action: Set(change.action.to_owned()),
        target_type: Set(change.target_type.to_owned()),
        target_id: Set(change.target_id),
        tenant_id: Set(change.tenant_id),
        occurred_at: Set(clock.now()),
        ip: Set(None),
        request_id: Set(None),
        before: Set(change.before),
        after: Set(Some(after)),
    }
    .insert(db)
    .await
    .map_err(db_error)?;
    Ok(())
}
