//! The outbox (DESIGN.md, "Outbox"): every email is a row written with the change that caused
//! it, delivered later with retries and backoff. Bodies carry codes and links, so they are sealed.

use super::access::require_operator;
use super::roles::permission::SETTINGS_MANAGE;
use super::{audit, db_error};
use crate::AppError;
use crate::server::crypto::Cipher;
use crate::server::entities::outbox::{self, Column, OutboxChannel, OutboxStatus};
use crate::server::entities::tenants;
use crate::server::mail::{Mailer, OutgoingEmail};
use crate::server::{Actor, AppState, RequestMeta};
use crate::types::{OutboxMessage, OutboxMessageBody, OutboxPage};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect,
    Set,
};
use uuid::Uuid;

/// After this many failed attempts a message is marked failed and left for an admin to see.
pub const MAX_ATTEMPTS: i32 = 8;

/// 30 s, doubling per attempt, at most an hour.
pub fn retry_delay(attempts: i32) -> Duration {
    Duration::seconds(Ord::min(30i64 << attempts.clamp(0, 10), 3600))
}

/// Queues an email; call it inside the transaction of the change it reports.
pub async fn enqueue_email(
    db: &impl ConnectionTrait,
    cipher: &Cipher,
    tenant_id: Option<Uuid>,
    email: &OutgoingEmail,
    now: DateTime<Utc>,
) -> Result<Uuid, AppError> {
    let row = outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        channel: Set(OutboxChannel::Email.into()),
        tenant_id: Set(tenant_id),
        recipient: Set(email.to.clone()),
        subject: Set(Some(email.subject.clone())),
        body_text_enc: Set(cipher.seal(email.text.as_bytes())),
        body_html_enc: Set(email.html.as_ref().map(|h| cipher.seal(h.as_bytes()))),
        status: Set(OutboxStatus::Pending.into()),
        attempts: Set(0),
        next_attempt_at: Set(now),
        last_error: Set(None),
        created_at: Set(now),
        sent_at: Set(None),
    }
    .insert(db)
    .await
    .map_err(db_error)?;
    Ok(row.id)
}

