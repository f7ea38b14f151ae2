//! `audit_log`: every change an admin or the API makes, written in the same transaction.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "audit_log")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Set to NULL if the user is deleted.
    #[sea_orm(nullable)]
    pub actor_user_id: Option<Uuid>,
    /// API token used, if the change came through the REST API.
    #[sea_orm(nullable)]
    pub actor_token_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub action: String,
    #[sea_orm(column_type = "Text")]
    pub target_type: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub target_id: Option<String>,
    /// Not a foreign key: the trail outlives tenants.
    #[sea_orm(nullable)]
    pub tenant_id: Option<Uuid>,
    pub occurred_at: DateTimeUtc,
    #[sea_orm(column_type = "Text", nullable)]
    pub ip: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub request_id: Option<String>,
    #[sea_orm(nullable)]
    pub before: Option<Json>,
    #[sea_orm(nullable)]
    pub after: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::ActorUserId",
        to = "super::users::Column::Id",
        on_update = "NoAction",
        on_delete = "SetNull"
    )]
    ActorUser,
    #[sea_orm(
        belongs_to = "super::api_tokens::Entity",
        from = "Column::ActorTokenId",
        to = "super::api_tokens::Column::Id",
        on_update = "NoAction",
        on_delete = "SetNull"
    )]
    ActorToken,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ActorUser.def()
    }
}

impl Related<super::api_tokens::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::ActorToken.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
