//! Substring search on users (email, username, display name) through an index, never a scan of
//! the users table: trigram GIN indexes on PostgreSQL (pg_trgm), and on SQLite an FTS5 table with
//! the trigram tokenizer, kept in step by triggers. Its rows are keyed by `users.search_id`, a
//! number of our own: SQLite's implicit rowid may change on VACUUM.

use crate::run_for_backend;
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &[&str] = &[
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX users_email_trgm ON users USING gin (email gin_trgm_ops)",
    "CREATE INDEX users_username_trgm ON users USING gin (username gin_trgm_ops)",
    "CREATE INDEX users_display_name_trgm ON users USING gin (lower(display_name) gin_trgm_ops)",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP INDEX users_display_name_trgm",
    "DROP INDEX users_username_trgm",
    "DROP INDEX users_email_trgm",
];

const SQLITE_UP: &[&str] = &[
    "ALTER TABLE users ADD COLUMN search_id INTEGER",
    "UPDATE users SET search_id = rowid",
    "CREATE UNIQUE INDEX users_search_id ON users (search_id)",
    "CREATE VIRTUAL TABLE users_search USING fts5(email, username, display_name, tokenize = 'trigram')",
    "INSERT INTO users_search (rowid, email, username, display_name) \
     SELECT search_id, email, username, display_name FROM users",
    "CREATE TRIGGER users_search_insert AFTER INSERT ON users BEGIN \
       UPDATE users SET search_id = (SELECT COALESCE(MAX(search_id), 0) + 1 FROM users) WHERE rowid = new.rowid; \
       INSERT INTO users_search (rowid, email, username, display_name) \
         SELECT search_id, email, username, display_name FROM users WHERE rowid = new.rowid; \
     END",
    "CREATE TRIGGER users_search_update AFTER UPDATE OF email, username, display_name ON users BEGIN \
       DELETE FROM users_search WHERE rowid = old.search_id; \
       INSERT INTO users_search (rowid, email, username, display_name) \
         VALUES (new.search_id, new.email, new.username, new.display_name); \
     END",
    "CREATE TRIGGER users_search_delete AFTER DELETE ON users BEGIN \
       DELETE FROM users_search WHERE rowid = old.search_id; \
     END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER users_search_delete",
    "DROP TRIGGER users_search_update",
    "DROP TRIGGER users_search_insert",
    "DROP TABLE users_search",
    "DROP INDEX users_search_id",
    "ALTER TABLE users DROP COLUMN search_id",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_for_backend(manager, POSTGRES_UP, SQLITE_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_for_backend(manager, POSTGRES_DOWN, SQLITE_DOWN).await
    }
}
