//! Searching and counting one workspace's users on SQLite from the memberships' indexes alone.
//!
//! SQLite compares a workspace of up to 10,000 members row by row (its FTS5 table would read the
//! text's matches in every workspace). At ten million users those members lie a thousand rows
//! apart, so each comparison read its membership's and its user's table pages: 82 to 94 ms for
//! one search of 10,000 members (session 18). Likewise a status count with an MFA or role filter
//! read each membership's row for its role and lock ends.
//!
//! Now SQLite keeps what PostgreSQL's `workspace_search` migration keeps: `search_text`, the
//! user's email, username and lower-cased display name one per line, copied by triggers. It is
//! the last column of the `(tenant_id, user_email, id)` index, so a search walks the workspace's
//! entries in page order and reads a table row only for a match. The status index gets the role
//! and the lock and cooldown ends, as PostgreSQL's covering status index has, so counting a
//! workspace by status needs no table row.
//!
//! The MFA filter's count of a 10,000-member workspace probed the confirmed-factors index once
//! per member (and read each factor's row too, to check the partial index's own condition: 32 to
//! 63 ms at ten million users). Each membership now carries `user_mfa_enrolled`, "its user has a
//! confirmed second factor", kept by triggers on `mfa_factors` and on new memberships, and the
//! status index carries it, so that count reads the workspace's index entries alone. The
//! confirmed-factors index gets `confirmed_at`, so the triggers and the page's MFA column answer
//! from the index.
//!
//! SQLite's `lower` folds ASCII only, as the row-by-row comparison it replaces did.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The searchable text of the user `u`, as `membership_search_text` builds it on PostgreSQL.
macro_rules! search_text_of {
    ($u:literal) => {
        concat!(
            $u,
            ".email || char(10) || coalesce(",
            $u,
            ".username, '') || char(10) || lower(",
            $u,
            ".display_name)"
        )
    };
}

/// Whether the user `u` has a confirmed second factor, as 1 or 0.
macro_rules! mfa_enrolled_of {
    ($u:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM mfa_factors WHERE mfa_factors.user_id = ",
            $u,
            " AND mfa_factors.confirmed_at IS NOT NULL)"
        )
    };
}

/// Completes a membership row (`new`) with what it copies from its user.
macro_rules! take_user_facts {
    () => {
        concat!(
            "UPDATE memberships SET search_text = coalesce((SELECT ",
            search_text_of!("users"),
            " FROM users WHERE users.id = new.user_id), ''), user_mfa_enrolled = ",
            mfa_enrolled_of!("new.user_id"),
            " WHERE rowid = new.rowid;"
        )
    };
}

/// Sets the MFA flag of every membership of the user `u`.
macro_rules! follow_factors_of {
    ($u:literal) => {
        concat!(
            "UPDATE memberships SET user_mfa_enrolled = ",
            mfa_enrolled_of!($u),
            " WHERE user_id = ",
            $u,
            ";"
        )
    };
}

const SQLITE_UP: &[&str] = &[
    "ALTER TABLE memberships ADD COLUMN search_text TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE memberships ADD COLUMN user_mfa_enrolled BOOLEAN NOT NULL DEFAULT 0",
    concat!(
        "UPDATE memberships SET search_text = coalesce((SELECT ",
        search_text_of!("users"),
        " FROM users WHERE users.id = memberships.user_id), '')"
    ),
    "UPDATE memberships SET user_mfa_enrolled = 1 \
     WHERE user_id IN (SELECT user_id FROM mfa_factors WHERE confirmed_at IS NOT NULL)",
    "CREATE INDEX idx_memberships_tenant_email_search ON memberships (tenant_id, user_email, id, search_text)",
    "DROP INDEX idx_memberships_tenant_user_email",
    "CREATE INDEX idx_memberships_tenant_status_cover ON memberships \
     (tenant_id, status, user_mfa_enrolled, user_id, role_id, locked_until, cooldown_until)",
    "DROP INDEX idx_memberships_tenant_status_user",
    // With `confirmed_at` in it, "has a confirmed factor" is answered from the index alone.
    "CREATE INDEX idx_mfa_factors_confirmed_user_at ON mfa_factors (user_id, confirmed_at) \
     WHERE confirmed_at IS NOT NULL",
    "DROP INDEX idx_mfa_factors_confirmed_user",
    // SQLite cannot change NEW before an insert, so the new row is completed just after.
    concat!(
        "CREATE TRIGGER memberships_take_user_facts AFTER INSERT ON memberships BEGIN ",
        take_user_facts!(),
        " END"
    ),
    concat!(
        "CREATE TRIGGER memberships_take_user_facts_on_move AFTER UPDATE OF user_id ON memberships ",
        "WHEN old.user_id IS NOT new.user_id BEGIN ",
        take_user_facts!(),
        " END"
    ),
    concat!(
        "CREATE TRIGGER memberships_follow_user AFTER UPDATE OF email, username, display_name ON users ",
        "WHEN old.email IS NOT new.email OR old.username IS NOT new.username ",
        "OR old.display_name IS NOT new.display_name BEGIN ",
        "UPDATE memberships SET user_email = new.email, search_text = ",
        search_text_of!("new"),
        " WHERE user_id = new.id; END"
    ),
    "DROP TRIGGER memberships_follow_email",
    concat!(
        "CREATE TRIGGER memberships_follow_factor_insert AFTER INSERT ON mfa_factors ",
        "WHEN new.confirmed_at IS NOT NULL BEGIN ",
        follow_factors_of!("new.user_id"),
        " END"
    ),
    concat!(
        "CREATE TRIGGER memberships_follow_factor_update AFTER UPDATE OF user_id, confirmed_at ON mfa_factors ",
        "WHEN old.user_id IS NOT new.user_id OR (old.confirmed_at IS NULL) IS NOT (new.confirmed_at IS NULL) BEGIN ",
        follow_factors_of!("old.user_id"),
        " ",
        follow_factors_of!("new.user_id"),
        " END"
    ),
    concat!(
        "CREATE TRIGGER memberships_follow_factor_delete AFTER DELETE ON mfa_factors ",
        "WHEN old.confirmed_at IS NOT NULL BEGIN ",
        follow_factors_of!("old.user_id"),
        " END"
    ),
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER memberships_follow_factor_delete",
    "DROP TRIGGER memberships_follow_factor_update",
    "DROP TRIGGER memberships_follow_factor_insert",
    "CREATE TRIGGER memberships_follow_email AFTER UPDATE OF email ON users
     WHEN old.email IS NOT new.email BEGIN
       UPDATE memberships SET user_email = new.email WHERE user_id = new.id;
     END",
    "DROP TRIGGER memberships_follow_user",
    "DROP TRIGGER memberships_take_user_facts_on_move",
    "DROP TRIGGER memberships_take_user_facts",
    "CREATE INDEX idx_mfa_factors_confirmed_user ON mfa_factors (user_id) WHERE confirmed_at IS NOT NULL",
    "DROP INDEX idx_mfa_factors_confirmed_user_at",
    "CREATE INDEX idx_memberships_tenant_status_user ON memberships (tenant_id, status, user_id)",
    "DROP INDEX idx_memberships_tenant_status_cover",
    "CREATE INDEX idx_memberships_tenant_user_email ON memberships (tenant_id, user_email, id)",
    "DROP INDEX idx_memberships_tenant_email_search",
    "ALTER TABLE memberships DROP COLUMN user_mfa_enrolled",
    "ALTER TABLE memberships DROP COLUMN search_text",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_for_backend(manager, &[], SQLITE_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        crate::run_for_backend(manager, &[], SQLITE_DOWN).await
    }
}
