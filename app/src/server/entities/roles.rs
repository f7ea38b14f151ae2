//! `roles`: built-in (global, `tenant_id` NULL) and custom roles.

use sea_orm::entity::prelude::*;

text_enum! {
    /// `roles.scope`: where the role may be granted.
    pub enum RoleScope {
        Operator = "operator",
        Tenant = "tenant",
        Any = "any",
    }
}

text_enum! {
    /// `roles.key` of the built-in roles (custom roles have no key).
    pub enum BuiltinRole {
        Administrator = "administrator",
        Support = "support",
        ReadOnly = "read_only",
        Member = "member",
    }
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "roles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `None` for built-in / global roles.
    #[sea_orm(nullable)]
    pub tenant_id: Option<Uuid>,
    /// [`BuiltinRole`] for built-ins, `None` for custom roles.
    #[sea_orm(column_type = "Text", nullable, unique)]
    pub key: Option<String>,
    #[sea_orm(column_type = "Text")]
    pub name: String,
    /// [`RoleScope`]
    #[sea_orm(column_type = "Text")]
    pub scope: String,
    /// JSON array of permission strings.
    pub permissions: Json,
    pub is_builtin: bool,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::tenants::Entity",
        from = "Column::TenantId",
        to = "super::tenants::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Tenant,
    #[sea_orm(has_many = "super::memberships::Entity")]
    Memberships,
    #[sea_orm(has_many = "super::api_tokens::Entity")]
    ApiTokens,
}

impl Related<super::tenants::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Tenant.def()
    }
}

impl Related<super::memberships::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Memberships.def()
    }
}

impl Related<super::api_tokens::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ApiTokens.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
