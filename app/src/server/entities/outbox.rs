//! `outbox`: every email and SMS, sent with retries. Bodies may contain codes: encrypted.

use sea_orm::entity::prelude::*;

text_enum! {
    /// `outbox.channel`
    pub enum OutboxChannel {
        Email = "email",
        Sms = "sms",
    }
}

text_enum! {
    /// `outbox.status`
    pub enum OutboxStatus {
        Pending = "pending",
        Sent = "sent",
        Failed = "failed",
    }
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// [`OutboxChannel`]
    #[sea_orm(column_type = "Text")]
    pub channel: String,
    /// Not a foreign key.
    #[sea_orm(nullable)]
    pub tenant_id: Option<Uuid>,
    /// Email address or phone number.
    #[sea_orm(column_type = "Text")]
    pub recipient: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub subject: Option<String>,
    /// Encrypted plain-text body.
    #[sea_orm(column_type = "Blob")]
    pub body_text_enc: Vec<u8>,
    /// Encrypted HTML body (email only).
    #[sea_orm(column_type = "Blob", nullable)]
    pub body_html_enc: Option<Vec<u8>>,
    /// [`OutboxStatus`]
    #[sea_orm(column_type = "Text")]
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    #[sea_orm(column_type = "Text", nullable)]
    pub last_error: Option<String>,
    pub created_at: DateTimeUtc,
    #[sea_orm(nullable)]
    pub sent_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
