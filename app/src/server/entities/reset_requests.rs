//! `reset_requests`: forgot-password requests the delivery worker turns into a code and its
//! email, or into nothing for an identifier with no account here. Deleted once handled.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "reset_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Not a foreign key.
    pub tenant_id: Uuid,
    /// The identifier as typed, sealed: people type passwords into the wrong field.
    #[sea_orm(column_type = "Blob")]
    pub identifier_enc: Vec<u8>,
    pub created_at: DateTimeUtc,
    /// Due when in the past; a worker that takes the row moves it ahead by the outbox lease.
    pub claimed_until: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
