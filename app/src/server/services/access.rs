//! Who may do what where: an operator admin acts on any tenant, a tenant admin only on their own.

use super::roles::grants;
use super::users::Target;
use crate::AppError;
use crate::server::Actor;
use crate::server::entities::memberships;
use crate::types::{MembershipStatus, PersonReach, TenantKind};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

pub fn require(actor: &Actor, permission: &str, tenant_id: Uuid) -> Result<(), AppError> {
    let in_scope = actor.tenant.kind == TenantKind::Operator.as_str() || actor.tenant.id == tenant_id;
    if !in_scope {
        return Err(AppError::not_found("No such user in this workspace."));
    }
    if !grants(&actor.role.permissions, permission) {
        return Err(AppError::forbidden(format!(
            "Your role ({}) does not allow this.",
            actor.role.name
        )));
    }
    Ok(())
}

/// For settings of the whole deployment: only the operator's own admins, with `permission`.
pub fn require_operator(actor: &Actor, permission: &str) -> Result<(), AppError> {
    if actor.tenant.kind != TenantKind::Operator.as_str() {
        return Err(AppError::forbidden(
            "Only the operator's admins can do this, in the admin console.",
        ));
    }
    require(actor, permission, actor.tenant.id)
}

/// How far the actor's authority reaches over a person whose membership of the actor's
/// workspace is in `status` and who belongs to `workspaces` workspaces in all. The operator's
/// admins act on every workspace; a tenant admin reaches the whole person only when the person
/// belongs to their workspace alone and has accepted its invite (so a pending invite reads the
/// same whether or not the address already had an account).
pub fn person_reach(actor: &Actor, status: MembershipStatus, workspaces: u64) -> PersonReach {
    reach_of(actor.tenant.kind == TenantKind::Operator.as_str(), status, workspaces)
}

fn reach_of(operator: bool, status: MembershipStatus, workspaces: u64) -> PersonReach {
    match (operator, workspaces > 1) {
        (true, false) => PersonReach::Whole,
        (true, true) => PersonReach::WholeShared,
        (false, _) if status == MembershipStatus::Pending => PersonReach::Invited,
        (false, true) => PersonReach::Beyond,
        (false, false) => PersonReach::Whole,
    }
}

/// How far the actor reaches over the person behind `target` (see [`person_reach`]).
pub async fn reach_over(db: &impl ConnectionTrait, actor: &Actor, target: &Target) -> Result<PersonReach, AppError> {
    let workspaces = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(target.user.id))
        .count(db)
        .await
        .map_err(super::db_error)?;
    Ok(person_reach(actor, target.status(), workspaces))
}

/// For an action on the whole person (docs/design.md, "One person, many workspaces"): the
/// actor must hold `permission` on the target's workspace and reach every other workspace of
/// the person. Returns the reach, which tells whether the person has several workspaces.
pub async fn require_whole_person(
    db: &impl ConnectionTrait,
    actor: &Actor,
    permission: &str,
    target: &Target,
) -> Result<PersonReach, AppError> {
    require(actor, permission, target.tenant.id)?;
    let reach = reach_over(db, actor, target).await?;
    match reach.refusal() {
        Some(reason) => Err(AppError::forbidden(format!("{reason}."))),
        None => Ok(reach),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MembershipStatus::*;

    #[test]
    fn a_tenant_admin_reaches_the_whole_person_only_when_the_workspace_is_their_only_one() {
        let cases = [
            // (operator, status, workspaces, reach)
            (true, Active, 1, PersonReach::Whole),
            (true, Pending, 1, PersonReach::Whole),
            (true, Active, 3, PersonReach::WholeShared),
            (true, Pending, 2, PersonReach::WholeShared),
            (false, Active, 1, PersonReach::Whole),
            (false, Locked, 1, PersonReach::Whole),
            (false, Active, 2, PersonReach::Beyond),
            (false, Cooldown, 2, PersonReach::Beyond),
            // A pending invite reads the same with or without an account elsewhere.
            (false, Pending, 1, PersonReach::Invited),
            (false, Pending, 2, PersonReach::Invited),
        ];
        for (operator, status, workspaces, reach) in cases {
            assert_eq!(
                reach_of(operator, status, workspaces),
                reach,
                "{operator} {status} {workspaces}"
            );
        }
        assert!(PersonReach::Beyond.refusal().is_some() && PersonReach::Invited.refusal().is_some());
        assert!(PersonReach::Whole.refusal().is_none() && PersonReach::WholeShared.refusal().is_none());
    }
}
