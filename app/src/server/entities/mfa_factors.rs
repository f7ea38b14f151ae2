//! `mfa_factors`: a user's TOTP and SMS factors.

use sea_orm::entity::prelude::*;

text_enum! {
    /// `mfa_factors.kind`
    pub enum FactorKind {
        Totp = "totp",
        Sms = "sms",
    }
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mfa_factors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// [`FactorKind`]
    #[sea_orm(column_type = "Text")]
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub label: String,
    /// Encrypted TOTP secret (`None` for SMS).
    #[sea_orm(column_type = "Blob", nullable)]
    pub secret_enc: Option<Vec<u8>>,
    /// SMS number (`None` for TOTP).
    #[sea_orm(column_type = "Text", nullable)]
    pub phone: Option<String>,
    /// Last accepted TOTP time step (replay protection).
    #[sea_orm(nullable)]
    pub last_used_step: Option<i64>,
    /// `None` while enrollment is unfinished.
    #[sea_orm(nullable)]
    pub confirmed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    /// The workspace it was set up on (an org-level MFA reset removes these). Not a foreign key.
    #[sea_orm(nullable)]
    pub enrolled_tenant_id: Option<Uuid>,
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
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
