//! What the operator does from the command line, with the database at hand and no console:
//! the first administrator of an empty database (`latchkey admin create`), and break-glass for
//! an administrator locked out of the console (`latchkey user unlock | reset-mfa | reset-link`).
//!
//! Whoever runs these holds the database and the instance key, so they act over every
//! workspace; each change is audited as made from the command line.

use super::audit::{self, Change};
use super::events::{self, NewEvent};
use super::invites::issue_link;
use super::recovery::{ADMIN_LINK_LIFETIME, TicketBy, new_ticket};
use super::throttle::{self, ThrottleKey};
use super::users::{self as user_service, Target};
use super::{db_error, sessions, setup};
use crate::AppError;
use crate::domain::{DisplayName, Email};
use crate::server::crypto::random_token;
use crate::server::entities::one_time_secrets::SecretPurpose;
use crate::server::entities::{memberships, mfa_factors, recovery_codes, tenants, users};
use crate::server::{AppState, RequestMeta};
use crate::types::{MembershipStatus, SecurityEventType};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
use serde_json::json;

/// A link printed for the operator to open or hand over.
#[derive(Debug)]
pub struct PrintedLink {
    /// The account's email, as stored.
    pub email: String,
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Whether any active or pending Administrator of the operator exists (`latchkey serve` says
/// how to make one when none does).
pub async fn has_operator_admin(db: &impl ConnectionTrait) -> Result<bool, AppError> {
    let operator = setup::operator(db).await?;
    let administrator = setup::builtin_role(db, "administrator").await?;
    let count = memberships::Entity::find()
        .filter(memberships::Column::TenantId.eq(operator.id))
        .filter(memberships::Column::RoleId.eq(administrator.id))
        .filter(memberships::Column::Status.is_in([
            MembershipStatus::Active.as_str(),
            MembershipStatus::Pending.as_str(),
            MembershipStatus::Locked.as_str(),
            MembershipStatus::Cooldown.as_str(),
        ]))
        .count(db)
        .await
        .map_err(db_error)?;
    Ok(count > 0)
}

/// `latchkey admin create`: a new operator Administrator with no password, and a one-time link
/// on the admin host where they choose one; their first sign-in then sets up a second factor.
pub async fn create_operator_admin(state: &AppState, email: &str, name: Option<&str>) -> Result<PrintedLink, AppError> {
    let email = Email::parse(email, "email")?;
    let name = match name {
        Some(name) => DisplayName::parse(name)?,
        None => DisplayName::parse(email.as_str().split('@').next().unwrap_or_default())?,
    };
    let db = &state.db;
    let now = state.clock.now();
    if users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(db)
        .await
        .map_err(db_error)?
        .is_some()
    {
        return Err(AppError::conflict(format!(
            "{} already has an account. Use another address, or `latchkey user reset-link --email {}` for its owner.",
            email.as_str(),
            email.as_str()
        )));
    }
    let operator = setup::operator(db).await?;
    let administrator = setup::builtin_role(db, "administrator").await?;
    let txn = super::begin(db).await?;
    let user = user_service::new_account(email.as_str(), None, name.as_str().to_owned(), now)
        .insert(&txn)
        .await
        .map_err(|error| super::conflict_or_db_error(error, "This email already has an account."))?;
    let mut membership =
        user_service::new_membership((&user, operator.id), administrator.id, MembershipStatus::Pending, now);
    membership.mfa_enrollment_required = Set(true);
    membership.insert(&txn).await.map_err(db_error)?;
    let purposes = super::invites::LINK_PURPOSES;
    let (url, expires_at) = issue_link(
        &txn,
        state,
        (SecretPurpose::AccessLink, purposes),
        (&user, &operator),
        None,
        now,
    )
    .await?;
    let change = Change {
        action: "user.created",
        target_type: "user",
        target_id: Some(user.id.to_string()),
        tenant_id: Some(operator.id),
        before: None,
        after: Some(json!({ "email": user.email, "role": administrator.key, "status": MembershipStatus::Pending })),
    };
    audit::record_from_command_line(&txn, state.clock.as_ref(), change).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(PrintedLink {
        email: user.email,
        url,
        expires_at,
    })
}

/// The person and their membership of the workspace `slug` (the operator's when none is named).
async fn target(db: &impl ConnectionTrait, email: &str, slug: Option<&str>) -> Result<Target, AppError> {
    let email = Email::parse(email, "email")?;
    let tenant = match slug {
        None => setup::operator(db).await?,
        Some(slug) => tenants::Entity::find()
            .filter(tenants::Column::Slug.eq(slug.trim().to_ascii_lowercase()))
            .one(db)
            .await
            .map_err(db_error)?
            .ok_or_else(|| AppError::not_found(format!("No workspace is called {slug}.")))?,
    };
    let user = users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| AppError::not_found(format!("No account has the email {}.", email.as_str())))?;
    user_service::target(db, user.id, tenant.id).await.map_err(|_| {
        AppError::not_found(format!(
            "{} has no access to {} ({}).",
            email.as_str(),
            tenant.name,
            tenant.slug
        ))
    })
}

fn record_change<'a>(target: &Target, action: &'a str, after: serde_json::Value) -> Change<'a> {
    Change {
        action,
        target_type: "user",
        target_id: Some(target.user.id.to_string()),
        tenant_id: Some(target.tenant.id),
        before: Some(json!({
            "status": target.membership.status,
            "locked_reason": target.membership.locked_reason,
        })),
        after: Some(after),
    }
}

