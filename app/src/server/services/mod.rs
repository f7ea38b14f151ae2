//! The service layer: every rule of the product. Transports parse input, build the context and
//! call one of these functions; none of them holds a rule of its own.

pub mod access;
pub mod account_actions;
pub mod audit;
pub mod auth;
pub mod command_line;
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
use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

/// Starts a transaction that will write. On SQLite it takes the write lock at BEGIN (IMMEDIATE):
/// a deferred transaction that reads and then writes fails at once with "database is locked"
/// when another connection wrote in between, and the busy timeout cannot help it. PostgreSQL
/// ignores the mode.
pub(crate) async fn begin(db: &DatabaseConnection) -> Result<DatabaseTransaction, AppError> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
    .map_err(db_error)
}

/// Starts a write transaction whose commit does not wait for the disk on PostgreSQL (elsewhere
/// it is [`begin`]). Only for writes a crash may lose at no cost, or writes a later synchronous
/// commit of the same request makes durable: PostgreSQL writes its log in order, so the flush of
/// a synchronous commit also covers every asynchronous commit before it. On this kind of machine
/// a flush takes 10 to 15 ms, and a sign-in made five of them.
pub(crate) async fn begin_without_flush(db: &DatabaseConnection) -> Result<DatabaseTransaction, AppError> {
    let txn = begin(db).await?;
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        sea_orm::ConnectionTrait::execute_unprepared(&txn, "SET LOCAL synchronous_commit = off")
            .await
            .map_err(db_error)?;
    }
    Ok(txn)
}

/// Database failures are logged with their cause. A database that cannot be reached (restarting,
/// network, pool exhausted) is a 503 the client may retry; anything else is a generic 500.
pub(crate) fn db_error(error: DbErr) -> AppError {
    if database_unreachable(&error) {
        tracing::warn!(%error, "database unreachable");
        return AppError::unavailable();
    }
    tracing::error!(%error, "database error");
    AppError::internal()
}

/// Whether the error says the database could not be reached rather than that the statement
/// failed: no connection in time, a broken socket, or PostgreSQL's "shutting down / starting up /
/// connection" classes (57P, 08).
pub(crate) fn database_unreachable(error: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    match error {
        DbErr::ConnectionAcquire(_) => true,
        DbErr::Conn(RuntimeErr::SqlxError(cause))
        | DbErr::Exec(RuntimeErr::SqlxError(cause))
        | DbErr::Query(RuntimeErr::SqlxError(cause)) => match cause.as_ref() {
            Sqlx::Io(_)
            | Sqlx::Tls(_)
            | Sqlx::Protocol(_)
            | Sqlx::PoolTimedOut
            | Sqlx::PoolClosed
            | Sqlx::WorkerCrashed => true,
            Sqlx::Database(db) => db
                .code()
                .is_some_and(|code| code.starts_with("57P") || code.starts_with("08")),
            _ => false,
        },
        _ => false,
    }
}

/// A unique-constraint violation becomes a 409 with `message` (two admins inviting one address
/// at once); anything else is a database error.
pub(crate) fn conflict_or_db_error(error: DbErr, message: &str) -> AppError {
    if matches!(error.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_))) {
        return AppError::conflict(message);
    }
    db_error(error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::{ConnAcquireErr, RuntimeErr, sqlx};
    use std::sync::Arc;

    #[test]
    fn an_unreachable_database_is_a_503_and_a_failed_statement_a_500() {
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        for unreachable in [
            DbErr::ConnectionAcquire(ConnAcquireErr::Timeout),
            DbErr::Conn(RuntimeErr::SqlxError(Arc::new(sqlx::Error::Io(refused)))),
            DbErr::Query(RuntimeErr::SqlxError(Arc::new(sqlx::Error::PoolTimedOut))),
        ] {
            let error = db_error(unreachable);
            assert_eq!((error.status(), error.code()), (503, "unavailable"));
            assert_eq!(error.retry_after_secs(), Some(5));
        }
        for broken in [
            DbErr::RecordNotFound("x".into()),
            DbErr::Query(RuntimeErr::SqlxError(Arc::new(sqlx::Error::RowNotFound))),
            DbErr::Custom("bad".into()),
        ] {
            assert_eq!(db_error(broken).status(), 500);
        }
    }
}
