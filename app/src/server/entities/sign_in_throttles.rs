//! `sign_in_throttles`: atomic sign-in failure counters, keyed by identifier or device.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sign_in_throttles")]
pub struct Model {
    /// See `services::throttle::ThrottleKey`.
    #[sea_orm(primary_key, auto_increment = false, column_type = "Text")]
    pub key: String,
    /// Not a foreign key.
    pub tenant_id: Uuid,
    pub failures: i32,
    pub in_flight: i32,
    #[sea_orm(nullable)]
    pub in_flight_expires_at: Option<DateTimeUtc>,
    #[sea_orm(nullable)]
    pub locked_until: Option<DateTimeUtc>,
    pub lock_count: i32,
    #[sea_orm(nullable)]
    pub last_failure_at: Option<DateTimeUtc>,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
