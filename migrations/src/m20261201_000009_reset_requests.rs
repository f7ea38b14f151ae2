//! Forgot-password requests waiting for the delivery worker. The request itself only records the
//! throttle and one of these rows, the same for a known and an unknown identifier; the worker
//! looks the account up, issues the code and queues its email. So the answer takes the same time
//! whether or not the account exists.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ResetRequests {
    Table,
    Id,
    TenantId,
    IdentifierEnc,
    CreatedAt,
    ClaimedUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ResetRequests::Table)
                    .col(uuid(ResetRequests::Id).primary_key())
                    // Not a foreign key, like the outbox: a request for a deleted tenant is dropped.
                    .col(uuid(ResetRequests::TenantId))
                    .col(blob(ResetRequests::IdentifierEnc))
                    .col(timestamp_with_time_zone(ResetRequests::CreatedAt))
                    .col(timestamp_with_time_zone(ResetRequests::ClaimedUntil))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("reset_requests_claimed_until")
                    .table(ResetRequests::Table)
                    .col(ResetRequests::ClaimedUntil)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ResetRequests::Table).to_owned())
            .await
    }
}
