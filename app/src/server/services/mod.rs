//! The service layer: every rule of the product. Transports parse input, build the context and
//! call one of these functions; none of them holds a rule of its own.

pub mod access;
pub mod account_actions;
pub mod audit;
pub mod auth;
pub mod custom_roles;
pub mod demo;
pub mod diagnosis;
pub mod directory;
pub mod email_change;
pub mod events;
pub mod hosts;
pub mod impersonation;
pub mod invites;
pub mod logs;
pub mod mfa;
pub mod one_time;
pub mod outbox;
pub mod recovery;
pub mod roles;
pub mod send_throttle;
pub mod sessions;
pub mod setup;
pub mod sms_factor;
pub mod sso;
pub mod temporary_passwords;
pub mod tenant_admin;
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

/// A unique-constraint violation becomes a 409 with `message` (two admins inviting one address
/// at once); anything else is a database error.
pub(crate) fn conflict_or_db_error(error: DbErr, message: &str) -> AppError {
    if matches!(error.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) {
        return AppError::conflict(message);
    }
    db_error(error)
}
