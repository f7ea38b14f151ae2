//! `api_tokens`: bearer tokens for the REST API, scoped to one tenant and one role.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "Text", unique)]
    pub token_hash: String,
    /// Non-secret start of the token, shown in lists to recognise it.
    #[sea_orm(column_type = "Text")]
    pub prefix: String,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    /// Owner; the token is deleted with the user.
    pub user_id: Uuid,
    /// Scope.
    pub tenant_id: Uuid,
    pub role_id: Uuid,
    #[sea_orm(nullable)]
    pub expires_at: Option<DateTimeUtc>,
    #[sea_orm(nullable)]
    pub last_used_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    #[sea_orm(nullable)]
    pub revoked_at: Option<DateTimeUtc>,
    /// Start of the current rate-limit window.
    #[sea_orm(nullable)]
    pub window_started_at: Option<DateTimeUtc>,
    /// Requests in the current window.
    pub window_count: i32,
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
    #[sea_orm(
        belongs_to = "super::roles::Entity",
        from = "Column::RoleId",
        to = "super::roles::Column::Id",
        on_update = "NoAction",
        on_delete = "NoAction"
    )]
    Role,
    #[sea_orm(has_many = "super::audit_log::Entity")]
    AuditLog,
}

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

impl Related<super::roles::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Role.def()
    }
}

impl Related<super::audit_log::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::AuditLog.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
