//! `tenants`: customer tenants and the operator organisation itself (slug `admin`).

use sea_orm::entity::prelude::*;

pub use crate::types::{SignInMode, TenantKind, TenantStatus};

/// Slug of the operator organisation's own tenant row (`kind = 'operator'`).
pub const OPERATOR_SLUG: &str = "admin";

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tenants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "Text", unique)]
    pub slug: String,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    /// [`TenantKind`]
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    /// [`SignInMode`]
    #[sea_orm(column_type = "Text")]
    pub sign_in_mode: String,
    pub is_mfa_enforced: bool,
    /// JSON object; `{}` when nothing is overridden.
    pub policy_overrides: Json,
    /// [`TenantStatus`]
    #[sea_orm(column_type = "Text")]
    pub status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub sso_issuer: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub sso_client_id: Option<String>,
    /// Encrypted client secret.
    #[sea_orm(column_type = "Blob", nullable)]
    pub sso_client_secret_enc: Option<Vec<u8>>,
    /// JSON array of email domains.
    #[sea_orm(nullable)]
    pub sso_allowed_domains: Option<Json>,
    /// An allowed email with no account here is given a Member account at its first SSO sign-in.
    pub sso_jit_provisioning: bool,
    /// Latchkey's own MFA still applies after the identity provider signed the user in.
    pub sso_requires_mfa: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::roles::Entity")]
    Roles,
    #[sea_orm(has_many = "super::memberships::Entity")]
    Memberships,
    #[sea_orm(has_many = "super::one_time_secrets::Entity")]
    OneTimeSecrets,
    #[sea_orm(has_many = "super::sessions::Entity")]
    Sessions,
    #[sea_orm(has_many = "super::api_tokens::Entity")]
    ApiTokens,
}

impl Related<super::roles::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Roles.def()
    }
}

impl Related<super::memberships::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Memberships.def()
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

/// Tenant members, through `memberships`.
impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        super::memberships::Relation::User.def()
    }

    fn via() -> Option<RelationDef> {
        Some(super::memberships::Relation::Tenant.def().rev())
    }
}

impl ActiveModelBehavior for ActiveModel {}
