//! `users`: one identity per (normalised, lower-case) email.

use sea_orm::entity::prelude::*;

#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Main email, stored normalised (lower case).
    #[sea_orm(column_type = "Text", unique)]
    pub email: String,
    #[sea_orm(column_type = "Text", nullable, unique)]
    pub username: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub display_name: String,
    /// Contact-only address; never used to sign in.
    #[sea_orm(column_type = "Text", nullable)]
    pub secondary_email: Option<String>,
    /// Phone number for SMS.
    #[sea_orm(column_type = "Text", nullable)]
    pub phone: Option<String>,
    /// Argon2id PHC string; `None` until a password is set (invited or SSO users).
    #[sea_orm(column_type = "Text", nullable)]
    pub password_hash: Option<String>,
    #[sea_orm(nullable)]
    pub password_changed_at: Option<DateTimeUtc>,
    pub must_change_password: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

/// Hand-written so that the password hash never reaches a log line.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("username", &self.username)
            .field("display_name", &self.display_name)
            .field("secondary_email", &self.secondary_email)
            .field("phone", &self.phone)
            .field("password_hash", &self.password_hash.as_ref().map(|_| "<redacted>"))
            .field("password_changed_at", &self.password_changed_at)
            .field("must_change_password", &self.must_change_password)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::memberships::Entity")]
    Memberships,
    #[sea_orm(has_many = "super::mfa_factors::Entity")]
    MfaFactors,
    #[sea_orm(has_many = "super::recovery_codes::Entity")]
    RecoveryCodes,
    /// Secrets issued to the user (`one_time_secrets.user_id`).
    #[sea_orm(has_many = "super::one_time_secrets::Entity")]
    OneTimeSecrets,
    /// The user's own sessions (`sessions.user_id`).
    #[sea_orm(has_many = "super::sessions::Entity")]
    Sessions,
    #[sea_orm(has_many = "super::api_tokens::Entity")]
    ApiTokens,
    #[sea_orm(has_many = "super::security_events::Entity")]
    SecurityEvents,
    /// Audit records where the user is the actor (`audit_log.actor_user_id`).
    #[sea_orm(has_many = "super::audit_log::Entity")]
    AuditLog,
}

impl Related<super::memberships::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Memberships.def()
    }
}

impl Related<super::mfa_factors::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::MfaFactors.def()
    }
}

impl Related<super::recovery_codes::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::RecoveryCodes.def()
    }
}

impl Related<super::one_time_secrets::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::OneTimeSecrets.def()
    }
}

impl Related<super::sessions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Sessions.def()
    }
}

impl Related<super::api_tokens::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ApiTokens.def()
    }
}

impl Related<super::security_events::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::SecurityEvents.def()
    }
}

impl Related<super::audit_log::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AuditLog.def()
    }
}

/// The user's tenants, through `memberships`.
impl Related<super::tenants::Entity> for Entity {
    fn to() -> RelationDef {
        super::memberships::Relation::Tenant.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::memberships::Relation::User.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
