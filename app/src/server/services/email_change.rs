//! Email change with confirmation (DESIGN.md, "Beyond the seeds"): an admin asks for a new main
//! email; a link goes to the new address; the change applies only when that link is used; the
//! old address is told. Asking again, or "Resend", voids the older link.

use super::access::require;
use super::events::NewEvent;
use super::roles::permission::USERS_MANAGE;
use super::{audit, db_error, events, one_time, outbox};
use crate::AppError;
use crate::domain::Email;
use crate::server::crypto::{random_token, secret_hash};
use crate::server::entities::one_time_secrets::{self, SecretPurpose};
use crate::server::entities::{memberships, tenants, users};
use crate::server::mail::{Block, compose};
use crate::server::{Actor, AppState, Realm, RequestMeta};
use crate::types::{MembershipStatus, PendingEmailChange, SecurityEventType};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use serde_json::json;
use uuid::Uuid;

/// How long the confirmation link works.
pub const LINK_LIFETIME: Duration = Duration::hours(24);

/// The user, and the workspace whose host the link opens on: the first active one by name.
async fn target(state: &AppState, actor: &Actor, user_id: Uuid) -> Result<(users::Model, tenants::Model), AppError> {
    let user = users::Entity::find_by_id(user_id)
        .one(&state.db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| AppError::not_found("No such user."))?;
    let mut homes: Vec<(memberships::Model, tenants::Model)> = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .find_also_related(tenants::Entity)
        .all(&state.db)
        .await
        .map_err(db_error)?
        .into_iter()
        .filter_map(|(m, t)| Some((m, t?)))
        .collect();
    homes.sort_by_key(|(m, t)| (m.status != MembershipStatus::Active.as_str(), t.name.clone()));
    // The email is the user's everywhere: only someone with authority over every one of their
    // workspaces may change it. Checked through a workspace the actor can see, so a person of
    // other workspaces only is "not found".
    let (membership, home) = homes
        .into_iter()
        .find(|(_, t)| !matches!(require(actor, USERS_MANAGE, t.id), Err(AppError::NotFound { .. })))
        .ok_or_else(|| AppError::not_found("No such user."))?;
    let target = super::users::Target {
        tenant: home,
        user,
        membership,
    };
    super::access::require_whole_person(&state.db, actor, USERS_MANAGE, &target).await?;
    let super::users::Target { tenant: home, user, .. } = target;
    Ok((user, home))
}

