//! Memberships counted by workspace and stored status, so the users list can show its status
//! counts without counting a million rows on every page.
//!
//! Triggers only ever append `(tenant_id, status, ±1)` rows: two transactions never wait on one
//! counter row, so changing statuses in any order cannot deadlock. The delivery worker folds the
//! appended rows into one per workspace and status (`directory::compact_membership_counts`).
//! An index on `(status, locked_until, cooldown_until)` finds the lockouts and cooldowns that
//! have run out, which the list reads as Active.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, boolean, uuid};

use crate::m20261123_000001_core::Memberships;
use crate::{index, run_for_backend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MembershipCounts {
    Table,
    TenantId,
    Status,
    N,
    Pending,
}

const POSTGRES_UP: &[&str] = &[
    "CREATE FUNCTION membership_counts_track() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF TG_OP IN ('UPDATE', 'DELETE') THEN
         INSERT INTO membership_counts (tenant_id, status, n, pending) VALUES (OLD.tenant_id, OLD.status, -1, true);
       END IF;
       IF TG_OP IN ('UPDATE', 'INSERT') THEN
         INSERT INTO membership_counts (tenant_id, status, n, pending) VALUES (NEW.tenant_id, NEW.status, 1, true);
       END IF;
       RETURN NULL;
     END $$",
    "CREATE TRIGGER membership_counts_insert_delete AFTER INSERT OR DELETE ON memberships
     FOR EACH ROW EXECUTE FUNCTION membership_counts_track()",
    "CREATE TRIGGER membership_counts_update AFTER UPDATE OF status, tenant_id ON memberships
     FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
     EXECUTE FUNCTION membership_counts_track()",
];

const POSTGRES_DOWN: &[&str] = &[
    "DROP TRIGGER membership_counts_update ON memberships",
    "DROP TRIGGER membership_counts_insert_delete ON memberships",
    "DROP FUNCTION membership_counts_track()",
];

const SQLITE_UP: &[&str] = &[
    "CREATE TRIGGER membership_counts_insert AFTER INSERT ON memberships BEGIN
       INSERT INTO membership_counts (tenant_id, status, n, pending) VALUES (new.tenant_id, new.status, 1, 1);
     END",
    "CREATE TRIGGER membership_counts_delete AFTER DELETE ON memberships BEGIN
       INSERT INTO membership_counts (tenant_id, status, n, pending) VALUES (old.tenant_id, old.status, -1, 1);
     END",
    "CREATE TRIGGER membership_counts_update AFTER UPDATE OF status, tenant_id ON memberships
     WHEN old.status IS NOT new.status OR old.tenant_id IS NOT new.tenant_id BEGIN
       INSERT INTO membership_counts (tenant_id, status, n, pending) VALUES (old.tenant_id, old.status, -1, 1);
       INSERT INTO membership_counts (tenant_id, status, n, pending) VALUES (new.tenant_id, new.status, 1, 1);
     END",
];

const SQLITE_DOWN: &[&str] = &[
    "DROP TRIGGER membership_counts_update",
    "DROP TRIGGER membership_counts_delete",
    "DROP TRIGGER membership_counts_insert",
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(MembershipCounts::Table)
                    .col(uuid(MembershipCounts::TenantId))
                    .col(ColumnDef::new(MembershipCounts::Status).text().not_null())
                    .col(big_integer(MembershipCounts::N))
                    .col(boolean(MembershipCounts::Pending))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_membership_counts_tenant_status",
                MembershipCounts::Table,
                [MembershipCounts::TenantId, MembershipCounts::Status],
            ))
            .await?;
        // Whether anything waits to be folded, answered without reading the table (which
        // may hold many rows deleted by the last fold, on PostgreSQL until a vacuum).
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE INDEX idx_membership_counts_pending ON membership_counts (tenant_id, status) WHERE pending",
            )
            .await?;
        manager
            .create_index(index(
                "idx_memberships_status_ends",
                Memberships::Table,
                [
                    Memberships::Status,
                    Memberships::LockedUntil,
                    Memberships::CooldownUntil,
                ],
            ))
            .await?;
        let connection = manager.get_connection();
        connection
            .execute_unprepared(
                "INSERT INTO membership_counts (tenant_id, status, n, pending) \
                 SELECT tenant_id, status, COUNT(*), false FROM memberships GROUP BY tenant_id, status",
            )
            .await?;
        run_for_backend(manager, POSTGRES_UP, SQLITE_UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_for_backend(manager, POSTGRES_DOWN, SQLITE_DOWN).await?;
        manager
            .drop_index(
                Index::drop()
                    .name("idx_memberships_status_ends")
                    .table(Memberships::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(MembershipCounts::Table).to_owned())
            .await
    }
}
