//! "Generate Temporary Password" (DESIGN.md, "temporary password"; seed 003): 16 random
//! characters, shown once to the admin, valid 24 hours, changed at the first sign-in. Refused
//! for a user of more than one workspace (one password would open them all) and for SSO.

use super::access::{require, require_whole_person};
use super::events::{self, NewEvent};
use super::one_time::{self, NewSecret};
use super::roles::permission::USERS_SUPPORT;
use super::{audit, db_error, outbox, recovery, sessions};
use crate::domain::NewPassword;
use crate::server::crypto::random_readable;
use crate::server::entities::one_time_secrets::SecretPurpose;
use crate::server::entities::users;
use crate::server::mail::{Block, compose};
use crate::server::{Actor, AppState, Realm, RequestMeta};
use crate::types::{MembershipStatus, PersonReach, SecurityEventType, TemporaryPassword};
use crate::{AppError, AuthFailure};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ConnectionTrait, Set};
use serde_json::json;
use uuid::Uuid;

pub const LENGTH: usize = 16;

fn unavailable(reason: &str) -> AppError {
    AppError::conflict(format!("Temporary password is not available: {reason}"))
}

/// Sets a temporary password in place of the user's own: their sessions end, the old password
/// stops working, MFA stays, and they are told by email (without the password).
pub async fn generate(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    user_id: Uuid,
    tenant_id: Uuid,
) -> Result<TemporaryPassword, AppError> {
    require(actor, USERS_SUPPORT, tenant_id)?;
    let db = &state.db;
    let target = super::users::target(db, user_id, tenant_id).await?;
    if require_whole_person(db, actor, USERS_SUPPORT, &target).await? == PersonReach::WholeShared {
        return Err(unavailable(
            "this user belongs to more than one workspace. Send a reset password link instead.",
        ));
    }
    if target.signs_in_with_sso() {
        return Err(unavailable("this account signs in with SSO."));
    }
    match target.status() {
        MembershipStatus::Active => {}
        MembershipStatus::Pending => {
            return Err(unavailable(
                "the invite has not been accepted yet. Resend the invite or generate an access link.",
            ));
        }
        MembershipStatus::Locked => return Err(unavailable("the account is locked. Unlock it first.")),
        MembershipStatus::Cooldown => {
            return Err(unavailable("an MFA cooldown is running. Reset the cooldown first."));
        }
        MembershipStatus::Disabled => return Err(unavailable("access is turned off. Enable access first.")),
    }
    let password = random_readable(LENGTH);
    let hash = state.hasher.hash(&password).await?;
    let now = state.clock.now();
    let hours = super::tenant_admin::policy_of(&target.tenant).temporary_password_hours();
    let expires_at = now + Duration::hours(i64::from(hours));
    let id = Uuid::now_v7();
    let txn = super::begin(db).await?;
    one_time::issue(
        &txn,
        NewSecret {
            id,
            purpose: SecretPurpose::TemporaryPassword,
            supersedes: &[SecretPurpose::TemporaryPassword],
            user_id,
            tenant_id,
            // The password itself lives as the argon2id hash on the user; this row keeps its
            // expiry, keyed by a digest no one can reverse without the server key.
            secret_hash: state.signer.digest(&format!("temporary-password:{id}:{password}")),
            expires_at,
            failed_attempts: 0,
            created_by: Some(actor.user.id),
            data: None,
        },
        now,
    )
    .await?;
    let user = &target.user;
    let mut active: users::ActiveModel = user.clone().into();
    active.password_hash = Set(Some(hash));
    active.password_changed_at = Set(Some(now));
    active.must_change_password = Set(true);
    active.updated_at = Set(now);
    active.update(&txn).await.map_err(db_error)?;
    let ended = sessions::revoke_all_for_user(&txn, user_id).await?;
    events::record(
        &txn,
        state.clock.as_ref(),
        meta,
        NewEvent {
            event_type: SecurityEventType::PasswordReset,
            user_id: Some(user_id),
            tenant_id: Some(tenant_id),
            identifier: None,
            detail: json!({ "via": "temporary_password", "sessions_ended": ended }),
        },
    )
    .await?;
    let url = state.config.workspace_url(&target.tenant.slug);
    let notice = compose(
        &user.email,
        format!("An administrator set a temporary password for {}", target.tenant.name),
        &[
            Block::Text(format!(
                "{} set a temporary password for {} on {} ({url}). They will give it to you themselves; it is never sent by email.",
                actor.user.display_name, user.email, target.tenant.name
            )),
            Block::Text(format!(
                "It works for {hours} hours. When you sign in with it you will choose a new password of your own. If you did not ask for this, contact your administrator."
            )),
        ],
    );
    outbox::enqueue_email(&txn, &state.cipher, Some(tenant_id), &notice, now).await?;
    audit::record(
        &txn,
        state.clock.as_ref(),
        actor,
        meta,
        audit::Change {
            action: "user.temporary_password_generated",
            target_type: "user",
            target_id: Some(user_id.to_string()),
            tenant_id: Some(tenant_id),
            before: None,
            after: Some(json!({ "expires_at": expires_at, "sessions_ended": ended })),
        },
    )
    .await?;
    txn.commit().await.map_err(db_error)?;
    Ok(TemporaryPassword {
        temporary_password: password,
        expires_at,
    })
}

/// Whether a user who must change their password still holds a live temporary password.
/// `None` when the flag came from elsewhere (no temporary password was issued).
pub async fn expired(
    db: &impl ConnectionTrait,
    user: &users::Model,
    tenant_id: Uuid,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    if !user.must_change_password {
        return Ok(false);
    }
    let newest = one_time::newest(db, user.id, tenant_id, SecretPurpose::TemporaryPassword).await?;
    Ok(newest.is_some_and(|s| s.expires_at <= now))
}

/// The forced change after signing in with a temporary password: a new password under the
/// usual rules (no minimum age: the user did not choose the temporary one). Every session
/// ends, this one too, and the user signs in again with the new password.
pub async fn replace(
    state: &AppState,
    realm: &Realm,
    actor: &Actor,
    meta: &RequestMeta,
    password: String,
    confirm: String,
) -> Result<(), AppError> {
    let user = &actor.user;
    if !user.must_change_password {
        return Err(AppError::conflict(
            "Your password does not need to change. Use My account > Change password to choose another.",
        ));
    }
    let now = state.clock.now();
    if expired(&state.db, user, realm.tenant.id, now).await? {
        return Err(AppError::auth(AuthFailure::TemporaryPasswordExpired));
    }
    if password != confirm {
        return Err(AppError::invalid("confirm", "The two passwords are not the same."));
    }
    let new_password = NewPassword::parse(password, &recovery::user_inputs(user, &realm.tenant))?;
    if state
        .hasher
        .verify(user.password_hash.as_deref(), new_password.expose())
        .await?
        .matches
    {
        return Err(AppError::invalid(
            "password",
            "Choose a password of your own, not the temporary one.",
        ));
    }
    let hash = state.hasher.hash(new_password.expose()).await?;
    let txn = super::begin(&state.db).await?;
    if let Some(secret) = one_time::newest(&txn, user.id, realm.tenant.id, SecretPurpose::TemporaryPassword).await? {
        one_time::consume(&txn, secret.id, now).await?;
    }
    recovery::store_new_password(
        &txn,
        state,
        realm,
        meta,
        user,
        hash,
        (SecurityEventType::PasswordChange, "temporary_password_replaced"),
    )
    .await?;
    txn.commit().await.map_err(db_error)?;
    Ok(())
}
