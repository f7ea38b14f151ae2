//! The SMS factor (seed 001): a phone number on the account and a 6-digit code by text
//! message, valid 10 minutes. Provider failures become SMS Failure (the provider refused this
//! message) or MFA Provider Failure (the provider itself failed) events with its status code
//! and message, and a clear message to the user. "It's not my phone number" is recorded as a
//! Not My Number event.

use super::events::{self, NewEvent};
use super::mfa::{OwnFactorChange, finish_enrollment, may_manage_factors, running_cooldown};
use super::one_time::{self, NewSecret};
use super::{db_error, send_throttle};
use crate::AppError;
use crate::domain::PhoneNumber;
use crate::server::crypto::random_u64;
use crate::server::entities::mfa_factors::{self, FactorKind};
use crate::server::entities::one_time_secrets::SecretPurpose;
use crate::server::entities::outbox::{self, OutboxChannel, OutboxStatus};
use crate::server::{Actor, AppState, Realm, RequestMeta};
use crate::types::{MfaOptions, MfaStep, RecoveryCodes, SecurityEventType, SmsSent};
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;
use uuid::Uuid;

pub const CODE_LIFETIME: Duration = Duration::minutes(10);
const MAX_CODE_FAILURES: i32 = 5;

fn code_hash(state: &AppState, secret_id: Uuid, code: &str) -> String {
    state.signer.digest(&format!("sms-code:{secret_id}:{code}"))
}

fn not_configured() -> AppError {
    AppError::conflict("Text messages are not set up on this server. Use an authenticator app instead.")
}

/// Sends a fresh code to `factor`'s number (older codes stop working). Every attempt is an
/// outbox row with its outcome; a failure is an event and a message the user can act on.
async fn send_code(
    state: &AppState,
    realm: &Realm,
    actor: &Actor,
    meta: &RequestMeta,
    (factor, purpose): (&mfa_factors::Model, &str),
) -> Result<SmsSent, AppError> {
    let provider = state.sms.as_ref().ok_or_else(not_configured)?;
    let phone = factor.phone.clone().ok_or_else(AppError::internal)?;
    let now = state.clock.now();
    // 60 s apart and 5 an hour, per user and purpose (setting up a phone, signing in).
    send_throttle::record_send(
        &state.db,
        &format!("sms-{purpose}:{}:{}", actor.user.id.simple(), realm.tenant.id.simple()),
        now,
    )
    .await?;
    let id = Uuid::now_v7();
    let code = format!("{:06}", random_u64() % 1_000_000);
    let body = format!(
        "Your {} sign-in code is {code}. It works for 10 minutes. Never share it.",
        realm.tenant.name
    );
    let secret = NewSecret {
        id,
        purpose: SecretPurpose::SmsCode,
        supersedes: &[SecretPurpose::SmsCode],
        user_id: actor.user.id,
        tenant_id: realm.tenant.id,
        secret_hash: code_hash(state, id, &code),
        expires_at: now + CODE_LIFETIME,
        failed_attempts: 0,
        created_by: None,
        data: Some(json!({ "factor_id": factor.id })),
    };
    one_time::issue(&state.db, secret, now).await?;
    let result = provider.send(&phone, &body).await;
    outbox::ActiveModel {
        id: Set(Uuid::now_v7()),
        channel: Set(OutboxChannel::Sms.into()),
        tenant_id: Set(Some(realm.tenant.id)),
        recipient: Set(phone.clone()),
        subject: Set(None),
        body_text_enc: Set(state.cipher.seal(body.as_bytes())),
        body_html_enc: Set(None),
        status: Set(if result.is_ok() {
            OutboxStatus::Sent.into()
        } else {
            OutboxStatus::Failed.into()
        }),
        attempts: Set(1),
        next_attempt_at: Set(now),
        last_error: Set(result.as_ref().err().map(|e| e.message.chars().take(500).collect())),
        created_at: Set(now),
        sent_at: Set(result.is_ok().then_some(now)),
    }
    .insert(&state.db)
    .await
    .map_err(db_error)?;
    if let Err(error) = result {
        let event_type = if error.is_refusal() {
            SecurityEventType::SmsFailure
        } else {
            SecurityEventType::MfaProviderFailure
        };
        let event = NewEvent {
            event_type,
            user_id: Some(actor.user.id),
            tenant_id: Some(realm.tenant.id),
            identifier: None,
            detail: json!({ "status": error.status, "message": error.message, "factor_id": factor.id }),
        };
        let reference = events::record(&state.db, state.clock.as_ref(), meta, event).await?;
        let said = match error.status {
            Some(status) => format!("the SMS provider answered {status}: {}", error.message),
            None => error.message.clone(),
        };
        return Err(AppError::Internal {
            message: format!(
                "We could not send the text message ({said}). Try again in a minute, or use your authenticator app or a recovery code."
            ),
            reference: Some(reference.to_string()),
        });
    }
    Ok(SmsSent {
        factor_id: factor.id,
        masked_phone: PhoneNumber::masked(&phone),
        resend_after_secs: send_throttle::MIN_INTERVAL.num_seconds() as u64,
    })
}

