//! Core directory: tenants, roles, users and memberships.

use sea_orm_migration::{prelude::*, schema::*};

use crate::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Tenants {
    Table,
    Id,
    Slug,
    Name,
    Kind,
    SignInMode,
    IsMfaEnforced,
    PolicyOverrides,
    Status,
    SsoIssuer,
    SsoClientId,
    SsoClientSecretEnc,
    SsoAllowedDomains,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Roles {
    Table,
    Id,
    TenantId,
    Key,
    Name,
    Scope,
    Permissions,
    IsBuiltin,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum Users {
    Table,
    Id,
    Email,
    Username,
    DisplayName,
    SecondaryEmail,
    Phone,
    PasswordHash,
    PasswordChangedAt,
    MustChangePassword,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
pub enum Memberships {
    Table,
    Id,
    UserId,
    TenantId,
    RoleId,
    Status,
    LockedReason,
    LockedUntil,
    CooldownUntil,
    MfaFailedAttempts,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        // SQLite has transactional DDL too: a failed migration leaves nothing half-made.
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Tenants::Table)
                    .col(pk_uuid(Tenants::Id))
                    .col(text_uniq(Tenants::Slug))
                    .col(text(Tenants::Name))
                    // 'operator' | 'customer'
                    .col(text(Tenants::Kind))
                    // 'password' | 'sso'
                    .col(text(Tenants::SignInMode).default("password"))
                    .col(boolean(Tenants::IsMfaEnforced).default(false))
                    // '{}' written by the application
                    .col(json(Tenants::PolicyOverrides))
                    // 'active' | 'suspended'
                    .col(text(Tenants::Status))
                    .col(text_null(Tenants::SsoIssuer))
                    .col(text_null(Tenants::SsoClientId))
                    .col(blob_null(Tenants::SsoClientSecretEnc))
                    .col(json_null(Tenants::SsoAllowedDomains))
                    .col(timestamp_with_time_zone(Tenants::CreatedAt))
                    .col(timestamp_with_time_zone(Tenants::UpdatedAt))
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Roles::Table)
                    .col(pk_uuid(Roles::Id))
                    // NULL: built-in / global role
                    .col(uuid_null(Roles::TenantId))
                    // built-ins: 'administrator', 'support', 'read_only', 'member'
                    .col(text_null(Roles::Key).unique_key())
                    .col(text(Roles::Name))
                    // 'operator' | 'tenant' | 'any'
                    .col(text(Roles::Scope))
                    // JSON array of permission strings
                    .col(json(Roles::Permissions))
                    .col(boolean(Roles::IsBuiltin).default(false))
                    .col(timestamp_with_time_zone(Roles::CreatedAt))
                    .foreign_key(&mut fk(
                        "fk_roles_tenant",
                        Roles::Table,
                        Roles::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("idx_roles_tenant_id", Roles::Table, [Roles::TenantId]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(pk_uuid(Users::Id))
                    // normalised to lower case by the application; the unique constraint is
                    // also the index for look-ups by email
                    .col(text_uniq(Users::Email))
                    .col(text_null(Users::Username).unique_key())
                    .col(text(Users::DisplayName))
                    .col(text_null(Users::SecondaryEmail))
                    .col(text_null(Users::Phone))
                    // PHC string
                    .col(text_null(Users::PasswordHash))
                    .col(timestamp_with_time_zone_null(Users::PasswordChangedAt))
                    .col(boolean(Users::MustChangePassword).default(false))
                    .col(timestamp_with_time_zone(Users::CreatedAt))
                    .col(timestamp_with_time_zone(Users::UpdatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_users_display_name_id",
                Users::Table,
                [Users::DisplayName, Users::Id],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Memberships::Table)
                    .col(pk_uuid(Memberships::Id))
                    .col(uuid(Memberships::UserId))
                    .col(uuid(Memberships::TenantId))
                    .col(uuid(Memberships::RoleId))
                    // 'pending' | 'active' | 'locked' | 'cooldown' | 'disabled'
                    .col(text(Memberships::Status))
                    .col(text_null(Memberships::LockedReason))
                    .col(timestamp_with_time_zone_null(Memberships::LockedUntil))
                    .col(timestamp_with_time_zone_null(Memberships::CooldownUntil))
                    .col(integer(Memberships::MfaFailedAttempts).default(0))
                    .col(timestamp_with_time_zone(Memberships::CreatedAt))
                    .col(timestamp_with_time_zone(Memberships::UpdatedAt))
                    .foreign_key(&mut fk(
                        "fk_memberships_user",
                        Memberships::Table,
                        Memberships::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    .foreign_key(&mut fk(
                        "fk_memberships_tenant",
                        Memberships::Table,
                        Memberships::TenantId,
                        Tenants::Table,
                        Tenants::Id,
                        ForeignKeyAction::Cascade,
                    ))
                    // NO ACTION (checked at the end of the statement): a role still in use
                    // cannot be deleted, but deleting a tenant removes its custom roles and
                    // their memberships together.
                    .foreign_key(&mut fk(
                        "fk_memberships_role",
                        Memberships::Table,
                        Memberships::RoleId,
                        Roles::Table,
                        Roles::Id,
                        ForeignKeyAction::NoAction,
                    ))
                    .to_owned(),
            )
            .await?;
        // Also serves look-ups by user_id alone (leading column).
        manager
            .create_index(
                index(
                    "uq_memberships_user_tenant",
                    Memberships::Table,
                    [Memberships::UserId, Memberships::TenantId],
                )
                .unique()
                .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_memberships_tenant_status_user",
                Memberships::Table,
                [Memberships::TenantId, Memberships::Status, Memberships::UserId],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_memberships_tenant_user",
                Memberships::Table,
                [Memberships::TenantId, Memberships::UserId],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_memberships_role_id",
                Memberships::Table,
                [Memberships::RoleId],
            ))
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Memberships::Table.into_iden(),
            Users::Table.into_iden(),
            Roles::Table.into_iden(),
            Tenants::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
