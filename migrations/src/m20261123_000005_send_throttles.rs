//! Throttles for messages a user can ask for ("Resend code"): kept per identifier, whether or not
//! an account has it, so the throttle's answer never tells whether an account exists.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum SendThrottles {
    Table,
    Key,
    WindowStartedAt,
    SendsInWindow,
    LastSentAt,
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
                    .table(SendThrottles::Table)
                    .col(text(SendThrottles::Key).primary_key())
                    .col(timestamp_with_time_zone(SendThrottles::WindowStartedAt))
                    .col(integer(SendThrottles::SendsInWindow).default(0))
                    .col(timestamp_with_time_zone(SendThrottles::LastSentAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SendThrottles::Table).to_owned())
            .await
    }
}
