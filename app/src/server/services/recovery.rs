//! Forgot password with an emailed code (DESIGN.md, "emailed recovery code"; seeds 000, 002):
//! a 6-digit code valid 10 minutes for 5 tries, bound to the workspace it was asked on; a new
//! code voids the older ones without resetting the failure count; then a new password.

use super::events::{self, NewEvent};
use super::one_time::{self, NewSecret};
use super::{db_error, outbox, send_throttle, sessions};
use crate::AppError;
use crate::domain::{Identifier, NewPassword};
use crate::server::crypto::{random_token, random_u64, secret_hash};
use crate::server::entities::one_time_secrets::{self, Column, SecretPurpose};
use crate::server::entities::{reset_requests, tenants, users};
use crate::server::mail::{Block, compose};
use crate::server::{AppState, Realm, RequestMeta};
use crate::types::{CodeRequested, MembershipStatus, RealmKind, ResetTicket, SecurityEventType, SignInMode};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::json;
use uuid::Uuid;

pub const CODE_LIFETIME: Duration = Duration::minutes(10);
pub const CODE_MAX_FAILURES: i32 = 5;
/// How long the browser may take to choose the new password once the code was right.
pub const TICKET_LIFETIME: Duration = Duration::minutes(15);
/// DESIGN.md, "minimum password age": between changes the user makes themselves.
pub const MIN_PASSWORD_AGE: Duration = Duration::hours(3);

fn sso_refusal(realm: &Realm) -> Option<AppError> {
    (realm.kind() == RealmKind::Tenant && realm.sign_in_mode() == SignInMode::Sso).then(|| {
        AppError::forbidden("Password recovery is not available: this workspace signs in with SSO. Use \"Continue with SSO\" or ask your administrator.")
    })
}

fn code_hash(state: &AppState, secret_id: Uuid, code: &str) -> String {
    state.signer.digest(&format!("reset-code:{secret_id}:{code}"))
}

/// The account behind an identifier on this workspace, if it may recover its password here.
async fn recoverable_account(
    db: &impl ConnectionTrait,
    realm: &Realm,
    identifier: &Identifier,
) -> Result<Option<users::Model>, AppError> {
    let Some(user) = super::users::find_by_identifier(db, identifier).await? else {
        return Ok(None);
    };
    let membership = super::users::membership(db, user.id, realm.tenant.id).await?;
    // A person invited here who already has a password (from another workspace) may reset it
    // through their mailbox to prove the account is theirs and accept the invite.
    let allowed = membership.is_some_and(|m| match m.status.parse::<MembershipStatus>() {
        Ok(MembershipStatus::Active | MembershipStatus::Locked | MembershipStatus::Cooldown) => true,
        Ok(MembershipStatus::Pending) => user.password_hash.is_some(),
        _ => false,
    });
    Ok(allowed.then_some(user))
}

/// "Forgot password": records the throttle and queues the request, and nothing else, so the
/// answer and its timing are the same whether or not the identifier names an account. The
/// delivery worker ([`handle_reset_requests`]) sends the code.
pub async fn request_code(state: &AppState, realm: &Realm, identifier: &str) -> Result<CodeRequested, AppError> {
    if let Some(refusal) = sso_refusal(realm) {
        return Err(refusal);
    }
    let identifier = Identifier::parse(identifier)?;
    let now = state.clock.now();
    let txn = super::begin(&state.db).await?;
    send_throttle::record_send(
        &txn,
        &format!("reset:{}:{}", realm.tenant.id.simple(), identifier.as_str()),
        now,
    )
    .await?;
    reset_requests::ActiveModel {
        id: Set(Uuid::now_v7()),
        tenant_id: Set(realm.tenant.id),
        identifier_enc: Set(state.cipher.seal(identifier.as_str().as_bytes())),
        created_at: Set(now),
        claimed_until: Set(now),
    }
    .insert(&txn)
    .await
    .map_err(db_error)?;
    txn.commit().await.map_err(db_error)?;
    Ok(CodeRequested {
        resend_after_secs: send_throttle::MIN_INTERVAL.num_seconds() as u64,
    })
}

