//! `memberships.mfa_enrollment_required`: the person's next sign-in on this workspace sets up a
//! second factor before anything else, whether or not the workspace enforces MFA. Set for an
//! operator administrator made from the command line; cleared when a factor is confirmed.

use sea_orm_migration::prelude::*;

use crate::m20261123_000001_core::Memberships;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Enrollment {
    MfaEnrollmentRequired,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Memberships::Table)
                    .add_column(
                        ColumnDef::new(Enrollment::MfaEnrollmentRequired)
                            .boolean()
                            .not_null()
                            .default(false),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Memberships::Table)
                    .drop_column(Enrollment::MfaEnrollmentRequired)
                    .to_owned(),
            )
            .await
    }
}
