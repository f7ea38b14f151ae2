//! The service layer: every rule of the product. Transports parse input, build the context and
//! call one of these functions; none of them holds a rule of its own.

pub mod access;
pub mod audit;
pub mod auth;
pub mod demo;
pub mod events;
pub mod hosts;
pub mod outbox;
pub mod recovery;
pub mod roles;
pub mod send_throttle;
pub mod sessions;
pub mod setup;
pub mod throttle;
pub mod tokens;
pub mod users;

use crate::AppError;
use sea_orm::DbErr;

/// Database failures are logged with their cause and shown to clients as a generic message.
pub(crate) fn db_error(error: DbErr) -> AppError {
    tracing::error!(%error, "database error");
    AppError::internal()
}