/// Turns queued forgot-password requests into codes and emails (for identifiers of accounts that
/// may recover on that workspace) and deletes them. Each request is taken with a conditional
/// update first and deleted in the transaction that issues its code, so with several server
/// processes, or after a crash, a request is handled once. Returns how many were handled.
pub async fn handle_reset_requests(state: &AppState, batch: u64) -> Result<usize, AppError> {
    let now = state.clock.now();
    let lease = Duration::from_std(state.config.outbox_lease).unwrap_or(Duration::minutes(5));
    let due = reset_requests::Entity::find()
        .filter(reset_requests::Column::ClaimedUntil.lte(now))
        .order_by_asc(reset_requests::Column::ClaimedUntil)
        .limit(batch)
        .all(&state.db)
        .await
        .map_err(db_error)?;
    let mut handled = 0;
    for request in due {
        let claimed = reset_requests::Entity::update_many()
            .col_expr(reset_requests::Column::ClaimedUntil, Expr::value(now + lease))
            .filter(reset_requests::Column::Id.eq(request.id))
            .filter(reset_requests::Column::ClaimedUntil.eq(request.claimed_until))
            .exec(&state.db)
            .await
            .map_err(db_error)?;
        if claimed.rows_affected == 1 {
            handle_reset_request(state, request).await?;
            handled += 1;
        }
    }
    Ok(handled)
}

async fn handle_reset_request(state: &AppState, request: reset_requests::Model) -> Result<(), AppError> {
    let identifier = state
        .cipher
        .open(&request.identifier_enc)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .and_then(|text| Identifier::parse(&text).ok());
    let tenant = tenants::Entity::find_by_id(request.tenant_id)
        .one(&state.db)
        .await
        .map_err(db_error)?;
    let now = state.clock.now();
    let txn = super::begin(&state.db).await?;
    reset_requests::Entity::delete_by_id(request.id)
        .exec(&txn)
        .await
        .map_err(db_error)?;
    if let (Some(identifier), Some(tenant)) = (identifier, tenant) {
        let realm = Realm { tenant };
        // The workspace may have moved to SSO since the request.
        if sso_refusal(&realm).is_none()
            && let Some(user) = recoverable_account(&txn, &realm, &identifier).await?
        {
            send_code(&txn, state, &realm, &user, now).await?;
        }
    }
    txn.commit().await.map_err(db_error)
}

/// A new reset code for `user`, voiding older ones but keeping their failure count, and its email.
async fn send_code(
    txn: &impl ConnectionTrait,
    state: &AppState,
    realm: &Realm,
    user: &users::Model,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let older = one_time_secrets::Entity::find()
        .filter(Column::UserId.eq(user.id))
        .filter(Column::TenantId.eq(realm.tenant.id))
        .filter(Column::Purpose.eq(SecretPurpose::PasswordResetCode))
        .filter(Column::CreatedAt.gt(now - send_throttle::WINDOW))
        .order_by_desc(Column::CreatedAt)
        .one(txn)
        .await
        .map_err(db_error)?;
    let failures_so_far = older.as_ref().map_or(0, |o| o.failed_attempts);
    let id = Uuid::now_v7();
    let code = format!("{:06}", random_u64() % 1_000_000);
    let secret = NewSecret {
        id,
        purpose: SecretPurpose::PasswordResetCode,
        supersedes: &[SecretPurpose::PasswordResetCode],
        user_id: user.id,
        tenant_id: realm.tenant.id,
        secret_hash: code_hash(state, id, &code),
        expires_at: now + CODE_LIFETIME,
        failed_attempts: failures_so_far,
        created_by: None,
        data: None,
    };
    one_time::issue(txn, secret, now).await?;
    let url = state.config.workspace_url(realm.label());
    let tenant = &realm.tenant.name;
    let email = compose(
        &user.email,
        // Not in the subject: the outbox lists subjects, and phones show them on a locked screen.
        format!("Your {tenant} password reset code"),
        &[
            Block::Text(format!(
                "Someone asked to reset the password of {} on {tenant} ({url}). Your code is:",
                user.email
            )),
            Block::Code(&code),
            Block::Text(format!(
                "It works for 10 minutes, and only on {url}. If you asked again, use the code in the newest email."
            )),
            Block::Text("If this was not you, ignore this email: your password stays as it is.".into()),
        ],
    );
    outbox::enqueue_email(txn, &state.cipher, Some(realm.tenant.id), &email, now).await?;
    Ok(())
}

