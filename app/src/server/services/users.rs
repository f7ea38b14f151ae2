//! Reading users and their memberships.

use super::db_error;
use super::sessions;
use crate::AppError;
use crate::domain::Identifier;
use crate::server::entities::{memberships, roles, tenants, users};
use crate::server::{Actor, AppState};
use crate::types::{
    MembershipStatus, MembershipSummary, MyAccount, RealmKind, SessionSummary, TenantKind, UserProfile,
};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use uuid::Uuid;

/// A new account with no password yet: invited, or made by a first SSO sign-in.
pub fn new_account(
    email: &str,
    username: Option<String>,
    display_name: String,
    now: chrono::DateTime<chrono::Utc>,
) -> users::ActiveModel {
    use sea_orm::Set;
    users::ActiveModel {
        id: Set(Uuid::now_v7()),
        email: Set(email.to_owned()),
        username: Set(username),
        display_name: Set(display_name),
        secondary_email: Set(None),
        phone: Set(None),
        password_hash: Set(None),
        password_changed_at: Set(None),
        must_change_password: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// A new membership with no lock or cooldown.
pub fn new_membership(
    (user, tenant_id): (&users::Model, Uuid),
    role_id: Uuid,
    status: MembershipStatus,
    now: chrono::DateTime<chrono::Utc>,
) -> memberships::ActiveModel {
    use sea_orm::Set;
    memberships::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user.id),
        user_email: Set(user.email.clone()),
        tenant_id: Set(tenant_id),
        role_id: Set(role_id),
        status: Set(status.into()),
        locked_reason: Set(None),
        locked_until: Set(None),
        cooldown_until: Set(None),
        mfa_failed_attempts: Set(0),
        mfa_enrollment_required: Set(false),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// The account a sign-in identifier names: an email, or else a username.
pub async fn find_by_identifier(
    db: &impl ConnectionTrait,
    identifier: &Identifier,
) -> Result<Option<users::Model>, AppError> {
    let column = if identifier.is_email() {
        users::Column::Email
    } else {
        users::Column::Username
    };
    users::Entity::find()
        .filter(column.eq(identifier.as_str()))
        .one(db)
        .await
        .map_err(db_error)
}

/// A user's membership of one workspace.
pub async fn membership(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    tenant_id: Uuid,
) -> Result<Option<memberships::Model>, AppError> {
    memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .filter(memberships::Column::TenantId.eq(tenant_id))
        .one(db)
        .await
        .map_err(db_error)
}

/// A user with their membership of one workspace and its role, in one query.
pub async fn membership_with_role(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    tenant_id: Uuid,
) -> Result<Option<(users::Model, memberships::Model, roles::Model)>, AppError> {
    let found = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .filter(memberships::Column::TenantId.eq(tenant_id))
        .find_also_related(users::Entity)
        .find_also_related(roles::Entity)
        .one(db)
        .await
        .map_err(db_error)?;
    Ok(match found {
        Some((membership, Some(user), Some(role))) => Some((user, membership, role)),
        _ => None,
    })
}

pub async fn profile(state: &AppState, user: &users::Model) -> Result<UserProfile, AppError> {
    let rows = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user.id))
        .find_also_related(tenants::Entity)
        .all(&state.db)
        .await
        .map_err(db_error)?;
    let role_ids: Vec<Uuid> = rows.iter().map(|(m, _)| m.role_id).collect();
    let roles = roles::Entity::find()
        .filter(roles::Column::Id.is_in(role_ids))
        .all(&state.db)
        .await
        .map_err(db_error)?;
    let mut memberships: Vec<MembershipSummary> = rows
        .into_iter()
        .filter_map(|(membership, tenant)| {
            let tenant = tenant?;
            let role_name = roles
                .iter()
                .find(|r| r.id == membership.role_id)
                .map(|r| r.name.clone())
                .unwrap_or_default();
            Some(MembershipSummary {
                sign_in_url: state.config.workspace_url(&tenant.slug),
                kind: if tenant.kind == TenantKind::Operator.as_str() {
                    RealmKind::Operator
                } else {
                    RealmKind::Tenant
                },
                tenant_name: tenant.name,
                tenant_slug: tenant.slug,
                role_name,
                status: membership.status.parse().unwrap_or(MembershipStatus::Disabled),
                cooldown_until: membership
                    .cooldown_until
                    .filter(|_| membership.status == MembershipStatus::Cooldown.as_str()),
            })
        })
        .collect();
    memberships.sort_by(|a, b| a.tenant_name.cmp(&b.tenant_name));
    Ok(UserProfile {
        id: user.id,
        email: user.email.clone(),
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        secondary_email: user.secondary_email.clone(),
        phone: user.phone.clone(),
        password_changed_at: user.password_changed_at,
        must_change_password: user.must_change_password,
        memberships,
    })
}

pub async fn my_account(state: &AppState, actor: &Actor) -> Result<MyAccount, AppError> {
    let profile = profile(state, &actor.user).await?;
    let sessions = sessions::list_for_user(&state.db, actor.user.id, state.clock.now())
        .await?
        .into_iter()
        .filter(|s| s.tenant_id == actor.tenant.id)
        .map(|s| SessionSummary {
            id: s.id,
            created_at: s.created_at,
            last_seen_at: s.last_seen_at,
            user_agent: s.user_agent,
            ip: s.ip,
            current: Some(s.id) == actor.session_id,
        })
        .collect();
    Ok(MyAccount { profile, sessions })
}

/// Ends one of the actor's own sessions on this workspace.
pub async fn revoke_own_session(state: &AppState, actor: &Actor, session_id: Uuid) -> Result<(), AppError> {
    super::impersonation::refuse_while_impersonating(actor)?;
    let owned = sessions::list_for_user(&state.db, actor.user.id, state.clock.now())
        .await?
        .into_iter()
        .any(|s| s.id == session_id && s.tenant_id == actor.tenant.id);
    if !owned {
        return Err(AppError::not_found("That session does not exist or has already ended."));
    }
    sessions::delete(&state.db, session_id).await
}

/// A user and their membership of one workspace, for an admin action on them. Any part that is
/// missing answers the same "not found", so the answer does not reveal which.
pub struct Target {
    pub tenant: tenants::Model,
    pub user: users::Model,
    pub membership: memberships::Model,
}

impl Target {
    pub fn status(&self) -> MembershipStatus {
        self.membership.status.parse().unwrap_or(MembershipStatus::Disabled)
    }

    /// A customer tenant that signs in with SSO (the operator org always has passwords).
    pub fn signs_in_with_sso(&self) -> bool {
        self.tenant.kind != TenantKind::Operator.as_str()
            && self.tenant.sign_in_mode == crate::types::SignInMode::Sso.as_str()
    }
}

pub async fn target(db: &impl ConnectionTrait, user_id: Uuid, tenant_id: Uuid) -> Result<Target, AppError> {
    let not_found = || AppError::not_found("No such user in this workspace.");
    let tenant = tenants::Entity::find_by_id(tenant_id)
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(not_found)?;
    let user = users::Entity::find_by_id(user_id)
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(not_found)?;
    let membership = membership(db, user.id, tenant.id).await?.ok_or_else(not_found)?;
    Ok(Target {
        tenant,
        user,
        membership,
    })
}
