//! Invites (DESIGN.md, "invite link / access link"; seed 000): a new user gets a pending
//! membership and an emailed link valid 7 days; "Resend Invite" and "Generate Access Link" void
//! the older links; "Revoke Invite" takes the pending membership back. The invitee accepts on
//! the workspace's own host by choosing a password.

use super::access::require;
use super::events::{self, NewEvent};
use super::one_time::{self, NewSecret};
use super::roles::permission::{USERS_MANAGE, USERS_SUPPORT};
use super::users::{self as user_service, Target};
use super::{audit, conflict_or_db_error, db_error, outbox};
use crate::AppError;
use crate::domain::{DisplayName, Email, NewPassword, SignInPassword, Username};
use crate::server::crypto::{random_token, secret_hash};
use crate::server::entities::one_time_secrets::{self, SecretPurpose};
use crate::server::entities::roles;
use crate::server::entities::{memberships, tenants, users};
use crate::server::mail::{Block, compose};
use crate::server::{Actor, AppState, Realm, RequestMeta};
use crate::types::{
    AccessLink, InviteInfo, InviteOutcome, InviteRequest, MembershipStatus, SecurityEventType, TenantKind,
};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

/// An emailed invite and a copied access link are the same kind of key: each voids the other.
pub(super) const LINK_PURPOSES: &[SecretPurpose] = &[SecretPurpose::Invite, SecretPurpose::AccessLink];
/// Wrong current passwords allowed on one link (for invitees who already have a password).
const MAX_PASSWORD_FAILURES: i32 = 5;

fn link_replaced() -> AppError {
    AppError::invalid(
        "token",
        "This invite link was replaced by a newer one. Use the link in the newest invite email, or ask your administrator to send a new one.",
    )
}

fn link_expired() -> AppError {
    AppError::invalid(
        "token",
        "This invite link has expired or was already used. Ask your administrator to send a new one.",
    )
}

/// The invitee already has an account: a password, or a membership of another workspace.
/// Such a person proves the account is theirs; nobody else may set it up for them.
pub(super) async fn has_account_elsewhere(
    db: &impl ConnectionTrait,
    user: &users::Model,
    tenant_id: Uuid,
) -> Result<bool, AppError> {
    if user.password_hash.is_some() {
        return Ok(true);
    }
    let other = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user.id))
        .filter(memberships::Column::TenantId.ne(tenant_id))
        .one(db)
        .await
        .map_err(db_error)?;
    Ok(other.is_some())
}

/// The role an invite grants: a built-in role that may be held in this kind of workspace.
async fn invited_role(
    db: &impl ConnectionTrait,
    tenant: &tenants::Model,
    key: Option<&str>,
) -> Result<roles::Model, AppError> {
    let operator = tenant.kind == TenantKind::Operator.as_str();
    let key = key
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .unwrap_or(if operator { "read_only" } else { "member" });
    let unknown = || AppError::invalid("role", "Choose a role: administrator, support, read_only or member.");
    if key.len() > 64 {
        return Err(unknown());
    }
    let role = roles::Entity::find()
        .filter(roles::Column::Key.eq(key))
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(unknown)?;
    if !super::roles::may_hold(&role, tenant) {
        return Err(AppError::invalid(
            "role",
            format!("The {} role cannot be given in {}.", role.name, tenant.name),
        ));
    }
    Ok(role)
}