fn invalid_code() -> AppError {
    AppError::invalid(
        "code",
        "That code is not right, or it no longer works. Check the newest email, or ask for a new code.",
    )
}

/// "That code is not right", with the Invalid Code event's reference: one answer whether or not
/// the identifier names an account, and whatever the state of its code (wrong, expired, out of
/// tries, replaced by a newer one, never sent); the event's detail tells the admins which.
async fn wrong_code(
    state: &AppState,
    realm: &Realm,
    meta: &RequestMeta,
    identifier: &Identifier,
    user_id: Option<uuid::Uuid>,
    detail: serde_json::Value,
) -> AppError {
    let event = NewEvent {
        event_type: SecurityEventType::InvalidCode,
        user_id,
        tenant_id: Some(realm.tenant.id),
        identifier: Some(identifier.as_str()),
        detail,
    };
    let reference = match events::record(&state.db, state.clock.as_ref(), meta, event).await {
        Ok(reference) => reference,
        Err(error) => return error,
    };
    let AppError::Validation { message, fields } = invalid_code() else {
        unreachable!("invalid_code is a validation error")
    };
    AppError::Validation {
        message: format!("{message} (Ref {reference})"),
        fields,
    }
}

/// Checks an emailed code; a right one is exchanged for a one-time ticket to set the password.
pub async fn verify_code(
    state: &AppState,
    realm: &Realm,
    meta: &RequestMeta,
    identifier: &str,
    code: &str,
) -> Result<ResetTicket, AppError> {
    if let Some(refusal) = sso_refusal(realm) {
        return Err(refusal);
    }
    let identifier = Identifier::parse(identifier)?;
    let code: String = code.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::invalid("code", "Enter the 6-digit code from the email."));
    }
    let now = state.clock.now();
    let db = &state.db;
    let refused = |user_id: Option<Uuid>, state_of_code: &str, failures: Option<i32>| {
        let detail = json!({ "purpose": "password_reset_code", "state": state_of_code, "failures": failures });
        wrong_code(state, realm, meta, &identifier, user_id, detail)
    };
    let Some(user) = recoverable_account(db, realm, &identifier).await? else {
        return Err(refused(None, "unknown_account", None).await);
    };
    let Some(secret) = one_time_secrets::Entity::find()
        .filter(Column::UserId.eq(user.id))
        .filter(Column::TenantId.eq(realm.tenant.id))
        .filter(Column::Purpose.eq(SecretPurpose::PasswordResetCode))
        .filter(Column::SupersededAt.is_null())
        .filter(Column::ConsumedAt.is_null())
        .one(db)
        .await
        .map_err(db_error)?
    else {
        return Err(refused(Some(user.id), "no_live_code", None).await);
    };
    if secret.expires_at <= now {
        return Err(refused(Some(user.id), "expired", None).await);
    }
    // The try is taken before the code is compared: parallel guesses get five comparisons.
    if !one_time::reserve_try(db, secret.id, CODE_MAX_FAILURES).await? {
        return Err(refused(Some(user.id), "too_many_wrong_codes", Some(CODE_MAX_FAILURES)).await);
    }
    if code_hash(state, secret.id, &code) != secret.secret_hash {
        return Err(refused(Some(user.id), "wrong", Some(secret.failed_attempts + 1)).await);
    }
    let txn = super::begin(db).await?;
    if !one_time::consume(&txn, secret.id, now).await? {
        return Err(invalid_code());
    }
    let token = random_token();
    new_ticket(
        &txn,
        (user.id, realm.tenant.id),
        &token,
        now + TICKET_LIFETIME,
        TicketBy::Themselves,
        now,
    )
    .await?;
    txn.commit().await.map_err(db_error)?;
    Ok(ResetTicket { token })
}