/// The live confirmation of a user, if one is waiting.
async fn live(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<one_time_secrets::Model>, AppError> {
    let newest = one_time_secrets::Entity::find()
        .filter(one_time_secrets::Column::UserId.eq(user_id))
        .filter(one_time_secrets::Column::Purpose.eq(SecretPurpose::EmailChange))
        .filter(one_time_secrets::Column::SupersededAt.is_null())
        .filter(one_time_secrets::Column::ConsumedAt.is_null())
        .order_by_desc(one_time_secrets::Column::CreatedAt)
        .one(db)
        .await
        .map_err(db_error)?;
    Ok(newest.filter(|s| s.expires_at > now))
}

fn new_address(secret: &one_time_secrets::Model) -> Option<String> {
    secret.data.as_ref()?.get("email")?.as_str().map(str::to_owned)
}

/// The change waiting for confirmation, for the Edit User page.
pub async fn pending(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Option<PendingEmailChange>, AppError> {
    Ok(live(db, user_id, now).await?.and_then(|secret| {
        Some(PendingEmailChange {
            new_email: new_address(&secret)?,
            expires_at: secret.expires_at,
        })
    }))
}

async fn address_taken(db: &impl ConnectionTrait, email: &str, user_id: Uuid) -> Result<bool, AppError> {
    Ok(users::Entity::find()
        .filter(users::Column::Email.eq(email))
        .filter(users::Column::Id.ne(user_id))
        .one(db)
        .await
        .map_err(db_error)?
        .is_some())
}

/// Asks for a new main email: a confirmation link goes to it; nothing changes until it is used.
pub async fn request(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    user_id: Uuid,
    new_email: &str,
) -> Result<PendingEmailChange, AppError> {
    let (user, home) = target(state, actor, user_id).await?;
    let email = Email::parse(new_email, "email")?;
    if email.as_str() == user.email {
        return Err(AppError::invalid("email", "This is already the user's email."));
    }
    if address_taken(&state.db, email.as_str(), user.id).await? {
        return Err(AppError::conflict(format!(
            "Email already used: {} belongs to another account.",
            email.as_str()
        )));
    }
    send_link(
        state,
        actor,
        meta,
        (&user, &home),
        email.as_str(),
        "user.email_change_requested",
    )
    .await
}

/// "Resend": a new link to the address already asked for; the older link stops working.
pub async fn resend(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    user_id: Uuid,
) -> Result<PendingEmailChange, AppError> {
    let (user, home) = target(state, actor, user_id).await?;
    let waiting = live(&state.db, user.id, state.clock.now())
        .await?
        .and_then(|s| new_address(&s))
        .ok_or_else(|| AppError::conflict("No email change is waiting for confirmation."))?;
    send_link(state, actor, meta, (&user, &home), &waiting, "user.email_change_resent").await
}

async fn send_link(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    (user, home): (&users::Model, &tenants::Model),
    email: &str,
    action: &'static str,
) -> Result<PendingEmailChange, AppError> {
    let now = state.clock.now();
    let token = random_token();
    let expires_at = now + LINK_LIFETIME;
    let url = format!("{}/confirm-email#token={token}", state.config.workspace_url(&home.slug));
    let txn = super::begin(&state.db).await?;
    // Links on any workspace's host: a newer request voids them all.
    one_time_secrets::Entity::update_many()
        .col_expr(one_time_secrets::Column::SupersededAt, Expr::value(now))
        .filter(one_time_secrets::Column::UserId.eq(user.id))
        .filter(one_time_secrets::Column::Purpose.eq(SecretPurpose::EmailChange))
        .filter(one_time_secrets::Column::SupersededAt.is_null())
        .filter(one_time_secrets::Column::ConsumedAt.is_null())
        .exec(&txn)
        .await
        .map_err(db_error)?;
    let secret = one_time::NewSecret {
        id: Uuid::now_v7(),
        purpose: SecretPurpose::EmailChange,
        supersedes: &[],
        user_id: user.id,
        tenant_id: home.id,
        secret_hash: secret_hash(&token),
        expires_at,
        failed_attempts: 0,
        created_by: Some(actor.user.id),
        data: Some(json!({ "email": email })),
    };
    one_time::issue(&txn, secret, now).await?;
    let message = compose(
        email,
        format!("Confirm your new email for {}", home.name),
        &[
            Block::Text(format!(
                "Hello {}, {} asked to make {email} the email you sign in with.",
                user.display_name, actor.user.display_name
            )),
            Block::Link {
                label: "Confirm this email",
                url: &url,
            },
            Block::Text(
                "The link works once, for 24 hours. Until it is used, you keep signing in with your current email."
                    .into(),
            ),
        ],
    );
    outbox::enqueue_email(&txn, &state.cipher, Some(home.id), &message, now).await?;
    let change = audit::Change {
        action,
        target_type: "user",
        target_id: Some(user.id.to_string()),
        tenant_id: Some(home.id),
        before: Some(json!({ "email": user.email })),
        after: Some(json!({ "pending_email": email, "expires_at": expires_at })),
    };
    audit::record(&txn, state.clock.as_ref(), actor, meta, change).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(PendingEmailChange {
        new_email: email.to_owned(),
        expires_at,
    })
}

/// The new address confirms: the change applies, the old address is told. Answers the new email.
pub async fn confirm(state: &AppState, realm: &Realm, meta: &RequestMeta, token: &str) -> Result<String, AppError> {
    let now = state.clock.now();
    let expired = || AppError::invalid("token", "This confirmation link expired or was already used.");
    let secret = one_time::find_live(
        &state.db,
        &secret_hash(token),
        &[SecretPurpose::EmailChange],
        realm.tenant.id,
        now,
    )
    .await?
    .ok_or_else(expired)?;
    let email = new_address(&secret).ok_or_else(AppError::internal)?;
    let txn = super::begin(&state.db).await?;
    if !one_time::consume(&txn, secret.id, now).await? {
        return Err(expired());
    }
    let user = users::Entity::find_by_id(secret.user_id)
        .one(&txn)
        .await
        .map_err(db_error)?
        .ok_or_else(expired)?;
    if address_taken(&txn, &email, user.id).await? {
        return Err(AppError::conflict(format!(
            "{email} now belongs to another account. Ask your administrator for help."
        )));
    }
    let old_email = user.email.clone();
    let mut active: users::ActiveModel = user.clone().into();
    active.email = Set(email.clone());
    active.updated_at = Set(now);
    active.update(&txn).await.map_err(db_error)?;
    let notice = compose(
        &old_email,
        "Your sign-in email was changed".into(),
        &[Block::Text(format!(
            "Hello {}, you now sign in to {} with {email} instead of this address. If you did not expect this, contact your administrator now.",
            user.display_name, realm.tenant.name
        ))],
    );
    outbox::enqueue_email(&txn, &state.cipher, Some(realm.tenant.id), &notice, now).await?;
    let event = NewEvent {
        event_type: SecurityEventType::EmailChanged,
        user_id: Some(user.id),
        tenant_id: Some(realm.tenant.id),
        identifier: Some(&email),
        detail: json!({ "from": old_email, "to": email }),
    };
    events::record(&txn, state.clock.as_ref(), meta, event).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(email)
}
