//! `memberships`: user × tenant (or the operator org), with a role and a status.
//! Unique on (`user_id`, `tenant_id`).

use sea_orm::Condition;
use sea_orm::entity::prelude::*;

pub use crate::types::MembershipStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "memberships")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// The user's email, the users list's sort key: written with the membership, kept equal to
    /// `users.email` by a trigger (see the `membership_email` migration).
    #[sea_orm(column_type = "Text")]
    pub user_email: String,
    pub tenant_id: Uuid,
    pub role_id: Uuid,
    /// [`MembershipStatus`]
    #[sea_orm(column_type = "Text")]
    pub status: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub locked_reason: Option<String>,
    #[sea_orm(nullable)]
    pub locked_until: Option<DateTimeUtc>,
    #[sea_orm(nullable)]
    pub cooldown_until: Option<DateTimeUtc>,
    pub mfa_failed_attempts: i32,
    /// The next sign-in here sets up a second factor first, even where MFA is not enforced.
    pub mfa_enrollment_required: bool,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
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

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The status in effect at `now`: a cooldown or a lock whose end has passed reads as Active.
    /// [`effective_status_expr`] is the same rule in SQL, for filters and counts.
    pub fn status_at(&self, now: DateTimeUtc) -> MembershipStatus {
        let status = self.status.parse().unwrap_or(MembershipStatus::Disabled);
        match status {
            MembershipStatus::Cooldown if self.cooldown_until.is_none_or(|u| u <= now) => MembershipStatus::Active,
            MembershipStatus::Locked if self.locked_until.is_some_and(|u| u <= now) => MembershipStatus::Active,
            status => status,
        }
    }
}

/// [`Model::status_at`] as an SQL expression.
pub fn effective_status_expr(now: DateTimeUtc) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{CaseStatement, Expr};
    CaseStatement::new()
        .case(ended_hold(now), Expr::val(MembershipStatus::Active.as_str()))
        .finally(Expr::col((Entity, Column::Status)))
        .into()
}

/// Lockouts and cooldowns whose end has passed at `now`: stored as Locked or Cooldown, in
/// effect Active.
pub fn ended_hold(now: DateTimeUtc) -> Condition {
    Condition::any()
        .add(
            Condition::all()
                .add(Column::Status.eq(MembershipStatus::Cooldown.as_str()))
                .add(
                    Condition::any()
                        .add(Column::CooldownUntil.is_null())
                        .add(Column::CooldownUntil.lte(now)),
                ),
        )
        .add(
            Condition::all()
                .add(Column::Status.eq(MembershipStatus::Locked.as_str()))
                .add(Column::LockedUntil.is_not_null())
                .add(Column::LockedUntil.lte(now)),
        )
}

/// "The status in effect at `now` is `status`" on the stored columns, so that an index on the
/// status can serve it (a comparison with [`effective_status_expr`] cannot use one).
pub fn effective_status_is(status: MembershipStatus, now: DateTimeUtc) -> Condition {
    status_held(Column::Status.eq(status.as_str()), status, now)
}

/// [`effective_status_is`] in a form no index on the status serves (a unary `+` on the
/// column), for a planner that would otherwise read every row of a common status and sort them.
pub fn effective_status_is_unindexed(status: MembershipStatus, now: DateTimeUtc) -> Condition {
    let stored = Expr::cust_with_values(r#"+"memberships"."status" = ?"#, [status.as_str()]);
    status_held(stored, status, now)
}

fn status_held(stored: sea_orm::sea_query::SimpleExpr, status: MembershipStatus, now: DateTimeUtc) -> Condition {
    match status {
        MembershipStatus::Active => Condition::any().add(stored).add(ended_hold(now)),
        MembershipStatus::Locked => Condition::all().add(stored).add(
            Condition::any()
                .add(Column::LockedUntil.is_null())
                .add(Column::LockedUntil.gt(now)),
        ),
        MembershipStatus::Cooldown => Condition::all().add(stored).add(Column::CooldownUntil.gt(now)),
        _ => Condition::all().add(stored),
    }
}