/// Writes a new invite or access link for a pending membership and returns its URL.
/// `created_by` is the admin who made it (none from the command line).
pub(super) async fn issue_link(
    db: &impl ConnectionTrait,
    state: &AppState,
    (purpose, supersedes): (SecretPurpose, &[SecretPurpose]),
    target: (&users::Model, &tenants::Model),
    created_by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(String, DateTime<Utc>), AppError> {
    let (user, tenant) = target;
    let token = random_token();
    let days = super::tenant_admin::policy_of(tenant).invite_link_days();
    let expires_at = now + Duration::days(i64::from(days));
    let secret = NewSecret {
        id: Uuid::now_v7(),
        purpose,
        supersedes,
        user_id: user.id,
        tenant_id: tenant.id,
        secret_hash: secret_hash(&token),
        expires_at,
        failed_attempts: 0,
        created_by,
        data: None,
    };
    one_time::issue(db, secret, now).await?;
    // The token travels in the fragment, which browsers never send to a server or a Referer.
    let url = format!(
        "{}/accept-invite#token={token}",
        state.config.workspace_url(&tenant.slug)
    );
    Ok((url, expires_at))
}

async fn email_invite(
    db: &impl ConnectionTrait,
    state: &AppState,
    actor: &Actor,
    (user, tenant): (&users::Model, &tenants::Model),
    url: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let host = state.config.workspace_url(&tenant.slug);
    let email = compose(
        &user.email,
        format!("You are invited to {}", tenant.name),
        &[
            Block::Text(format!(
                "Hello {}, {} invited you to {} ({host}).",
                user.display_name, actor.user.display_name, tenant.name
            )),
            Block::Link {
                label: "Accept the invite",
                url,
            },
            Block::Text(format!(
                "The link works once, for {} days, and only on {host}. If an administrator sent you a newer invite, use that one.",
                super::tenant_admin::policy_of(tenant).invite_link_days()
            )),
        ],
    );
    outbox::enqueue_email(db, &state.cipher, Some(tenant.id), &email, now).await?;
    Ok(())
}

/// "Invite user": creates the user with a pending membership and emails an invite link, or
/// gives an existing user (known by email) a membership of one more workspace.
pub async fn invite(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    request: InviteRequest,
) -> Result<InviteOutcome, AppError> {
    let tenant_id = request.tenant_id.unwrap_or(actor.tenant.id);
    require(actor, USERS_MANAGE, tenant_id)?;
    let email = Email::parse(&request.email, "email")?;
    let name = DisplayName::parse(&request.display_name)?;
    let username = match request.username.as_deref().map(str::trim) {
        Some(raw) if !raw.is_empty() => Some(Username::parse(raw)?),
        _ => None,
    };
    let db = &state.db;
    let tenant = tenants::Entity::find_by_id(tenant_id)
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| AppError::not_found("No such workspace."))?;
    let role = invited_role(db, &tenant, request.role.as_deref()).await?;
    let now = state.clock.now();
    let email_used = format!("Email already used: {email} is already a member of {}.", tenant.name);

    let txn = super::begin(db).await?;
    let existing = users::Entity::find()
        .filter(users::Column::Email.eq(email.as_str()))
        .one(&txn)
        .await
        .map_err(db_error)?;
    let user = match existing {
        Some(user) => {
            if user_service::membership(&txn, user.id, tenant.id).await?.is_some() {
                return Err(AppError::conflict(email_used));
            }
            user
        }
        None => {
            if let Some(username) = &username {
                let taken = users::Entity::find()
                    .filter(users::Column::Username.eq(username.as_str()))
                    .one(&txn)
                    .await
                    .map_err(db_error)?
                    .is_some();
                if taken {
                    return Err(AppError::Validation {
                        message: "Username already used: choose another one.".into(),
                        fields: [("username".to_owned(), vec!["Username already used.".to_owned()])].into(),
                    });
                }
            }
            let username = username.as_ref().map(|u| u.as_str().to_owned());
            super::users::new_account(email.as_str(), username, name.as_str().to_owned(), now)
                .insert(&txn)
                .await
                .map_err(|e| conflict_or_db_error(e, &email_used))?
        }
    };
    // Always pending, whoever the address belongs to: a person who already has an account
    // proves it is theirs from the emailed link, and the answer is the same as for a new one.
    let status = MembershipStatus::Pending;
    super::users::new_membership((&user, tenant.id), role.id, status, now)
        .insert(&txn)
        .await
        .map_err(|e| conflict_or_db_error(e, &email_used))?;
    let purpose = (SecretPurpose::Invite, LINK_PURPOSES);
    let (url, expires_at) = issue_link(&txn, state, purpose, (&user, &tenant), Some(actor.user.id), now).await?;
    email_invite(&txn, state, actor, (&user, &tenant), &url, now).await?;
    audit::record(
        &txn,
        state.clock.as_ref(),
        actor,
        meta,
        audit::Change {
            action: "user.invited",
            target_type: "user",
            target_id: Some(user.id.to_string()),
            tenant_id: Some(tenant.id),
            before: None,
            after: Some(json!({
                "email": user.email,
                "role": role.name,
                "status": status.as_str(),
            })),
        },
    )
    .await?;
    txn.commit().await.map_err(db_error)?;
    Ok(InviteOutcome {
        user_id: user.id,
        tenant_id: tenant.id,
        status,
        invite_expires_at: Some(expires_at),
    })
}

