//! What support does to an account's access (DESIGN.md, the menu table; seeds 001, 004):
//! Reset Cooldown, Lock Account, Unlock Account and Reset MFA. Each checks the permission,
//! writes its audit row in the transaction of the change, and ends sessions where DESIGN.md
//! says so (lock and MFA reset).

use super::access::{require, require_whole_person};
use super::events::{self, NewEvent};
use super::roles::may_hold;
use super::roles::permission::{USERS_MANAGE, USERS_SUPPORT};
use super::throttle::{self, ThrottleKey};
use super::users::{Target, target};
use super::{audit, db_error, outbox, sessions};
use crate::AppError;
use crate::server::entities::{memberships, mfa_factors, recovery_codes, roles};
use crate::server::mail::{Block, compose};
use crate::server::{Actor, AppState, RequestMeta};
pub use crate::types::MfaResetLevel;
use crate::types::{MembershipStatus, SecurityEventType};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, DatabaseTransaction, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

/// The membership's status, with an ended cooldown or lock read as over.
fn status_now(target: &Target, now: DateTime<Utc>) -> MembershipStatus {
    target.membership.status_at(now)
}

fn before(target: &Target) -> serde_json::Value {
    json!({
        "status": target.membership.status,
        "locked_reason": target.membership.locked_reason,
        "cooldown_until": target.membership.cooldown_until,
        "mfa_failed_attempts": target.membership.mfa_failed_attempts,
    })
}

/// Saves the membership's new status; any lock, cooldown and wrong-code count end with it.
pub(super) async fn save_status(
    txn: &DatabaseTransaction,
    target: &Target,
    status: MembershipStatus,
    locked_reason: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let mut membership: memberships::ActiveModel = target.membership.clone().into();
    membership.status = Set(status.into());
    membership.locked_reason = Set(locked_reason);
    membership.locked_until = Set(None);
    membership.cooldown_until = Set(None);
    membership.mfa_failed_attempts = Set(0);
    membership.updated_at = Set(now);
    membership.update(txn).await.map_err(db_error)?;
    Ok(())
}

async fn record(
    txn: &DatabaseTransaction,
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    (action, target): (&str, &Target),
    after: serde_json::Value,
) -> Result<(), AppError> {
    let change = audit::Change {
        action,
        target_type: "user",
        target_id: Some(target.user.id.to_string()),
        tenant_id: Some(target.tenant.id),
        before: Some(before(target)),
        after: Some(after),
    };
    audit::record(txn, state.clock.as_ref(), actor, meta, change).await
}

/// Whether the actor is an admin of every workspace of the target's person.
async fn whole_person(state: &AppState, actor: &Actor, target: &Target) -> Result<bool, AppError> {
    Ok(super::access::reach_over(&state.db, actor, target)
        .await?
        .refusal()
        .is_none())
}

/// "Reset Cooldown": MFA verification may be tried again at once.
pub async fn reset_cooldown(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    user_id: Uuid,
    tenant_id: Uuid,
) -> Result<(), AppError> {
    require(actor, USERS_SUPPORT, tenant_id)?;
    let target = target(&state.db, user_id, tenant_id).await?;
    let now = state.clock.now();
    // The codes' budgets are the person's, on every workspace: forgotten by an admin of every
    // workspace of the person only; otherwise a paused factor waits out its hour.
    let whole = whole_person(state, actor, &target).await?;
    let paused = whole
        && throttle::locked_until(&state.db, &throttle::factor_keys(user_id), now)
            .await?
            .is_some();
    if status_now(&target, now) != MembershipStatus::Cooldown && !paused {
        return Err(AppError::conflict("There is no cooldown running for this user."));
    }
    let txn = super::begin(&state.db).await?;
    if whole {
        throttle::clear_factors(&txn, user_id, now).await?;
    }
    save_status(&txn, &target, MembershipStatus::Active, None, now).await?;
    record(
        &txn,
        state,
        actor,
        meta,
        ("user.cooldown_reset", &target),
        json!({ "status": "active", "factor_budgets_cleared": whole }),
    )
    .await?;
    txn.commit().await.map_err(db_error)?;
    Ok(())
}

