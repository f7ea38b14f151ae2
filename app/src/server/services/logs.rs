//! Reading the logs: Security > MFA error logs (security events) and Security > Audit trail,
//! newest first, with filters and keyset pages. A tenant admin reads only their workspace's.

use super::db_error;
use super::directory::{contains_pattern, cursor, like, list_scope, page_size};
use super::roles::permission::{AUDIT_READ, EVENTS_READ};
use crate::AppError;
use crate::domain::SupportReference;
use crate::server::entities::{audit_log, security_events, tenants, users};
use crate::server::{Actor, AppState};
use crate::types::{AuditPage, AuditQuery, AuditRow, EventPage, EventQuery, SecurityEventRow, SecurityEventType};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};
use std::collections::HashMap;
use uuid::Uuid;

fn check_range(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> Result<(), AppError> {
    match (from, to) {
        (Some(from), Some(to)) if from >= to => Err(AppError::invalid("to", "'to' must be later than 'from'.")),
        _ => Ok(()),
    }
}

/// Rows of both logs in `[from, to)`, older than the cursor's row (newest-first keyset).
fn window<C: ColumnTrait>(
    occurred_at: C,
    id: C,
    (from, to): (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    before: Option<(DateTime<Utc>, Uuid)>,
) -> Condition {
    let mut condition = Condition::all();
    if let Some(from) = from {
        condition = condition.add(occurred_at.gte(from));
    }
    if let Some(to) = to {
        condition = condition.add(occurred_at.lt(to));
    }
    if let Some((at, last)) = before {
        // Redundant with the OR below, but an index on the time can start here (deep pages).
        condition = condition.add(occurred_at.lte(at)).add(
            Condition::any()
                .add(occurred_at.lt(at))
                .add(Condition::all().add(occurred_at.eq(at)).add(id.lt(last))),
        );
    }
    condition
}

/// Ids of the users whose email contains the pattern.
fn users_matching(pattern: &str) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .column(users::Column::Id)
        .from(users::Entity)
        .and_where(Expr::col((users::Entity, users::Column::Email)).like(like(pattern)))
        .to_owned()
}

async fn emails(db: &impl ConnectionTrait, ids: impl Iterator<Item = Uuid>) -> Result<HashMap<Uuid, String>, AppError> {
    let ids: Vec<Uuid> = ids.collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, String)> = users::Entity::find()
        .select_only()
        .column(users::Column::Id)
        .column(users::Column::Email)
        .filter(users::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await
        .map_err(db_error)?;
    Ok(rows.into_iter().collect())
}

async fn slugs(db: &impl ConnectionTrait, ids: impl Iterator<Item = Uuid>) -> Result<HashMap<Uuid, String>, AppError> {
    let ids: Vec<Uuid> = ids.collect();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(Uuid, String)> = tenants::Entity::find()
        .select_only()
        .column(tenants::Column::Id)
        .column(tenants::Column::Slug)
        .filter(tenants::Column::Id.is_in(ids))
        .into_tuple()
        .all(db)
        .await
        .map_err(db_error)?;
    Ok(rows.into_iter().collect())
}

/// Security events, newest first.
pub async fn events(state: &AppState, actor: &Actor, query: &EventQuery) -> Result<EventPage, AppError> {
    use security_events::Column;
    let scope = list_scope(actor, query.tenant_id, EVENTS_READ)?;
    let limit = page_size(query.limit)?;
    check_range(query.from, query.to)?;
    let before: Option<(DateTime<Utc>, Uuid)> = cursor::decode(query.cursor.as_deref())?;
    let mut condition = Condition::all();
    if let Some(tenant_id) = scope {
        condition = condition.add(Column::TenantId.eq(tenant_id));
    }
    if let Some(event_type) = query.event_type {
        condition = condition.add(Column::EventType.eq(event_type.as_str()));
    }
    if let Some(user_id) = query.user_id {
        condition = condition.add(Column::UserId.eq(user_id));
    }
    condition = condition.add(window(Column::OccurredAt, Column::Id, (query.from, query.to), before));
    if let Some(pattern) = contains_pattern(query.q.as_deref())? {
        let mut any = Condition::any()
            .add(Expr::col((security_events::Entity, Column::Identifier)).like(like(&pattern)))
            .add(Column::UserId.in_subquery(users_matching(&pattern)));
        if let Some(reference) = query.q.as_deref().and_then(SupportReference::parse) {
            any = any.add(Column::Reference.eq(reference.as_str()));
        }
        condition = condition.add(any);
    }
    let db = &state.db;
    let mut rows = security_events::Entity::find()
        .filter(condition)
        .order_by_desc(Column::OccurredAt)
        .order_by_desc(Column::Id)
        .limit(limit + 1)
        .all(db)
        .await
        .map_err(db_error)?;
    let next_cursor = cursor::split_page(&mut rows, limit, |last| (last.occurred_at, last.id));
    let emails = emails(db, rows.iter().filter_map(|r| r.user_id)).await?;
    let slugs = slugs(db, rows.iter().filter_map(|r| r.tenant_id)).await?;
    let events = rows
        .into_iter()
        .filter_map(|r| {
            // A type this build does not know (written by a newer one) is left out.
            let event_type: SecurityEventType = r.event_type.parse().ok()?;
            Some(SecurityEventRow {
                id: r.id,
                reference: r.reference,
                event_type,
                type_label: event_type.label().to_owned(),
                occurred_at: r.occurred_at,
                user_email: r.user_id.and_then(|id| emails.get(&id).cloned()),
                user_id: r.user_id,
                tenant_slug: r.tenant_id.and_then(|id| slugs.get(&id).cloned()),
                tenant_id: r.tenant_id,
                identifier: r.identifier,
                ip: r.ip,
                user_agent: r.user_agent,
                detail: r.detail,
            })
        })
        .collect();
    Ok(EventPage { events, next_cursor })
}

/// The audit trail, newest first.
pub async fn audit(state: &AppState, actor: &Actor, query: &AuditQuery) -> Result<AuditPage, AppError> {
    use audit_log::Column;
    let scope = list_scope(actor, query.tenant_id, AUDIT_READ)?;
    let limit = page_size(query.limit)?;
    check_range(query.from, query.to)?;
    let before: Option<(DateTime<Utc>, Uuid)> = cursor::decode(query.cursor.as_deref())?;
    let mut condition = Condition::all();
    if let Some(tenant_id) = scope {
        condition = condition.add(Column::TenantId.eq(tenant_id));
    }
    if let Some(action) = query.action.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        if action.len() > 64 || !action.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_') {
            return Err(AppError::invalid("action", "An action looks like user.locked."));
        }
        condition = condition.add(Column::Action.eq(action));
    }
    condition = condition.add(window(Column::OccurredAt, Column::Id, (query.from, query.to), before));
    if let Some(pattern) = contains_pattern(query.q.as_deref())? {
        condition = condition.add(
            Condition::any()
                .add(Column::ActorUserId.in_subquery(users_matching(&pattern)))
                .add(Expr::col((audit_log::Entity, Column::TargetId)).like(like(&pattern)))
                .add(Expr::col((audit_log::Entity, Column::Action)).like(like(&pattern))),
        );
    }
    let db = &state.db;
    let mut rows = audit_log::Entity::find()
        .filter(condition)
        .order_by_desc(Column::OccurredAt)
        .order_by_desc(Column::Id)
        .limit(limit + 1)
        .all(db)
        .await
        .map_err(db_error)?;
    let next_cursor = cursor::split_page(&mut rows, limit, |last| (last.occurred_at, last.id));
    let emails = emails(db, rows.iter().filter_map(|r| r.actor_user_id)).await?;
    let slugs = slugs(db, rows.iter().filter_map(|r| r.tenant_id)).await?;
    let entries = rows
        .into_iter()
        .map(|r| AuditRow {
            id: r.id,
            occurred_at: r.occurred_at,
            actor_email: r.actor_user_id.and_then(|id| emails.get(&id).cloned()),
            actor_user_id: r.actor_user_id,
            actor_token_id: r.actor_token_id,
            action: r.action,
            target_type: r.target_type,
            target_id: r.target_id,
            tenant_slug: r.tenant_id.and_then(|id| slugs.get(&id).cloned()),
            tenant_id: r.tenant_id,
            ip: r.ip,
            request_id: r.request_id,
            before: r.before,
            after: r.after,
        })
        .collect();
    Ok(AuditPage { entries, next_cursor })
}