/// A pending membership that an admin may act on, or why not.
async fn pending_target(
    state: &AppState,
    actor: &Actor,
    permission: &str,
    user_id: Uuid,
    tenant_id: Uuid,
) -> Result<Target, AppError> {
    require(actor, permission, tenant_id)?;
    let target = user_service::target(&state.db, user_id, tenant_id).await?;
    if target.status() != MembershipStatus::Pending {
        return Err(AppError::conflict(format!(
            "There is no pending invite: the account is {} in {}.",
            target.status().label(),
            target.tenant.name
        )));
    }
    Ok(target)
}

/// A new link for a pending membership, voiding the older ones: emailed for an invite, only
/// returned for an access link. Audited either way.
async fn new_link(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    (user_id, tenant_id): (Uuid, Uuid),
    purpose: SecretPurpose,
) -> Result<AccessLink, AppError> {
    let target = pending_target(state, actor, USERS_SUPPORT, user_id, tenant_id).await?;
    let now = state.clock.now();
    let txn = super::begin(&state.db).await?;
    let pair = (&target.user, &target.tenant);
    // An access link never works for a person who already has an account (see `link_holder`);
    // it is made all the same, so the answer tells the admin nothing, but it leaves the
    // emailed invite working.
    let supersedes =
        match purpose == SecretPurpose::AccessLink && has_account_elsewhere(&txn, &target.user, tenant_id).await? {
            true => &[SecretPurpose::AccessLink][..],
            false => LINK_PURPOSES,
        };
    let (url, expires_at) = issue_link(&txn, state, (purpose, supersedes), pair, Some(actor.user.id), now).await?;
    let action = if purpose == SecretPurpose::Invite {
        email_invite(&txn, state, actor, pair, &url, now).await?;
        "user.invite_resent"
    } else {
        "user.access_link_generated"
    };
    let change = audit::Change {
        action,
        target_type: "user",
        target_id: Some(user_id.to_string()),
        tenant_id: Some(tenant_id),
        before: None,
        after: Some(json!({ "expires_at": expires_at })),
    };
    audit::record(&txn, state.clock.as_ref(), actor, meta, change).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(AccessLink { url, expires_at })
}

/// "Resend Invite": a new emailed link; every older invite or access link stops working.
pub async fn resend(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    user_id: Uuid,
    tenant_id: Uuid,
) -> Result<InviteOutcome, AppError> {
    let link = new_link(state, actor, meta, (user_id, tenant_id), SecretPurpose::Invite).await?;
    Ok(InviteOutcome {
        user_id,
        tenant_id,
        status: MembershipStatus::Pending,
        invite_expires_at: Some(link.expires_at),
    })
}

/// "Generate Access Link": the same kind of link as the invite, returned for the admin to copy
/// and send by other means (when the email is caught in spam). Older links stop working.
pub async fn access_link(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    user_id: Uuid,
    tenant_id: Uuid,
) -> Result<AccessLink, AppError> {
    new_link(state, actor, meta, (user_id, tenant_id), SecretPurpose::AccessLink).await
}