/// Who made a set-password ticket.
#[derive(Clone, Copy)]
pub enum TicketBy {
    /// The person, with a code sent to them.
    Themselves,
    /// An admin's reset link.
    Admin(Uuid),
    /// The operator, from the command line.
    CommandLine,
}

/// Stores a set-password ticket (the same kind an admin's reset link carries), voiding older ones.
pub async fn new_ticket(
    db: &impl ConnectionTrait,
    (user_id, tenant_id): (Uuid, Uuid),
    token: &str,
    expires_at: DateTime<Utc>,
    by: TicketBy,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let created_by = match by {
        TicketBy::Admin(admin) => Some(admin),
        TicketBy::Themselves | TicketBy::CommandLine => None,
    };
    let admin_reset = !matches!(by, TicketBy::Themselves);
    let secret = NewSecret {
        id: Uuid::now_v7(),
        purpose: SecretPurpose::ResetLink,
        supersedes: &[SecretPurpose::ResetLink],
        user_id,
        tenant_id,
        secret_hash: secret_hash(token),
        expires_at,
        failed_attempts: 0,
        created_by,
        data: admin_reset.then(|| json!({ "admin_reset": true })),
    };
    one_time::issue(db, secret, now).await
}

fn ticket_expired() -> AppError {
    AppError::invalid(
        "token",
        "This password reset has expired or was already used. Start again from \"Forgot password?\".",
    )
}

/// The account's own words on `workspace`, which a new password may not be built from.
pub(crate) fn user_inputs(user: &users::Model, workspace: &tenants::Model) -> Vec<String> {
    crate::domain::account_words(
        &user.email,
        user.username.as_deref(),
        &user.display_name,
        (&workspace.name, &workspace.slug),
    )
}

/// The live ticket and its account, if `token` is one for this workspace.
async fn ticket_holder(
    state: &AppState,
    realm: &Realm,
    token: &str,
) -> Result<Option<(one_time_secrets::Model, users::Model)>, AppError> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    let now = state.clock.now();
    let secret = one_time::find_live(
        &state.db,
        &secret_hash(token),
        &[SecretPurpose::ResetLink],
        realm.tenant.id,
        now,
    )
    .await?;
    let Some(secret) = secret else {
        return Ok(None);
    };
    let user = users::Entity::find_by_id(secret.user_id)
        .one(&state.db)
        .await
        .map_err(db_error)?;
    Ok(user.map(|user| (secret, user)))
}

/// The words of the account behind a reset ticket or an invite link, for the strength meter,
/// which judges candidates in the browser with the same check as [`NewPassword::parse`]. Only
/// the holder of a live link learns them, and they are the holder's own.
pub async fn words_for_ticket(state: &AppState, realm: &Realm, token: &str) -> Result<Vec<String>, AppError> {
    if token.is_empty() || token.len() > 128 {
        return Err(ticket_expired());
    }
    let purposes = [
        SecretPurpose::ResetLink,
        SecretPurpose::Invite,
        SecretPurpose::AccessLink,
    ];
    let now = state.clock.now();
    let secret = one_time::find_live(&state.db, &secret_hash(token), &purposes, realm.tenant.id, now)
        .await?
        .ok_or_else(ticket_expired)?;
    let user = users::Entity::find_by_id(secret.user_id)
        .one(&state.db)
        .await
        .map_err(db_error)?
        .ok_or_else(ticket_expired)?;
    Ok(user_inputs(&user, &realm.tenant))
}