async fn sms_factor(state: &AppState, user_id: Uuid) -> Result<Option<mfa_factors::Model>, AppError> {
    mfa_factors::Entity::find()
        .filter(mfa_factors::Column::UserId.eq(user_id))
        .filter(mfa_factors::Column::Kind.eq(FactorKind::Sms.as_str()))
        .filter(mfa_factors::Column::ConfirmedAt.is_not_null())
        .one(&state.db)
        .await
        .map_err(db_error)
}

/// What the MFA step offers this user.
pub async fn options(state: &AppState, actor: &Actor) -> Result<MfaOptions, AppError> {
    let factors = super::mfa::confirmed_factors(&state.db, actor.user.id).await?;
    let sms_phone = factors
        .iter()
        .find(|f| f.kind == FactorKind::Sms.as_str())
        .and_then(|f| f.phone.as_deref())
        .filter(|_| state.sms.is_some())
        .map(PhoneNumber::masked);
    Ok(MfaOptions {
        totp: factors.iter().any(|f| f.kind == FactorKind::Totp.as_str()),
        sms_phone,
    })
}

/// "Text me a code" on the MFA step.
pub async fn send_sign_in_code(
    state: &AppState,
    realm: &Realm,
    actor: &Actor,
    meta: &RequestMeta,
) -> Result<SmsSent, AppError> {
    if actor.mfa_step != Some(MfaStep::Verify) {
        return Err(AppError::conflict("This session needs no code."));
    }
    if let Some(until) = running_cooldown(&state.db, &actor.membership, state.clock.now()).await? {
        return Err(super::mfa::cooldown_error(until));
    }
    let factor = sms_factor(state, actor.user.id)
        .await?
        .ok_or_else(|| AppError::conflict("There is no phone number for text messages on this account."))?;
    send_code(state, realm, actor, meta, (&factor, "sign-in")).await
}

/// Whether `code` is the live text-message code of this user here; a wrong one counts against
/// it, and after 5 it is void.
pub(super) async fn code_matches(
    state: &AppState,
    actor: &Actor,
    code: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let Some(secret) = one_time::newest(&state.db, actor.user.id, actor.tenant.id, SecretPurpose::SmsCode).await?
    else {
        return Ok(false);
    };
    if secret.consumed_at.is_some() || secret.expires_at <= now || secret.failed_attempts >= MAX_CODE_FAILURES {
        return Ok(false);
    }
    if code_hash(state, secret.id, code) != secret.secret_hash {
        one_time::count_failure(&state.db, secret.id).await?;
        return Ok(false);
    }
    one_time::consume(&state.db, secret.id, now).await
}