/// "Lock Account": no sign-in here until an admin unlocks it; the sessions on this host end.
pub async fn lock(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    user_id: Uuid,
    tenant_id: Uuid,
    reason: &str,
) -> Result<(), AppError> {
    require(actor, USERS_SUPPORT, tenant_id)?;
    if user_id == actor.user.id {
        return Err(AppError::conflict(
            "You cannot lock your own account. Ask another administrator.",
        ));
    }
    let reason = reason.trim();
    if reason.chars().count() > 200 || reason.chars().any(crate::domain::is_forbidden_char) {
        return Err(AppError::invalid(
            "reason",
            "Give a reason of at most 200 characters, without control characters.",
        ));
    }
    let target = target(&state.db, user_id, tenant_id).await?;
    let now = state.clock.now();
    match status_now(&target, now) {
        MembershipStatus::Active | MembershipStatus::Cooldown => {}
        status => {
            return Err(AppError::conflict(format!(
                "Lock Account is not available: the account is {}.",
                status.label()
            )));
        }
    }
    let reason = if reason.is_empty() {
        "Locked by an administrator".to_owned()
    } else {
        reason.to_owned()
    };
    let txn = super::begin(&state.db).await?;
    save_status(&txn, &target, MembershipStatus::Locked, Some(reason.clone()), now).await?;
    // The lock is this membership's: the person's sessions on other hosts are not this
    // workspace's to end.
    let ended = sessions::revoke_for_user_in_tenant(&txn, user_id, tenant_id).await?;
    let event = NewEvent {
        event_type: SecurityEventType::AccountLock,
        user_id: Some(user_id),
        tenant_id: Some(tenant_id),
        identifier: None,
        detail: json!({ "reason": "admin", "by": actor.user.id, "sessions_ended": ended }),
    };
    events::record(&txn, state.clock.as_ref(), meta, event).await?;
    let after = json!({ "status": "locked", "locked_reason": reason, "sessions_ended": ended });
    record(&txn, state, actor, meta, ("user.locked", &target), after).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(())
}

/// "Unlock Account": the membership is active again, and the account's sign-in failure lock is
/// lifted too where the admin reaches the whole person.
pub async fn unlock(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    user_id: Uuid,
    tenant_id: Uuid,
) -> Result<(), AppError> {
    require(actor, USERS_SUPPORT, tenant_id)?;
    let target = target(&state.db, user_id, tenant_id).await?;
    let now = state.clock.now();
    // The sign-in failure lock is the account's, on every host: lifted by an admin of every
    // workspace of the person only (a lock is what holds off guesses at a shared password).
    let whole = whole_person(state, actor, &target).await?;
    let txn = super::begin(&state.db).await?;
    if whole {
        throttle::clear(&txn, &ThrottleKey::account(user_id), now).await?;
        throttle::clear_factors(&txn, user_id, now).await?;
    }
    match status_now(&target, now) {
        MembershipStatus::Locked | MembershipStatus::Active | MembershipStatus::Cooldown => {}
        status => {
            return Err(AppError::conflict(format!(
                "Unlock Account is not available: the account is {}.",
                status.label()
            )));
        }
    }
    save_status(&txn, &target, MembershipStatus::Active, None, now).await?;
    record(
        &txn,
        state,
        actor,
        meta,
        ("user.unlocked", &target),
        json!({ "status": "active" }),
    )
    .await?;
    txn.commit().await.map_err(db_error)?;
    Ok(())
}

