//! `security_events`: the "MFA error log" and other security events, each with the support
//! reference shown to the user (e.g. `7F3K-Q2M9`).

use sea_orm::entity::prelude::*;

pub use crate::types::SecurityEventType;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "security_events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Support reference, e.g. `7F3K-Q2M9`.
    #[sea_orm(column_type = "Text", unique)]
    pub reference: String,
    /// [`SecurityEventType`]
    #[sea_orm(column_type = "Text")]
    pub event_type: String,
    /// Set to NULL if the user is deleted.
    #[sea_orm(nullable)]
    pub user_id: Option<Uuid>,
    /// Not a foreign key: events outlive tenants.
    #[sea_orm(nullable)]
    pub tenant_id: Option<Uuid>,
    /// Sign-in identifier as typed (normalised), for events without a known user.
    #[sea_orm(column_type = "Text", nullable)]
    pub identifier: Option<String>,
    pub occurred_at: DateTimeUtc,
    #[sea_orm(column_type = "Text", nullable)]
    pub ip: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub user_agent: Option<String>,
    /// E.g. the SMS provider's status code and message.
    #[sea_orm(nullable)]
    pub detail: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::Id",
        on_update = "NoAction",
        on_delete = "SetNull"
    )]
    User,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