/// The message a row holds, unsealed.
pub fn open(cipher: &Cipher, row: &outbox::Model) -> Option<OutgoingEmail> {
    let text = String::from_utf8(cipher.open(&row.body_text_enc)?).ok()?;
    let html = match &row.body_html_enc {
        Some(sealed) => Some(String::from_utf8(cipher.open(sealed)?).ok()?),
        None => None,
    };
    Some(OutgoingEmail {
        to: row.recipient.clone(),
        subject: row.subject.clone().unwrap_or_default(),
        text,
        html,
        idempotency_key: Some(row.id.to_string()),
    })
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DeliveryReport {
    pub sent: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Sends what is due. Each row is claimed with a conditional update first, so several server
/// processes sharing one database never send a message twice.
/// Forgot-password requests waiting in the queue are handled first, so their codes go out in
/// the same round.
pub async fn deliver_due(state: &AppState, mailer: &dyn Mailer, batch: u64) -> Result<DeliveryReport, AppError> {
    super::recovery::handle_reset_requests(state, batch).await?;
    let db = &state.db;
    let now = state.clock.now();
    let lease = Duration::from_std(state.config.outbox_lease).unwrap_or(Duration::minutes(5));
    let due = outbox::Entity::find()
        .filter(Column::Status.eq(OutboxStatus::Pending))
        .filter(Column::Channel.eq(OutboxChannel::Email))
        .filter(Column::NextAttemptAt.lte(now))
        .order_by_asc(Column::NextAttemptAt)
        .limit(batch)
        .all(db)
        .await
        .map_err(db_error)?;
    let mut report = DeliveryReport::default();
    for row in due {
        let claimed = outbox::Entity::update_many()
            .col_expr(Column::NextAttemptAt, Expr::value(now + lease))
            .filter(Column::Id.eq(row.id))
            .filter(Column::Status.eq(OutboxStatus::Pending))
            .filter(Column::NextAttemptAt.eq(row.next_attempt_at))
            .exec(db)
            .await
            .map_err(db_error)?;
        if claimed.rows_affected != 1 {
            continue;
        }
        let result = match open(&state.cipher, &row) {
            Some(email) => mailer.send(&email).await,
            None => Err("the message could not be decrypted (was the encryption key changed?)".to_owned()),
        };
        let attempts = row.attempts + 1;
        let mut active: outbox::ActiveModel = row.into();
        active.attempts = Set(attempts);
        match result {
            Ok(()) => {
                active.status = Set(OutboxStatus::Sent.into());
                active.sent_at = Set(Some(state.clock.now()));
                active.last_error = Set(None);
                report.sent += 1;
            }
            Err(error) => {
                tracing::warn!(%error, attempts, "email delivery failed");
                active.last_error = Set(Some(error.chars().take(500).collect()));
                if attempts >= MAX_ATTEMPTS {
                    active.status = Set(OutboxStatus::Failed.into());
                    report.failed += 1;
                } else {
                    active.next_attempt_at = Set(state.clock.now() + retry_delay(attempts));
                    report.retried += 1;
                }
            }
        }
        active.update(db).await.map_err(db_error)?;
    }
    Ok(report)
}

/// Messages (and forgot-password requests) one worker round takes.
const BATCH: u64 = 50;

/// Runs every `interval` until the process ends: queued forgot-password requests become codes,
/// with an SMTP server configured due mail is sent, cooldowns that ran out are stored as over,
/// and the membership counts are folded.
pub fn spawn_worker(state: AppState, mailer: Option<std::sync::Arc<dyn Mailer>>, interval: std::time::Duration) {
    tokio::spawn(async move {
        loop {
            let round = match &mailer {
                Some(mailer) => deliver_due(&state, mailer.as_ref(), BATCH)
                    .await
                    .map(|r| r.sent + r.retried + r.failed),
                None => super::recovery::handle_reset_requests(&state, BATCH).await,
            };
            match round {
                // A full batch: more may be waiting, so go on without pausing.
                Ok(handled) if handled as u64 >= BATCH => continue,
                Ok(_) => {}
                Err(error) => tracing::error!(?error, "outbox delivery round failed"),
            }
            if let Err(error) = super::directory::release_ended_holds(&state.db, state.clock.now()).await {
                tracing::error!(?error, "releasing ended cooldowns failed");
            }
            if let Err(error) = super::directory::compact_membership_counts(&state.db).await {
                tracing::error!(?error, "folding the membership counts failed");
            }
            tokio::time::sleep(interval).await;
        }
    });
}

/// Rows of Settings > Outbox per page.
pub const PAGE_SIZE: u64 = 50;

fn summary(row: outbox::Model, tenant_names: &std::collections::HashMap<Uuid, String>) -> OutboxMessage {
    OutboxMessage {
        id: row.id,
        tenant_name: row.tenant_id.and_then(|id| tenant_names.get(&id).cloned()),
        channel: row.channel,
        recipient: row.recipient,
        subject: row.subject,
        status: row.status,
        attempts: row.attempts,
        last_error: row.last_error,
        created_at: row.created_at,
        next_attempt_at: row.next_attempt_at,
        sent_at: row.sent_at,
    }
}

/// Settings > Outbox: newest first, optionally one status, in pages of [`PAGE_SIZE`] (keyset on
/// the time-ordered id, so deep pages cost the same as the first).
pub async fn list(
    state: &AppState,
    actor: &Actor,
    status: Option<&str>,
    before: Option<&str>,
) -> Result<OutboxPage, AppError> {
    require_operator(actor, SETTINGS_MANAGE)?;
    let status = match status.map(str::trim).filter(|s| !s.is_empty() && *s != "all") {
        Some(raw) => Some(
            raw.parse::<OutboxStatus>()
                .map_err(|_| AppError::invalid("status", "Choose a status: pending, sent or failed."))?,
        ),
        None => None,
    };
    let before =
        match before.map(str::trim).filter(|s| !s.is_empty()) {
            Some(raw) => Some(raw.parse::<Uuid>().map_err(|_| {
                AppError::invalid("before", "That page cursor is not valid. Start from the first page.")
            })?),
            None => None,
        };
    let db = &state.db;
    let mut query = outbox::Entity::find().order_by_desc(Column::Id).limit(PAGE_SIZE + 1);
    if let Some(status) = status {
        query = query.filter(Column::Status.eq(status));
    }
    if let Some(before) = before {
        query = query.filter(Column::Id.lt(before));
    }
    let mut rows = query.all(db).await.map_err(db_error)?;
    let next_cursor = (rows.len() as u64 > PAGE_SIZE).then(|| {
        rows.truncate(PAGE_SIZE as usize);
        rows.last().map(|r| r.id.to_string())
    });
    let tenant_ids: Vec<Uuid> = rows.iter().filter_map(|r| r.tenant_id).collect();
    let tenant_names = tenants::Entity::find()
        .filter(tenants::Column::Id.is_in(tenant_ids))
        .all(db)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|t| (t.id, t.name))
        .collect();
    let count = |status: OutboxStatus| outbox::Entity::find().filter(Column::Status.eq(status)).count(db);
    Ok(OutboxPage {
        messages: rows.into_iter().map(|row| summary(row, &tenant_names)).collect(),
        next_cursor: next_cursor.flatten(),
        pending: count(OutboxStatus::Pending).await.map_err(db_error)?,
        sent: count(OutboxStatus::Sent).await.map_err(db_error)?,
        failed: count(OutboxStatus::Failed).await.map_err(db_error)?,
        smtp_configured: state.config.smtp_configured,
    })
}

async fn find(state: &AppState, id: Uuid) -> Result<outbox::Model, AppError> {
    outbox::Entity::find_by_id(id)
        .one(&state.db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| AppError::not_found("No such message in the outbox."))
}

/// Opens one message for reading. It may hold a live code or link, so reading it is audited.
pub async fn read(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    id: Uuid,
) -> Result<OutboxMessageBody, AppError> {
    require_operator(actor, SETTINGS_MANAGE)?;
    // With a mail transport, every message reaches its recipient: its body (codes, links,
    // temporary passwords) is theirs alone. Without one (a demo) the outbox is the only way
    // a message gets anywhere, so an operator admin may read it, audited.
    if state.config.smtp_configured {
        return Err(AppError::forbidden(
            "Message bodies stay sealed while a mail server delivers them: they may carry live codes and links. The list shows the recipient, subject, status, tries and last error.",
        ));
    }
    let row = find(state, id).await?;
    let email = open(&state.cipher, &row).ok_or_else(|| {
        tracing::error!(message_id = %row.id, "outbox message could not be decrypted");
        AppError::internal()
    })?;
    let change = audit::Change {
        action: "outbox.message_read",
        target_type: "outbox_message",
        target_id: Some(row.id.to_string()),
        tenant_id: row.tenant_id,
        before: None,
        after: Some(serde_json::json!({ "recipient": row.recipient })),
    };
    audit::record(&state.db, state.clock.as_ref(), actor, meta, change).await?;
    Ok(OutboxMessageBody {
        id: row.id,
        recipient: email.to,
        subject: email.subject,
        text: email.text,
    })
}

/// "Retry now": a failed or waiting message is due at once with a fresh set of attempts.
pub async fn retry(state: &AppState, actor: &Actor, meta: &RequestMeta, id: Uuid) -> Result<OutboxMessage, AppError> {
    require_operator(actor, SETTINGS_MANAGE)?;
    let row = find(state, id).await?;
    if row.status == OutboxStatus::Sent.as_str() {
        return Err(AppError::conflict("This message was already sent."));
    }
    let now = state.clock.now();
    let before = serde_json::json!({ "status": row.status, "attempts": row.attempts });
    let txn = super::begin(&state.db).await?;
    let mut active: outbox::ActiveModel = row.into();
    active.status = Set(OutboxStatus::Pending.into());
    active.attempts = Set(0);
    active.next_attempt_at = Set(now);
    let row = active.update(&txn).await.map_err(db_error)?;
    let change = audit::Change {
        action: "outbox.retry",
        target_type: "outbox_message",
        target_id: Some(row.id.to_string()),
        tenant_id: row.tenant_id,
        before: Some(before),
        after: Some(serde_json::json!({ "status": "pending", "attempts": 0 })),
    };
    audit::record(&txn, state.clock.as_ref(), actor, meta, change).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(summary(row, &Default::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_an_hour() {
        assert_eq!(retry_delay(0), Duration::seconds(30));
        assert_eq!(retry_delay(1), Duration::seconds(60));
        assert_eq!(retry_delay(3), Duration::seconds(240));
        assert_eq!(retry_delay(9), Duration::hours(1));
    }
}
