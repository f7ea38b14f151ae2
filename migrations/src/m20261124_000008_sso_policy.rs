//! Single sign-on policy per tenant: whether an unknown but allowed email may be provisioned on
//! its first SSO sign-in, and whether Latchkey's own MFA still applies after the provider's.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tenants {
    Table,
    SsoJitProvisioning,
    SsoRequiresMfa,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(boolean(Tenants::SsoJitProvisioning).default(false))
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Tenants::Table)
                    .add_column(boolean(Tenants::SsoRequiresMfa).default(true))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [Tenants::SsoRequiresMfa, Tenants::SsoJitProvisioning] {
            manager
                .alter_table(Table::alter().table(Tenants::Table).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
