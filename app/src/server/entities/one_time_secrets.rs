//! `one_time_secrets`: invite links, access links, emailed codes, reset links, temporary
//! passwords and email-change confirmations, stored only as hashes.

use sea_orm::entity::prelude::*;

text_enum! {
    /// `one_time_secrets.purpose`
    pub enum SecretPurpose {
        Invite = "invite",
        AccessLink = "access_link",
        PasswordResetCode = "password_reset_code",
        ResetLink = "reset_link",
        TemporaryPassword = "temporary_password",
        EmailChange = "email_change",
        /// A code sent by text message, for MFA.
        SmsCode = "sms_code",
        /// The hand-over from the admin console to a tenant host when an admin impersonates.
        Impersonation = "impersonation",
    }
}

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "one_time_secrets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// [`SecretPurpose`]
    #[sea_orm(column_type = "Text")]
    pub purpose: String,
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    #[sea_orm(column_type = "Text", unique)]
    pub secret_hash: String,
    pub expires_at: DateTimeUtc,
    pub max_uses: i32,
    pub use_count: i32,
    pub failed_attempts: i32,
    /// Set when a newer secret of the same purpose voided this one.
    #[sea_orm(nullable)]
    pub superseded_at: Option<DateTimeUtc>,
    #[sea_orm(nullable)]
    pub consumed_at: Option<DateTimeUtc>,
    #[sea_orm(nullable)]
    pub created_by_user_id: Option<Uuid>,
    /// Purpose-specific data, e.g. the new address of an email change.
    #[sea_orm(nullable)]
    pub data: Option<Json>,
    pub created_at: DateTimeUtc,
}

/// Hand-written so that the secret's hash never reaches a log line (short codes are guessable
/// from their hash).
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .field("user_id", &self.user_id)
            .field("tenant_id", &self.tenant_id)
            .field("secret_hash", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .field("max_uses", &self.max_uses)
            .field("use_count", &self.use_count)
            .field("failed_attempts", &self.failed_attempts)
            .field("superseded_at", &self.superseded_at)
            .field("consumed_at", &self.consumed_at)
            .field("created_by_user_id", &self.created_by_user_id)
            .field("data", &self.data)
            .field("created_at", &self.created_at)
            .finish()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    User,
    #[sea_orm(
        belongs_to = "super::tenants::Entity",
        from = "Column::TenantId",
        to = "super::tenants::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Tenant,
    /// The admin who issued it.
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::CreatedByUserId",
        to = "super::users::Column::Id",
        on_update = "NoAction",
        on_delete = "SetNull"
    )]
    CreatedBy,
}

/// The user the secret was issued to (not [`Relation::CreatedBy`]).
impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl Related<super::tenants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