/// The signed-in user's own words on their workspace, for the strength meter.
pub fn words_for_user(user: &users::Model, workspace: &tenants::Model) -> Vec<String> {
    user_inputs(user, workspace)
}

/// Sets the new password with a ticket: every session ends, MFA stays, the user is told by email.
pub async fn complete(
    state: &AppState,
    realm: &Realm,
    meta: &RequestMeta,
    token: &str,
    password: String,
    confirm: String,
) -> Result<(), AppError> {
    let now = state.clock.now();
    let db = &state.db;
    let (secret, user) = ticket_holder(state, realm, token).await?.ok_or_else(ticket_expired)?;
    if password != confirm {
        return Err(AppError::invalid("confirm", "The two passwords are not the same."));
    }
    let password = NewPassword::parse(password, &user_inputs(&user, &realm.tenant))?;
    let admin_reset = secret
        .data
        .as_ref()
        .and_then(|d| d.get("admin_reset"))
        .and_then(serde_json::Value::as_bool)
        .unwrap_or(false);
    if !admin_reset && user.password_changed_at.is_some_and(|t| now - t < MIN_PASSWORD_AGE) {
        return Err(too_recent());
    }
    let hash = state.hasher.hash(password.expose()).await?;
    let txn = super::begin(db).await?;
    if !one_time::consume(&txn, secret.id, now).await? {
        return Err(ticket_expired());
    }
    store_new_password(
        &txn,
        state,
        realm,
        meta,
        &user,
        hash,
        (
            SecurityEventType::PasswordReset,
            if admin_reset {
                "admin_reset_link"
            } else {
                "emailed_code"
            },
        ),
    )
    .await?;
    txn.commit().await.map_err(db_error)?;
    Ok(())
}

/// Saves a new password hash and does what every password change entails: all sessions end,
/// a security event is written and the user is told by email. MFA is left as it is.
pub(crate) async fn store_new_password(
    txn: &impl ConnectionTrait,
    state: &AppState,
    realm: &Realm,
    meta: &RequestMeta,
    user: &users::Model,
    hash: String,
    (event_type, via): (SecurityEventType, &str),
) -> Result<(), AppError> {
    let now = state.clock.now();
    let mut active: users::ActiveModel = user.clone().into();
    active.password_hash = Set(Some(hash));
    active.password_changed_at = Set(Some(now));
    active.must_change_password = Set(false);
    active.updated_at = Set(now);
    active.update(txn).await.map_err(db_error)?;
    let ended = sessions::revoke_all_for_user(txn, user.id).await?;
    events::record(
        txn,
        state.clock.as_ref(),
        meta,
        NewEvent {
            event_type,
            user_id: Some(user.id),
            tenant_id: Some(realm.tenant.id),
            identifier: None,
            detail: json!({ "via": via, "sessions_ended": ended }),
        },
    )
    .await?;
    let url = state.config.workspace_url(realm.label());
    let tenant = &realm.tenant.name;
    let notice = compose(
        &user.email,
        format!("Your {tenant} password was changed"),
        &[
            Block::Text(format!(
                "The password of {} on {tenant} ({url}) was changed just now, and every session was signed out.",
                user.email
            )),
            Block::Text("If this was not you, contact your administrator at once.".into()),
        ],
    );
    outbox::enqueue_email(txn, &state.cipher, Some(realm.tenant.id), &notice, now).await?;
    Ok(())
}

fn too_recent() -> AppError {
    AppError::forbidden(
        "Your password was changed less than 3 hours ago. Ask your administrator if it must change again now.",
    )
}

