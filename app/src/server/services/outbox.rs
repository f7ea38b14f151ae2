//! The outbox (DESIGN.md, "Outbox"): every email is a row written with the change that caused
//! it, delivered later with retries and backoff. Bodies carry codes and links, so they are sealed.

use super::db_error;
use crate::AppError;
use crate::server::AppState;
use crate::server::crypto::Cipher;
use crate::server::entities::outbox::{self, Column, OutboxChannel, OutboxStatus};
use crate::server::mail::{Mailer, OutgoingEmail};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

/// After this many failed attempts a message is marked failed and left for an admin to see.
pub const MAX_ATTEMPTS: i32 = 8;
/// A message being sent is hidden from other workers for this long.
const CLAIM_LEASE: Duration = Duration::minutes(5);

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
pub async fn deliver_due(state: &AppState, mailer: &dyn Mailer, batch: u64) -> Result<DeliveryReport, AppError> {
    let db = &state.db;
    let now = state.clock.now();
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
            .col_expr(Column::NextAttemptAt, Expr::value(now + CLAIM_LEASE))
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

/// Runs delivery every `interval` until the process ends.
pub fn spawn_worker(state: AppState, mailer: std::sync::Arc<dyn Mailer>, interval: std::time::Duration) {
    tokio::spawn(async move {
        loop {
            if let Err(error) = deliver_due(&state, mailer.as_ref(), 50).await {
                tracing::error!(?error, "outbox delivery round failed");
            }
            tokio::time::sleep(interval).await;
        }
    });
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