/// "Reset MFA": factors removed at the chosen level, any cooldown cleared, sessions end, the
/// user is told; the next sign-in sets MFA up again where it is enforced. The user level takes
/// every factor of the person, so it needs authority over all their workspaces and ends their
/// sessions everywhere; the org level takes the factors set up on this workspace and ends the
/// sessions on its host. With nothing to reset nothing happens: 409, no session ends, no email.
pub async fn reset_mfa(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    (user_id, tenant_id): (Uuid, Uuid),
    level: MfaResetLevel,
) -> Result<(), AppError> {
    require(actor, USERS_SUPPORT, tenant_id)?;
    let target = target(&state.db, user_id, tenant_id).await?;
    if level == MfaResetLevel::User {
        require_whole_person(&state.db, actor, USERS_SUPPORT, &target).await?;
    }
    let now = state.clock.now();
    let txn = super::begin(&state.db).await?;
    let factors_of_level = || {
        let mut factors = mfa_factors::Entity::find().filter(mfa_factors::Column::UserId.eq(user_id));
        if level == MfaResetLevel::Org {
            factors = factors.filter(mfa_factors::Column::EnrolledTenantId.eq(tenant_id));
        }
        factors
    };
    let confirmed = factors_of_level()
        .filter(mfa_factors::Column::ConfirmedAt.is_not_null())
        .count(&txn)
        .await
        .map_err(db_error)?;
    let codes = match level {
        MfaResetLevel::User => recovery_codes::Entity::find()
            .filter(recovery_codes::Column::UserId.eq(user_id))
            .count(&txn)
            .await
            .map_err(db_error)?,
        MfaResetLevel::Org => 0,
    };
    if confirmed == 0 && codes == 0 {
        return Err(AppError::conflict(match level {
            MfaResetLevel::User => "There is nothing to reset: MFA is not set up for this user.",
            MfaResetLevel::Org => "There is nothing to reset: no sign-in method was set up for this workspace.",
        }));
    }
    let doomed: Vec<Uuid> = factors_of_level()
        .all(&txn)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|f| f.id)
        .collect();
    mfa_factors::Entity::delete_many()
        .filter(mfa_factors::Column::Id.is_in(doomed))
        .exec(&txn)
        .await
        .map_err(db_error)?;
    let factors = confirmed;
    let left = mfa_factors::Entity::find()
        .filter(mfa_factors::Column::UserId.eq(user_id))
        .filter(mfa_factors::Column::ConfirmedAt.is_not_null())
        .count(&txn)
        .await
        .map_err(db_error)?;
    if left == 0 {
        recovery_codes::Entity::delete_many()
            .filter(recovery_codes::Column::UserId.eq(user_id))
            .exec(&txn)
            .await
            .map_err(db_error)?;
    }
    if status_now(&target, now) == MembershipStatus::Cooldown || target.membership.mfa_failed_attempts > 0 {
        save_status(&txn, &target, MembershipStatus::Active, None, now).await?;
    }
    if left == 0 {
        super::mfa::require_enrollment(&txn, target.membership.id).await?;
    }
    if level == MfaResetLevel::User {
        throttle::clear_factors(&txn, user_id, now).await?;
    }
    let ended = match level {
        MfaResetLevel::User => sessions::revoke_all_for_user(&txn, user_id).await?,
        MfaResetLevel::Org => sessions::revoke_for_user_in_tenant(&txn, user_id, tenant_id).await?,
    };
    let event = NewEvent {
        event_type: SecurityEventType::MfaReset,
        user_id: Some(user_id),
        tenant_id: Some(tenant_id),
        identifier: None,
        detail: json!({ "by": actor.user.id, "level": level, "factors_removed": factors, "factors_left": left, "sessions_ended": ended }),
    };
    events::record(&txn, state.clock.as_ref(), meta, event).await?;
    let url = state.config.workspace_url(&target.tenant.slug);
    let what = match level {
        MfaResetLevel::User => "Your authenticator entries and recovery codes no longer work.",
        MfaResetLevel::Org => "The sign-in methods you set up for this workspace no longer work.",
    };
    let email = compose(
        &target.user.email,
        format!("Your multi-factor authentication was reset ({})", target.tenant.name),
        &[
            Block::Text(format!(
                "An administrator reset multi-factor authentication for {} on {} ({url}). {what}",
                target.user.email, target.tenant.name
            )),
            Block::Text("Sign in to set it up again. If you did not ask for this, contact your administrator.".into()),
        ],
    );
    outbox::enqueue_email(&txn, &state.cipher, Some(tenant_id), &email, now).await?;
    let action = match level {
        MfaResetLevel::User => "user.mfa_reset",
        MfaResetLevel::Org => "user.org_mfa_reset",
    };
    let after = json!({ "factors_removed": factors, "factors_left": left, "sessions_ended": ended });
    record(&txn, state, actor, meta, (action, &target), after).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(())
}

/// "Change Role": the membership gets another role that may be held in its workspace. Needs
/// users.manage (Support cannot); nobody changes their own role.
pub async fn change_role(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    (user_id, tenant_id): (Uuid, Uuid),
    role_id: Uuid,
) -> Result<(), AppError> {
    require(actor, USERS_MANAGE, tenant_id)?;
    let target = target(&state.db, user_id, tenant_id).await?;
    if user_id == actor.user.id {
        return Err(AppError::conflict(
            "You cannot change your own role. Ask another administrator.",
        ));
    }
    let role = roles::Entity::find_by_id(role_id)
        .one(&state.db)
        .await
        .map_err(db_error)?
        .filter(|role| may_hold(role, &target.tenant))
        .ok_or_else(|| {
            AppError::invalid(
                "roleId",
                format!("That role cannot be given in {}.", target.tenant.name),
            )
        })?;
    if role.id == target.membership.role_id {
        return Ok(());
    }
    let old_role = roles::Entity::find_by_id(target.membership.role_id)
        .one(&state.db)
        .await
        .map_err(db_error)?
        .map(|r| r.name)
        .unwrap_or_default();
    let txn = super::begin(&state.db).await?;
    let mut membership: memberships::ActiveModel = target.membership.clone().into();
    membership.role_id = Set(role.id);
    membership.updated_at = Set(state.clock.now());
    membership.update(&txn).await.map_err(db_error)?;
    // Privileges changed: the user's sessions there end, and the next sign-in gets a new
    // token with the new role.
    let sessions_ended = super::sessions::revoke_for_user_in_tenant(&txn, user_id, tenant_id).await?;
    let change = audit::Change {
        action: "user.role_changed",
        target_type: "user",
        target_id: Some(user_id.to_string()),
        tenant_id: Some(tenant_id),
        before: Some(json!({ "role": old_role })),
        after: Some(json!({ "role": role.name, "sessions_ended": sessions_ended })),
    };
    audit::record(&txn, state.clock.as_ref(), actor, meta, change).await?;
    txn.commit().await.map_err(db_error)
}