/// "Revoke Invite": the links stop working and the pending membership goes; a user who was
/// created by the invite and has no other workspace goes with it.
pub async fn revoke(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    user_id: Uuid,
    tenant_id: Uuid,
) -> Result<(), AppError> {
    let target = pending_target(state, actor, USERS_MANAGE, user_id, tenant_id).await?;
    let now = state.clock.now();
    let txn = super::begin(&state.db).await?;
    one_time::supersede(&txn, user_id, tenant_id, LINK_PURPOSES, now).await?;
    memberships::Entity::delete_by_id(target.membership.id)
        .exec(&txn)
        .await
        .map_err(db_error)?;
    let other_memberships = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .one(&txn)
        .await
        .map_err(db_error)?;
    let user_removed = other_memberships.is_none() && target.user.password_hash.is_none();
    if user_removed {
        users::Entity::delete_by_id(user_id)
            .exec(&txn)
            .await
            .map_err(db_error)?;
    }
    audit::record(
        &txn,
        state.clock.as_ref(),
        actor,
        meta,
        audit::Change {
            action: "user.invite_revoked",
            target_type: "user",
            target_id: Some(user_id.to_string()),
            tenant_id: Some(tenant_id),
            before: Some(json!({ "email": target.user.email, "status": "pending" })),
            // Whether the person went too is not told: it would say whether they had an
            // account elsewhere.
            after: None,
        },
    )
    .await?;
    txn.commit().await.map_err(db_error)?;
    Ok(())
}

/// The live link behind `token` on this workspace, with its pending invitee. An access link
/// (which an admin holds) is worth nothing for a person who already has an account.
async fn link_holder(
    state: &AppState,
    realm: &Realm,
    token: &str,
) -> Result<(one_time_secrets::Model, Target), AppError> {
    if token.is_empty() || token.len() > 128 {
        return Err(link_expired());
    }
    let now = state.clock.now();
    let secret = match one_time::find(&state.db, &secret_hash(token), LINK_PURPOSES, realm.tenant.id, now).await? {
        one_time::Found::Live(secret) => *secret,
        one_time::Found::Replaced => return Err(link_replaced()),
        one_time::Found::Nothing => return Err(link_expired()),
    };
    let target = user_service::target(&state.db, secret.user_id, realm.tenant.id)
        .await
        .map_err(|_| link_expired())?;
    if target.status() != MembershipStatus::Pending || secret.failed_attempts >= MAX_PASSWORD_FAILURES {
        return Err(link_expired());
    }
    if secret.purpose == SecretPurpose::AccessLink.as_str()
        && has_account_elsewhere(&state.db, &target.user, realm.tenant.id).await?
    {
        return Err(link_expired());
    }
    Ok((secret, target))
}

/// How the invitee accepts: by proving an account they already have (its password, and a code
/// where it has a second factor), through the workspace's SSO (a new account invited to an SSO
/// workspace: the provider's first sign-in accepts it), or by choosing a password. An account
/// with no password yet (invited elsewhere too, never set up) chooses one here: the emailed
/// link proves the mailbox, and an access link, which an admin holds, never gets this far for
/// such an account (see `link_holder`).
enum Acceptance {
    ChoosePassword,
    ProveAccount { needs_code: bool },
    Sso,
}

async fn acceptance(state: &AppState, target: &Target) -> Result<Acceptance, AppError> {
    if target.user.password_hash.is_some() {
        let needs_code = !super::mfa::confirmed_factors(&state.db, target.user.id)
            .await?
            .is_empty();
        return Ok(Acceptance::ProveAccount { needs_code });
    }
    let sso_accepts =
        target.signs_in_with_sso() && !has_account_elsewhere(&state.db, &target.user, target.tenant.id).await?;
    Ok(match sso_accepts {
        true => Acceptance::Sso,
        false => Acceptance::ChoosePassword,
    })
}