/// `latchkey user unlock`: the membership is active again and the account's sign-in failures
/// and its factors' paused codes are forgotten.
pub async fn unlock(state: &AppState, email: &str, slug: Option<&str>) -> Result<String, AppError> {
    let db = &state.db;
    let target = target(db, email, slug).await?;
    let now = state.clock.now();
    let status = target.membership.status_at(now);
    if matches!(status, MembershipStatus::Pending | MembershipStatus::Disabled) {
        return Err(AppError::conflict(format!(
            "The account is {} on {}: unlocking would not let it sign in.",
            status.label(),
            target.tenant.slug
        )));
    }
    let txn = super::begin(db).await?;
    throttle::clear(&txn, &ThrottleKey::account(target.user.id), now).await?;
    throttle::clear_factors(&txn, target.user.id, now).await?;
    super::account_actions::save_status(&txn, &target, MembershipStatus::Active, None, now).await?;
    let change = record_change(&target, "user.unlocked", json!({ "status": MembershipStatus::Active }));
    audit::record_from_command_line(&txn, state.clock.as_ref(), change).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(format!(
        "{} may sign in at {} again.",
        target.user.email,
        state.config.workspace_url(&target.tenant.slug)
    ))
}

/// `latchkey user reset-mfa`: every factor and recovery code of the person is removed, their
/// sessions end, and their next sign-in on the workspace sets up a factor again.
pub async fn reset_mfa(state: &AppState, email: &str, slug: Option<&str>) -> Result<String, AppError> {
    let db = &state.db;
    let target = target(db, email, slug).await?;
    let now = state.clock.now();
    let user_id = target.user.id;
    let txn = super::begin(db).await?;
    let removed = mfa_factors::Entity::delete_many()
        .filter(mfa_factors::Column::UserId.eq(user_id))
        .exec(&txn)
        .await
        .map_err(db_error)?
        .rows_affected;
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::UserId.eq(user_id))
        .exec(&txn)
        .await
        .map_err(db_error)?;
    throttle::clear_factors(&txn, user_id, now).await?;
    super::mfa::require_enrollment(&txn, target.membership.id).await?;
    let ended = sessions::revoke_all_for_user(&txn, user_id).await?;
    let event = NewEvent {
        event_type: SecurityEventType::MfaReset,
        user_id: Some(user_id),
        tenant_id: Some(target.tenant.id),
        identifier: None,
        detail: json!({ "via": "command_line", "level": "user", "factors_removed": removed, "sessions_ended": ended }),
    };
    events::record(&txn, state.clock.as_ref(), &RequestMeta::default(), event).await?;
    let after = json!({ "factors_removed": removed, "sessions_ended": ended, "mfa_enrollment_required": true });
    audit::record_from_command_line(
        &txn,
        state.clock.as_ref(),
        record_change(&target, "user.mfa_reset", after),
    )
    .await?;
    txn.commit().await.map_err(db_error)?;
    Ok(format!(
        "{} factor(s) of {} removed and {ended} session(s) ended; the next sign-in at {} sets up MFA again.",
        removed,
        target.user.email,
        state.config.workspace_url(&target.tenant.slug)
    ))
}

/// `latchkey user reset-link`: a link to set a new password on the workspace's host, printed
/// (not mailed: the mailbox may be what is lost). It works once, for 24 hours; MFA is kept.
pub async fn reset_link(state: &AppState, email: &str, slug: Option<&str>) -> Result<PrintedLink, AppError> {
    let db = &state.db;
    let target = target(db, email, slug).await?;
    if target.signs_in_with_sso() {
        return Err(AppError::conflict(format!(
            "{} signs in through its identity provider: it has no password here.",
            target.tenant.slug
        )));
    }
    let status = target.status();
    if matches!(status, MembershipStatus::Pending | MembershipStatus::Disabled) {
        return Err(AppError::conflict(format!(
            "The account is {} on {}: a new password would not let it sign in.",
            status.label(),
            target.tenant.slug
        )));
    }
    let now = state.clock.now();
    let token = random_token();
    let expires_at = now + ADMIN_LINK_LIFETIME;
    let txn = super::begin(db).await?;
    new_ticket(
        &txn,
        (target.user.id, target.tenant.id),
        &token,
        expires_at,
        TicketBy::CommandLine,
        now,
    )
    .await?;
    let change = record_change(
        &target,
        "user.password_reset_link_sent",
        json!({ "expires_at": expires_at }),
    );
    audit::record_from_command_line(&txn, state.clock.as_ref(), change).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(PrintedLink {
        email: target.user.email.clone(),
        url: format!(
            "{}/set-password#token={token}",
            state.config.workspace_url(&target.tenant.slug)
        ),
        expires_at,
    })
}
