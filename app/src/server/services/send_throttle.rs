//! "Resend code" limits (DESIGN.md, "emailed recovery code"): 60 seconds apart and 5 an hour
//! per key. Keys are identifiers, not accounts, so an unknown email is throttled exactly like a
//! known one and the answer reveals nothing.

use super::db_error;
use crate::AppError;
use crate::server::entities::send_throttles::{self, Column};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

pub const MIN_INTERVAL: Duration = Duration::seconds(60);
pub const WINDOW: Duration = Duration::hours(1);
pub const MAX_PER_WINDOW: i32 = 5;

/// Counts one send for `key`, or says how many seconds to wait.
pub async fn record_send(db: &impl ConnectionTrait, key: &str, now: DateTime<Utc>) -> Result<(), AppError> {
    let row = send_throttles::ActiveModel {
        key: Set(key.to_owned()),
        window_started_at: Set(now),
        sends_in_window: Set(0),
        last_sent_at: Set(now - Duration::days(1)),
    };
    send_throttles::Entity::insert(row)
        .on_conflict_do_nothing_on([Column::Key])
        .exec(db)
        .await
        .map_err(db_error)?;
    send_throttles::Entity::update_many()
        .col_expr(Column::WindowStartedAt, Expr::value(now))
        .col_expr(Column::SendsInWindow, Expr::value(0))
        .filter(Column::Key.eq(key))
        .filter(Column::WindowStartedAt.lte(now - WINDOW))
        .exec(db)
        .await
        .map_err(db_error)?;
    let counted = send_throttles::Entity::update_many()
        .col_expr(Column::SendsInWindow, Expr::col(Column::SendsInWindow).add(1))
        .col_expr(Column::LastSentAt, Expr::value(now))
        .filter(Column::Key.eq(key))
        .filter(Column::SendsInWindow.lt(MAX_PER_WINDOW))
        .filter(Column::LastSentAt.lte(now - MIN_INTERVAL))
        .exec(db)
        .await
        .map_err(db_error)?;
    if counted.rows_affected == 1 {
        return Ok(());
    }
    let row = send_throttles::Entity::find_by_id(key.to_owned())
        .one(db)
        .await
        .map_err(db_error)?;
    let wait = row.map_or(MIN_INTERVAL, |row| {
        let next_interval = row.last_sent_at + MIN_INTERVAL - now;
        let next_window = if row.sends_in_window >= MAX_PER_WINDOW {
            row.window_started_at + WINDOW - now
        } else {
            Duration::zero()
        };
        Ord::max(next_interval, next_window)
    });
    let seconds = u64::try_from(Ord::max(wait.num_seconds(), 1)).unwrap_or(1);
    Err(AppError::RateLimited {
        message: format!("Please wait {} before asking for another code.", human_wait(seconds)),
        retry_after_secs: seconds,
    })
}

fn human_wait(seconds: u64) -> String {
    match seconds {
        0..=1 => "a second".into(),
        2..=90 => format!("{seconds} seconds"),
        _ => format!("{} minutes", seconds.div_ceil(60)),
    }
}
