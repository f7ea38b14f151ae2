//! Authentication state: MFA factors, recovery codes, one-time secrets, sessions, sign-in
//! throttles and API tokens.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261123_000001_core::{Roles, Tenants, Users};
use crate::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum MfaFactors {
    Table,
    Id,
    UserId,
    Kind,
    Label,
    SecretEnc,
    Phone,
    LastUsedStep,
    ConfirmedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum RecoveryCodes {
    Table,
    Id,
    UserId,
    CodeHash,
    UsedAt,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum OneTimeSecrets {
    Table,
    Id,
    Purpose,
    UserId,
    TenantId,
    SecretHash,
    ExpiresAt,
    MaxUses,
    UseCount,
    FailedAttempts,
    SupersededAt,
    ConsumedAt,
    CreatedByUserId,
    Data,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum Sessions {
    Table,
    Id,
    TokenHash,
    UserId,
    TenantId,
    CreatedAt,
    LastSeenAt,
    IdleExpiresAt,
    AbsoluteExpiresAt,
    MfaVerified,
    ImpersonatorUserId,
    Ip,
    UserAgent,
    RevokedAt,
}

#[derive(DeriveIden)]
pub enum SignInThrottles {
    Table,
    Key,
    TenantId,
    Failures,
    InFlight,
    InFlightExpiresAt,
    LockedUntil,
    LockCount,
    LastFailureAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum ApiTokens {
    Table,
    Id,
    TokenHash,
    Prefix,
    Name,
    UserId,
    TenantId,
    RoleId,
    ExpiresAt,
    LastUsedAt,
    CreatedAt,
    RevokedAt,
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
                    .table(MfaFactors::Table)
                    .col(pk_uuid(MfaFactors::Id))
                    .col(uuid(MfaFactors::UserId))
                    // 'totp' | 'sms'
                    .col(text(MfaFactors::Kind))
                    .col(text(MfaFactors::Label))
                    .col(blob_null(MfaFactors::SecretEnc))
                    .col(text_null(MfaFactors::Phone))
                    .col(big_integer_null(MfaFactors::LastUsedStep))
                    .col(timestamp_with_time_zone_null(MfaFactors::ConfirmedAt))
                    .col(timestamp_with_time_zone(MfaFactors::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_mfa_factors_user",
                        MfaFactors::Table,
                        MfaFactors::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_mfa_factors_user_id",
                MfaFactors::Table,
                [MfaFactors::UserId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .col(pk_uuid(RecoveryCodes::Id))
                    .col(uuid(RecoveryCodes::UserId))
                    .col(text(RecoveryCodes::CodeHash))
                    .col(timestamp_with_time_zone_null(RecoveryCodes::UsedAt))
                    .col(timestamp_with_time_zone(RecoveryCodes::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_recovery_codes_user",
                        RecoveryCodes::Table,
                        RecoveryCodes::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_recovery_codes_user_id",
                RecoveryCodes::Table,
                [RecoveryCodes::UserId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(OneTimeSecrets::Table)
                    .col(pk_uuid(OneTimeSecrets::Id))
                    // 'invite' | 'access_link' | 'password_reset_code' | 'reset_link'
                    // | 'temporary_password' | 'email_change'
                    .col(text(OneTimeSecrets::Purpose))
                    .col(uuid(OneTimeSecrets::UserId))
                    .col(uuid(OneTimeSecrets::TenantId))
                    .col(text_uniq(OneTimeSecrets::SecretHash))
                    .col(timestamp_with_time_zone(OneTimeSecrets::ExpiresAt))
                    .col(integer(OneTimeSecrets::MaxUses))
                    .col(integer(OneTimeSecrets::UseCount).default(0))
                    .col(integer(OneTimeSecrets::FailedAttempts).default(0))
                    .col(timestamp_with_time_zone_null(OneTimeSecrets::SupersededAt))
                    .col(timestamp_with_time_zone_null(OneTimeSecrets::ConsumedAt))
                    .col(uuid_null(OneTimeSecrets::CreatedByUserId))
                    .col(json_null(OneTimeSecrets::Data))
                    .col(timestamp_with_time_zone(OneTimeSecrets::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_one_time_secrets_user",
                        OneTimeSecrets::Table,
                        OneTimeSecrets::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_one_time_secrets_tenant",
                        OneTimeSecrets::Table,
                        OneTimeSecrets::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_one_time_secrets_created_by",
                        OneTimeSecrets::Table,
                        OneTimeSecrets::CreatedByUserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_one_time_secrets_user_tenant_purpose",
                OneTimeSecrets::Table,
                [
                    OneTimeSecrets::UserId,
                    OneTimeSecrets::TenantId,
                    OneTimeSecrets::Purpose,
                ],
            ))
            .await?;
        // Keeps deleting a user (ON DELETE SET NULL) and a tenant (CASCADE) from scanning.
        manager
            .create_index(index(
                "idx_one_time_secrets_created_by",
                OneTimeSecrets::Table,
                [OneTimeSecrets::CreatedByUserId],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_one_time_secrets_tenant_id",
                OneTimeSecrets::Table,
                [OneTimeSecrets::TenantId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(pk_uuid(Sessions::Id))
                    .col(text_uniq(Sessions::TokenHash))
                    .col(uuid(Sessions::UserId))
                    .col(uuid(Sessions::TenantId))
                    .col(timestamp_with_time_zone(Sessions::CreatedAt))
                    .col(timestamp_with_time_zone(Sessions::LastSeenAt))
                    .col(timestamp_with_time_zone(Sessions::IdleExpiresAt))
                    .col(timestamp_with_time_zone(Sessions::AbsoluteExpiresAt))
                    .col(boolean(Sessions::MfaVerified).default(false))
                    .col(uuid_null(Sessions::ImpersonatorUserId))
                    .col(text_null(Sessions::Ip))
                    .col(text_null(Sessions::UserAgent))
                    .col(timestamp_with_time_zone_null(Sessions::RevokedAt))
                    .foreign_key(&mut fk(
                        "fk_sessions_user",
                        Sessions::Table,
                        Sessions::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_sessions_tenant",
                        Sessions::Table,
                        Sessions::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    // An impersonation session belongs to the impersonator as much as to the
                    // user: it goes when the impersonator goes (SET NULL would silently turn
                    // it into the user's own session).
                    .foreign_key(&mut fk(
                        "fk_sessions_impersonator",
                        Sessions::Table,
                        Sessions::ImpersonatorUserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("idx_sessions_user_id", Sessions::Table, [Sessions::UserId]))
            .await?;
        manager
            .create_index(index("idx_sessions_tenant_id", Sessions::Table, [Sessions::TenantId]))
            .await?;
        manager
            .create_index(index(
                "idx_sessions_impersonator_user_id",
                Sessions::Table,
                [Sessions::ImpersonatorUserId],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(SignInThrottles::Table)
                    // "u:<tenant uuid>:<normalised identifier>" or "d:<device nonce>"
                    .col(text(SignInThrottles::Key).primary_key())
                    .col(uuid(SignInThrottles::TenantId))
                    .col(integer(SignInThrottles::Failures).default(0))
                    .col(integer(SignInThrottles::InFlight).default(0))
                    .col(timestamp_with_time_zone_null(SignInThrottles::InFlightExpiresAt))
                    .col(timestamp_with_time_zone_null(SignInThrottles::LockedUntil))
                    .col(integer(SignInThrottles::LockCount).default(0))
                    .col(timestamp_with_time_zone_null(SignInThrottles::LastFailureAt))
                    .col(timestamp_with_time_zone(SignInThrottles::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ApiTokens::Table)
                    .col(pk_uuid(ApiTokens::Id))
                    .col(text_uniq(ApiTokens::TokenHash))
                    .col(text(ApiTokens::Prefix))
                    .col(text(ApiTokens::Name))
                    .col(uuid(ApiTokens::UserId))
                    .col(uuid(ApiTokens::TenantId))
                    .col(uuid(ApiTokens::RoleId))
                    .col(timestamp_with_time_zone_null(ApiTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::LastUsedAt))
                    .col(timestamp_with_time_zone(ApiTokens::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiTokens::RevokedAt))
                    .foreign_key(&mut fk(
                        "fk_api_tokens_user",
                        ApiTokens::Table,
                        ApiTokens::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_api_tokens_tenant",
                        ApiTokens::Table,
                        ApiTokens::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_api_tokens_role",
                        ApiTokens::Table,
                        ApiTokens::RoleId,
                        Roles::Table,
                        Roles::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("idx_api_tokens_user_id", ApiTokens::Table, [ApiTokens::UserId]))
            .await?;
        manager
            .create_index(index(
                "idx_api_tokens_tenant_id",
                ApiTokens::Table,
                [ApiTokens::TenantId],
            ))
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ApiTokens::Table.into_iden(),
            SignInThrottles::Table.into_iden(),
            Sessions::Table.into_iden(),
            OneTimeSecrets::Table.into_iden(),
            RecoveryCodes::Table.into_iden(),
            MfaFactors::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