/// "Add phone": the number is kept unconfirmed and a code is sent to it.
pub async fn start(
    state: &AppState,
    realm: &Realm,
    actor: &Actor,
    meta: &RequestMeta,
    (phone, password): (&str, String),
) -> Result<SmsSent, AppError> {
    let phone = PhoneNumber::parse(phone)?;
    super::mfa::may_add_factor(state, actor, meta, password).await?;
    if state.sms.is_none() {
        return Err(not_configured());
    }
    let now = state.clock.now();
    let txn = super::begin(&state.db).await?;
    mfa_factors::Entity::delete_many()
        .filter(mfa_factors::Column::UserId.eq(actor.user.id))
        .filter(mfa_factors::Column::Kind.eq(FactorKind::Sms.as_str()))
        .filter(mfa_factors::Column::ConfirmedAt.is_null())
        .exec(&txn)
        .await
        .map_err(db_error)?;
    let factor = mfa_factors::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(actor.user.id),
        kind: Set(FactorKind::Sms.into()),
        label: Set(format!("Text message to {}", PhoneNumber::masked(phone.as_str()))),
        secret_enc: Set(None),
        phone: Set(Some(phone.as_str().to_owned())),
        last_used_step: Set(None),
        confirmed_at: Set(None),
        created_at: Set(now),
        enrolled_tenant_id: Set(Some(actor.tenant.id)),
    }
    .insert(&txn)
    .await
    .map_err(db_error)?;
    txn.commit().await.map_err(db_error)?;
    send_code(state, realm, actor, meta, (&factor, "setup")).await
}

/// Confirms a new phone with the code sent to it.
pub async fn confirm(
    state: &AppState,
    realm: &Realm,
    actor: &Actor,
    meta: &RequestMeta,
    factor_id: Uuid,
    code: &str,
) -> Result<(RecoveryCodes, Option<String>), AppError> {
    may_manage_factors(actor)?;
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::invalid(
            "code",
            "Enter the 6-digit code from the text message.",
        ));
    }
    let now = state.clock.now();
    let factor = mfa_factors::Entity::find_by_id(factor_id)
        .one(&state.db)
        .await
        .map_err(db_error)?
        .filter(|f| f.user_id == actor.user.id && f.confirmed_at.is_none() && f.kind == FactorKind::Sms.as_str())
        .ok_or_else(|| AppError::invalid("code", "This set-up has expired. Start again."))?;
    if !code_matches(state, actor, &code, now).await? {
        return Err(AppError::invalid(
            "code",
            "That code is not right, or it expired. Check the newest text message, or send a new code.",
        ));
    }
    let txn = super::begin(&state.db).await?;
    let mut active: mfa_factors::ActiveModel = factor.into();
    active.confirmed_at = Set(Some(now));
    active.update(&txn).await.map_err(db_error)?;
    let change = OwnFactorChange {
        event_type: SecurityEventType::MfaEnrolled,
        detail: json!({ "factor": "sms", "factor_id": factor_id }),
        subject: "A phone number was added",
        what: "A phone number was added to your account for multi-factor authentication by text message.",
    };
    let codes = finish_enrollment(&txn, state, (realm, actor, meta), change).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(codes)
}

/// "It's not my phone number": recorded for the admins. Returns the support reference the
/// user quotes when they contact them.
pub async fn not_my_number(
    state: &AppState,
    realm: &Realm,
    actor: &Actor,
    meta: &RequestMeta,
) -> Result<String, AppError> {
    let factor = sms_factor(state, actor.user.id).await?;
    let event = NewEvent {
        event_type: SecurityEventType::NotMyNumber,
        user_id: Some(actor.user.id),
        tenant_id: Some(realm.tenant.id),
        identifier: None,
        detail: json!({ "factor_id": factor.as_ref().map(|f| f.id), "phone_tail": factor.and_then(|f| f.phone).map(|p| PhoneNumber::masked(&p)) }),
    };
    Ok(events::record(&state.db, state.clock.as_ref(), meta, event)
        .await?
        .to_string())
}
