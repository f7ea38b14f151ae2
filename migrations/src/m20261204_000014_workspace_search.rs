//! Searching one workspace's users through an index on PostgreSQL.
//!
//! The users' trigram indexes find a text's matches in every workspace: 'lovelace' is 625,000
//! people at ten million users, of whom a 10,000-member workspace holds 625. So a search of one
//! workspace either read every match or walked the workspace and probed each member's user, and
//! its status counts probed all 10,000 (240 ms in session 12). Now each membership carries its
//! user's searchable text, `search_text` (email, username and lower-cased display name, one per
//! line: a search cannot hold a line break, so a match lies inside one of them), and a GIN index
//! on `(tenant_id, search_text)` (the workspace through `btree_gin`, the text through trigrams)
//! answers "this workspace and this text" with the workspace's matches alone.
//!
//! Triggers keep the copy: a new membership takes its user's text, and a change of email,
//! username or display name is carried to every membership of the user (this replaces the
//! email-only trigger of `membership_email`, which the new one does too). The entities do not
//! know the column; only the users list's search reads it.
//!
//! SQLite compares a workspace of up to 10,000 members row by row and searches a larger one
//! through its FTS5 table; the `sqlite_workspace_scan` migration gives it the same column.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &[&str] = &[
    "CREATE EXTENSION IF NOT EXISTS btree_gin",
    "CREATE FUNCTION membership_search_text(email text, username text, display_name text) RETURNS text
     LANGUAGE sql IMMUTABLE AS $$ SELECT email || E'\\n' || coalesce(username, '') || E'\\n' || lower(display_name) $$",
    "ALTER TABLE memberships ADD COLUMN search_text text NOT NULL DEFAULT ''",
    "UPDATE memberships SET search_text = membership_search_text(users.email, users.username, users.display_name)
     FROM users WHERE users.id = memberships.user_id",
    // A GIN index builds several times faster with room to sort its entries in memory.
    "SET LOCAL maintenance_work_mem = '256MB'",
    "CREATE INDEX idx_memberships_tenant_search ON memberships USING gin (tenant_id, search_text gin_trgm_ops)",
    "CREATE FUNCTION memberships_take_search_text() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       -- No user means the foreign key refuses the row; leave that error to it.
       NEW.search_text := coalesce(
         (SELECT membership_search_text(email, username, display_name) FROM users WHERE id = NEW.user_id), '');
       RETURN NEW;
     END $$",
    "CREATE TRIGGER memberships_take_search_text BEFORE INSERT OR UPDATE OF user_id ON memberships
     FOR EACH ROW EXECUTE FUNCTION memberships_take_search_text()",
    "CREATE FUNCTION memberships_follow_user() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       UPDATE memberships
          SET user_email = NEW.email,
              search_text = membership_search_text(NEW.email, NEW.username, NEW.display_name)
        WHERE user_id = NEW.id;
       RETURN NULL;
     END $$",
    "CREATE TRIGGER memberships_follow_user AFTER UPDATE OF email, username, display_name ON users
     FOR EACH ROW WHEN (OLD.email IS DISTINCT FROM NEW.email
                     OR OLD.username IS DISTINCT FROM NEW.username
                     OR OLD.display_name IS DISTINCT FROM NEW.display_name)
     EXECUTE FUNCTION memberships_follow_user()",
    "DROP TRIGGER memberships_follow_email ON users",
    "DROP FUNCTION memberships_follow_email()",
];

const POSTGRES_DOWN: &[&str] = &[
    "CREATE FUNCTION memberships_follow_email() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       UPDATE memberships SET user_email = NEW.email WHERE user_id = NEW.id;
       RETURN NULL;
     END $$",
    "CREATE TRIGGER memberships_follow_email AFTER UPDATE OF email ON users
     FOR EACH ROW WHEN (OLD.email IS DISTINCT FROM NEW.email) EXECUTE FUNCTION memberships_follow_email()",
    "DROP TRIGGER memberships_follow_user ON users",
    "DROP FUNCTION memberships_follow_user()",
    "DROP TRIGGER memberships_take_search_text ON memberships",
    "DROP FUNCTION memberships_take_search_text()",
    "DROP INDEX idx_memberships_tenant_search",
    "ALTER TABLE memberships DROP COLUMN search_text",
    "DROP FUNCTION membership_search_text(text, text, text)",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_for_backend(manager, POSTGRES_UP, &[]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_for_backend(manager, POSTGRES_DOWN, &[]).await
    }
}
