//! Counting a workspace's memberships by status without reading the table.
//!
//! With a search, a role or an MFA filter the users list counts its statuses rather than read
//! `membership_counts`. A workspace's memberships lie scattered over the table (one row in a
//! thousand at ten million users), so fetching each row for its status and lock ends cost a heap
//! page per membership. On PostgreSQL the `(tenant_id, status, user_id)` index now carries the
//! role and the lock and cooldown ends too, so the count is an index-only scan. (SQLite's
//! counts of a workspace already run on its status index and stay as they were.)
//!
//! "Has a confirmed second factor" gets a partial index on both databases, so the MFA filter and
//! the page's MFA column probe an index without fetching the factor.

use sea_orm_migration::prelude::*;

use crate::run_for_backend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const CONFIRMED_FACTORS: &str =
    "CREATE INDEX idx_mfa_factors_confirmed_user ON mfa_factors (user_id) WHERE confirmed_at IS NOT NULL";

const POSTGRES_UP: &[&str] = &[
    "CREATE INDEX idx_memberships_tenant_status_cover ON memberships (tenant_id, status, user_id) \
     INCLUDE (role_id, locked_until, cooldown_until)",
    "DROP INDEX idx_memberships_tenant_status_user",
    CONFIRMED_FACTORS,
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP INDEX idx_mfa_factors_confirmed_user",
    "CREATE INDEX idx_memberships_tenant_status_user ON memberships (tenant_id, status, user_id)",
    "DROP INDEX idx_memberships_tenant_status_cover",
];

const SQLITE_UP: &[&str] = &[CONFIRMED_FACTORS];

const SQLITE_DOWN: &[&str] = &["DROP INDEX idx_mfa_factors_confirmed_user"];

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