/// "Disable Access" (seed 004's Enable User Access, turned off; seed 003's "Account disabled"):
/// the membership may not sign in here until access is enabled again, and its sessions on this
/// host end. A correct password then answers "This account is disabled". Nobody disables their
/// own access, nor the operator's last Administrator.
pub async fn disable_access(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    user_id: Uuid,
    tenant_id: Uuid,
) -> Result<(), AppError> {
    require(actor, USERS_MANAGE, tenant_id)?;
    if user_id == actor.user.id {
        return Err(AppError::conflict(
            "You cannot disable your own access. Ask another administrator.",
        ));
    }
    let target = target(&state.db, user_id, tenant_id).await?;
    let now = state.clock.now();
    match status_now(&target, now) {
        MembershipStatus::Active | MembershipStatus::Locked | MembershipStatus::Cooldown => {}
        MembershipStatus::Pending => {
            return Err(AppError::conflict(
                "Disable Access is not available: the invite is still pending (revoke it instead).",
            ));
        }
        MembershipStatus::Disabled => {
            return Err(AppError::conflict("Access is already disabled."));
        }
    }
    let txn = super::begin(&state.db).await?;
    if is_last_operator_administrator(&txn, &target).await? {
        return Err(AppError::conflict(
            "This is the operator's last active Administrator: make another one first.",
        ));
    }
    save_status(&txn, &target, MembershipStatus::Disabled, None, now).await?;
    let ended = sessions::revoke_for_user_in_tenant(&txn, user_id, tenant_id).await?;
    let after = json!({ "status": MembershipStatus::Disabled, "sessions_ended": ended });
    record(&txn, state, actor, meta, ("user.access_disabled", &target), after).await?;
    txn.commit().await.map_err(db_error)
}

/// Whether the target is the only active Administrator of the operator (who else would let
/// anyone into the console?).
async fn is_last_operator_administrator(txn: &DatabaseTransaction, target: &Target) -> Result<bool, AppError> {
    if target.tenant.kind != crate::types::TenantKind::Operator.as_str() {
        return Ok(false);
    }
    let administrator = super::setup::builtin_role(txn, "administrator").await?;
    if target.membership.role_id != administrator.id {
        return Ok(false);
    }
    let others = memberships::Entity::find()
        .filter(memberships::Column::TenantId.eq(target.tenant.id))
        .filter(memberships::Column::RoleId.eq(administrator.id))
        .filter(memberships::Column::Status.eq(MembershipStatus::Active.as_str()))
        .filter(memberships::Column::Id.ne(target.membership.id))
        .count(txn)
        .await
        .map_err(db_error)?;
    Ok(others == 0)
}

/// "Enable Access": a disabled membership becomes active again.
pub async fn enable_access(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    user_id: Uuid,
    tenant_id: Uuid,
) -> Result<(), AppError> {
    require(actor, USERS_SUPPORT, tenant_id)?;
    let target = target(&state.db, user_id, tenant_id).await?;
    if target.status() != MembershipStatus::Disabled {
        return Err(AppError::conflict(format!(
            "Enable Access is not available: the account is {}.",
            target.status().label()
        )));
    }
    let now = state.clock.now();
    let txn = super::begin(&state.db).await?;
    save_status(&txn, &target, MembershipStatus::Active, None, now).await?;
    record(
        &txn,
        state,
        actor,
        meta,
        ("user.access_enabled", &target),
        json!({ "status": "active" }),
    )
    .await?;
    txn.commit().await.map_err(db_error)
}