/// What the Accept invite page shows. A link of another workspace is worth nothing here.
pub async fn info(state: &AppState, realm: &Realm, token: &str) -> Result<InviteInfo, AppError> {
    let (secret, target) = link_holder(state, realm, token).await?;
    let acceptance = acceptance(state, &target).await?;
    Ok(InviteInfo {
        tenant_name: target.tenant.name.clone(),
        email: target.user.email.clone(),
        display_name: target.user.display_name.clone(),
        expires_at: secret.expires_at,
        sso: matches!(acceptance, Acceptance::Sso),
        has_password: matches!(acceptance, Acceptance::ProveAccount { .. }),
        needs_code: matches!(acceptance, Acceptance::ProveAccount { needs_code: true }),
    })
}

/// What the invitee enters on the Accept invite page.
pub struct Answer {
    pub password: String,
    pub confirm: String,
    /// A code of the account's second factor, when it has one.
    pub code: Option<String>,
}

/// Accepts an invite: a new user chooses their password (under the same rules as every other
/// password); someone who already has an account proves it is theirs with its password and,
/// where it has one, its second factor. The membership becomes Active.
pub async fn accept(
    state: &AppState,
    realm: &Realm,
    meta: &RequestMeta,
    token: &str,
    answer: Answer,
) -> Result<(), AppError> {
    let (secret, target) = link_holder(state, realm, token).await?;
    let secret_id = secret.id;
    let user = &target.user;
    let new_hash = match acceptance(state, &target).await? {
        Acceptance::Sso => {
            return Err(AppError::forbidden(
                "This workspace signs in with SSO: there is no password to choose. Use \"Continue with SSO\" on the sign-in page.",
            ));
        }
        Acceptance::ProveAccount { needs_code } => {
            let password = SignInPassword::parse(answer.password)
                .map_err(|_| AppError::invalid("password", "Enter your current password."))?;
            let who = (user, target.tenant.id);
            if !super::auth::recheck_password(state, meta, who, password.expose(), "invite").await? {
                one_time::count_failure(&state.db, secret_id).await?;
                return Err(AppError::invalid(
                    "password",
                    "That is not your password. Use \"Forgot password?\" on the sign-in page if you lost it.",
                ));
            }
            if needs_code {
                let code = answer.code.unwrap_or_default();
                if code.trim().is_empty() {
                    return Err(AppError::invalid(
                        "code",
                        "Enter a code from your authenticator app, or one of your recovery codes.",
                    ));
                }
                super::mfa::prove_second_factor(state, &target, meta, &code).await?;
            }
            None
        }
        Acceptance::ChoosePassword => {
            if answer.password != answer.confirm {
                return Err(AppError::invalid("confirm", "The two passwords are not the same."));
            }
            let words = super::recovery::user_inputs(user, &target.tenant);
            let password = NewPassword::parse(answer.password, &words)?;
            Some(state.hasher.hash(password.expose()).await?)
        }
    };
    let now = state.clock.now();
    let txn = super::begin(&state.db).await?;
    if !one_time::consume(&txn, secret_id, now).await? {
        return Err(link_expired());
    }
    one_time::supersede(&txn, user.id, target.tenant.id, LINK_PURPOSES, now).await?;
    let password_set = new_hash.is_some();
    if let Some(hash) = new_hash {
        let mut active: users::ActiveModel = user.clone().into();
        active.password_hash = Set(Some(hash));
        active.password_changed_at = Set(Some(now));
        active.updated_at = Set(now);
        active.update(&txn).await.map_err(db_error)?;
    }
    let mut membership: memberships::ActiveModel = target.membership.clone().into();
    membership.status = Set(MembershipStatus::Active.into());
    membership.updated_at = Set(now);
    membership.update(&txn).await.map_err(db_error)?;
    events::record(
        &txn,
        state.clock.as_ref(),
        meta,
        NewEvent {
            event_type: SecurityEventType::InviteAccepted,
            user_id: Some(user.id),
            tenant_id: Some(target.tenant.id),
            identifier: None,
            detail: json!({ "password_set": password_set }),
        },
    )
    .await?;
    txn.commit().await.map_err(db_error)?;
    Ok(())
}
