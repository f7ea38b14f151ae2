//! Records: security events, the audit trail and the email/SMS outbox.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261123_000001_core::Users;
use crate::m20261123_000002_auth::ApiTokens;
use crate::{fk, index};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum SecurityEvents {
    Table,
    Id,
    Reference,
    EventType,
    UserId,
    TenantId,
    Identifier,
    OccurredAt,
    Ip,
    UserAgent,
    Detail,
}

#[derive(DeriveIden)]
pub enum AuditLog {
    Table,
    Id,
    ActorUserId,
    ActorTokenId,
    Action,
    TargetType,
    TargetId,
    TenantId,
    OccurredAt,
    Ip,
    RequestId,
    Before,
    After,
}

#[derive(DeriveIden)]
pub enum Outbox {
    Table,
    Id,
    Channel,
    TenantId,
    Recipient,
    Subject,
    BodyTextEnc,
    BodyHtmlEnc,
    Status,
    Attempts,
    NextAttemptAt,
    LastError,
    CreatedAt,
    SentAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // tenant_id in these three tables is deliberately not a foreign key: the records
        // outlive what they describe.
        manager
            .create_table(
                Table::create()
                    .table(SecurityEvents::Table)
                    .col(pk_uuid(SecurityEvents::Id))
                    // support reference shown to the user, e.g. "7F3K-Q2M9"
                    .col(text_uniq(SecurityEvents::Reference))
                    .col(text(SecurityEvents::EventType))
                    .col(uuid_null(SecurityEvents::UserId))
                    .col(uuid_null(SecurityEvents::TenantId))
                    .col(text_null(SecurityEvents::Identifier))
                    .col(timestamp_with_time_zone(SecurityEvents::OccurredAt))
                    .col(text_null(SecurityEvents::Ip))
                    .col(text_null(SecurityEvents::UserAgent))
                    .col(json_null(SecurityEvents::Detail))
                    .foreign_key(&mut fk(
                        "fk_security_events_user",
                        SecurityEvents::Table,
                        SecurityEvents::UserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_security_events_tenant_occurred",
                SecurityEvents::Table,
                [SecurityEvents::TenantId, SecurityEvents::OccurredAt],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_security_events_type_occurred",
                SecurityEvents::Table,
                [SecurityEvents::EventType, SecurityEvents::OccurredAt],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_security_events_user_occurred",
                SecurityEvents::Table,
                [SecurityEvents::UserId, SecurityEvents::OccurredAt],
            ))
            .await?;
        manager
            .create_index(index(
                "idx_security_events_occurred",
                SecurityEvents::Table,
                [SecurityEvents::OccurredAt],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(AuditLog::Table)
                    .col(pk_uuid(AuditLog::Id))
                    .col(uuid_null(AuditLog::ActorUserId))
                    .col(uuid_null(AuditLog::ActorTokenId))
                    .col(text(AuditLog::Action))
                    .col(text(AuditLog::TargetType))
                    .col(text_null(AuditLog::TargetId))
                    .col(uuid_null(AuditLog::TenantId))
                    .col(timestamp_with_time_zone(AuditLog::OccurredAt))
                    .col(text_null(AuditLog::Ip))
                    .col(text_null(AuditLog::RequestId))
                    .col(json_null(AuditLog::Before))
                    .col(json_null(AuditLog::After))
                    .foreign_key(&mut fk(
                        "fk_audit_log_actor_user",
                        AuditLog::Table,
                        AuditLog::ActorUserId,
                        Users::Table,
                        Users::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .foreign_key(&mut fk(
                        "fk_audit_log_actor_token",
                        AuditLog::Table,
                        AuditLog::ActorTokenId,
                        ApiTokens::Table,
                        ApiTokens::Id,
                        ForeignKeyAction::SetNull,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_audit_log_tenant_occurred",
                AuditLog::Table,
                [AuditLog::TenantId, AuditLog::OccurredAt],
            ))
            .await?;
        manager
            .create_index(index("idx_audit_log_occurred", AuditLog::Table, [AuditLog::OccurredAt]))
            .await?;
        // Keeps deleting a user (ON DELETE SET NULL) from scanning the whole trail.
        manager
            .create_index(index(
                "idx_audit_log_actor_occurred",
                AuditLog::Table,
                [AuditLog::ActorUserId, AuditLog::OccurredAt],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Outbox::Table)
                    .col(pk_uuid(Outbox::Id))
                    // 'email' | 'sms'
                    .col(text(Outbox::Channel))
                    .col(uuid_null(Outbox::TenantId))
                    .col(text(Outbox::Recipient))
                    .col(text_null(Outbox::Subject))
                    // bodies may contain codes: stored encrypted
                    .col(blob(Outbox::BodyTextEnc))
                    .col(blob_null(Outbox::BodyHtmlEnc))
                    // 'pending' | 'sent' | 'failed'
                    .col(text(Outbox::Status))
                    .col(integer(Outbox::Attempts).default(0))
                    .col(timestamp_with_time_zone(Outbox::NextAttemptAt))
                    .col(text_null(Outbox::LastError))
                    .col(timestamp_with_time_zone(Outbox::CreatedAt))
                    .col(timestamp_with_time_zone_null(Outbox::SentAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "idx_outbox_status_next_attempt",
                Outbox::Table,
                [Outbox::Status, Outbox::NextAttemptAt],
            ))
            .await?;

        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Outbox::Table.into_iden(),
            AuditLog::Table.into_iden(),
            SecurityEvents::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