/// My account > Change password: the current password, then a new one under the same rules as a
/// reset, at most once every 3 hours. Every session ends, this one too.
pub async fn change_password(
    state: &AppState,
    realm: &Realm,
    actor: &crate::server::Actor,
    meta: &RequestMeta,
    current: String,
    password: String,
    confirm: String,
) -> Result<(), AppError> {
    super::impersonation::refuse_while_impersonating(actor)?;
    let current = crate::domain::SignInPassword::parse(current)
        .map_err(|_| AppError::invalid("current", "Enter your current password."))?;
    let who = (&actor.user, realm.tenant.id);
    if !super::auth::recheck_password(state, meta, who, current.expose(), "change_password").await? {
        return Err(AppError::invalid("current", "That is not your current password."));
    }
    if password != confirm {
        return Err(AppError::invalid("confirm", "The two passwords are not the same."));
    }
    let password = NewPassword::parse(password, &user_inputs(&actor.user, &realm.tenant))?;
    let now = state.clock.now();
    if actor
        .user
        .password_changed_at
        .is_some_and(|t| now - t < MIN_PASSWORD_AGE)
    {
        return Err(too_recent());
    }
    let hash = state.hasher.hash(password.expose()).await?;
    let txn = super::begin(&state.db).await?;
    store_new_password(
        &txn,
        state,
        realm,
        meta,
        &actor.user,
        hash,
        (SecurityEventType::PasswordChange, "my_account"),
    )
    .await?;
    txn.commit().await.map_err(db_error)?;
    Ok(())
}

/// DESIGN.md, "admin reset link": 24 hours, single use.
pub const ADMIN_LINK_LIFETIME: Duration = Duration::hours(24);

/// "Send Reset Password Link": emails the user a link to set a new password on their workspace.
/// Their sessions end when the link is used; MFA is kept.
pub async fn send_reset_link(
    state: &AppState,
    actor: &crate::server::Actor,
    meta: &RequestMeta,
    user_id: Uuid,
    tenant_id: Uuid,
) -> Result<(), AppError> {
    use super::roles::permission::USERS_SUPPORT;
    super::access::require(actor, USERS_SUPPORT, tenant_id)?;
    let db = &state.db;
    let super::users::Target { tenant, user, .. } = {
        let target = super::users::target(db, user_id, tenant_id).await?;
        // The password is the person's in every workspace of theirs.
        super::access::require_whole_person(db, actor, USERS_SUPPORT, &target).await?;
        if target.signs_in_with_sso() {
            return Err(AppError::conflict(
                "Password reset is not available: this account signs in with SSO.",
            ));
        }
        if matches!(target.status(), MembershipStatus::Pending | MembershipStatus::Disabled) {
            return Err(AppError::conflict(
                "Password reset is not available: the account is not active (resend the invite, or enable access first).",
            ));
        }
        target
    };
    let now = state.clock.now();
    let token = random_token();
    let url = format!(
        "{}/set-password#token={token}",
        state.config.workspace_url(&tenant.slug)
    );
    let txn = super::begin(db).await?;
    new_ticket(
        &txn,
        (user.id, tenant.id),
        &token,
        now + ADMIN_LINK_LIFETIME,
        TicketBy::Admin(actor.user.id),
        now,
    )
    .await?;
    let email = compose(
        &user.email,
        format!("Set a new password for {}", tenant.name),
        &[
            Block::Text(format!(
                "An administrator of {} sent you a link to set a new password for {}:",
                tenant.name, user.email
            )),
            Block::Link {
                label: "Set a new password",
                url: &url,
            },
            Block::Text(
                "The link works once, for 24 hours. If you did not expect it, contact your administrator.".into(),
            ),
        ],
    );
    outbox::enqueue_email(&txn, &state.cipher, Some(tenant.id), &email, now).await?;
    super::audit::record(
        &txn,
        state.clock.as_ref(),
        actor,
        meta,
        super::audit::Change {
            action: "user.password_reset_link_sent",
            target_type: "user",
            target_id: Some(user.id.to_string()),
            tenant_id: Some(tenant.id),
            before: None,
            after: Some(json!({ "expires_at": now + ADMIN_LINK_LIFETIME })),
        },
    )
    .await?;
    txn.commit().await.map_err(db_error)?;
    Ok(())
}
