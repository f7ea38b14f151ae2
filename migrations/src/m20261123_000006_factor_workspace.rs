//! The workspace where each MFA factor was set up, so that an org-level MFA reset removes the
//! enrollment that workspace required and leaves factors set up elsewhere. Not a foreign key
//! (SQLite cannot add one to an existing table); a tenant's factors go with its users.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum MfaFactors {
    Table,
    EnrolledTenantId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(MfaFactors::Table)
                    .add_column(uuid_null(MfaFactors::EnrolledTenantId))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(MfaFactors::Table)
                    .drop_column(MfaFactors::EnrolledTenantId)
                    .to_owned(),
            )
            .await
    }
}
