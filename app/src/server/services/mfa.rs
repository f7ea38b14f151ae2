//! Multi-factor authentication (DESIGN.md, "MFA verification", "TOTP", "recovery codes", "MFA
//! enforcement"; seeds 001, 002, 004): TOTP (SHA-1, 6 digits, 30 s, ±1 step, each step
//! accepted once) with secrets sealed at rest, 10 single-use recovery codes, and the cooldown
//! and lock that stop guessing: 5 wrong codes start a 1 hour cooldown, 3 cooldowns within
//! 24 hours lock the account.

use super::events::{self, NewEvent};
use super::throttle::{self, Admission, CodeFactor, FailureOutcome, ThrottleKey};
use super::{db_error, outbox, sessions};
use crate::server::crypto::random_bytes;
use crate::server::entities::mfa_factors::{self, FactorKind};
use crate::server::entities::{memberships, recovery_codes, security_events, tenants};
use crate::server::mail::{Block, compose};
use crate::server::{Actor, AppState, Realm, RequestMeta};
use crate::types::{
    MembershipStatus, MfaFactorSummary, MfaStep, MyMfa, RecoveryCodes, SecurityEventType, TotpEnrollment,
};
use crate::{AppError, AuthFailure};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::json;
use uuid::Uuid;

/// DESIGN.md, "MFA verification".
pub const MAX_FAILURES: i32 = 5;
pub const COOLDOWN: Duration = super::throttle::FACTOR_PAUSE;
pub const COOLDOWNS_BEFORE_LOCK: u64 = 3;
pub const COOLDOWN_WINDOW: Duration = Duration::hours(24);
/// DESIGN.md, "recovery codes".
pub const RECOVERY_CODE_COUNT: usize = 10;
const STEP_SECONDS: i64 = 30;
/// Upper-case letters and digits without look-alikes: recovery codes are typed from paper.
const RECOVERY_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// The authenticator for a stored secret. The issuer names the workspace and its host, so an
/// old entry in the app is easy to tell apart (seed 002).
fn totp(secret: Vec<u8>, issuer: &str, account: &str) -> Result<totp_rs::Totp, AppError> {
    totp_rs::Builder::new()
        .with_secret(secret)
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build()
        .map_err(|error| {
            tracing::error!(%error, "TOTP parameters refused");
            AppError::internal()
        })
}

fn issuer(state: &AppState, tenant: &tenants::Model) -> String {
    // `:` is not allowed in an issuer, so the port is left out.
    let host = state.config.base_domain.split(':').next().unwrap_or_default();
    format!("{} ({}.{host})", tenant.name, tenant.slug)
}

/// The TOTP time step a code of `now` belongs to.
pub fn step_at(now: DateTime<Utc>) -> i64 {
    now.timestamp().div_euclid(STEP_SECONDS)
}

/// The step a 6-digit code matches within ±1 step of `now`, if any.
pub fn matching_step(secret: &[u8], code: &str, now: DateTime<Utc>) -> Option<i64> {
    let totp = totp_rs::Builder::new().with_secret(secret.to_vec()).build().ok()?;
    let seconds = u64::try_from(now.timestamp()).ok()?;
    totp.check(code, seconds)
        .and_then(|counter| i64::try_from(counter).ok())
}

/// The raw secret behind the base32 text the set-up page shows.
pub fn secret_from_base32(text: &str) -> Option<Vec<u8>> {
    totp_rs::Secret::try_from_base32(text).ok().map(|s| s.as_ref().to_vec())
}

/// The 6-digit code of a secret at `now` (for tests and the demo).
pub fn code_at(secret: &[u8], now: DateTime<Utc>) -> String {
    let totp = totp_rs::Builder::new()
        .with_secret(secret.to_vec())
        .build_noncompliant();
    totp.generate(u64::try_from(now.timestamp()).unwrap_or_default())
        .to_string()
}

fn recovery_code_hash(state: &AppState, user_id: Uuid, code: &str) -> String {
    state.signer.digest(&format!("recovery-code:{user_id}:{code}"))
}

fn new_recovery_code() -> String {
    let bytes = random_bytes::<8>();
    let chars: String = bytes
        .iter()
        .map(|b| RECOVERY_ALPHABET[(*b as usize) % RECOVERY_ALPHABET.len()] as char)
        .collect();
    format!("{}-{}", &chars[..4], &chars[4..])
}

/// What a code the user typed looks like, after spaces and dashes are dropped.
pub enum CodeShape {
    Totp(String),
    Recovery(String),
}

pub fn parse_code(input: &str) -> Result<CodeShape, AppError> {
    let code: String = input
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect::<String>()
        .to_ascii_uppercase();
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(CodeShape::Totp(code));
    }
    if code.len() == 8 && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)) {
        return Ok(CodeShape::Recovery(code));
    }
    Err(AppError::invalid(
        "code",
        "Enter the 6-digit code from your authenticator app, or one of your recovery codes (like ABCD-EFGH).",
    ))
}

pub async fn confirmed_factors(db: &impl ConnectionTrait, user_id: Uuid) -> Result<Vec<mfa_factors::Model>, AppError> {
    mfa_factors::Entity::find()
        .filter(mfa_factors::Column::UserId.eq(user_id))
        .filter(mfa_factors::Column::ConfirmedAt.is_not_null())
        .order_by_asc(mfa_factors::Column::CreatedAt)
        .all(db)
        .await
        .map_err(db_error)
}

/// What a session that has not passed MFA must still do on this workspace, if anything: a code
/// when the person has a factor, else setting one up where the workspace enforces MFA or the
/// membership was told to (re-)enroll.
pub async fn pending_step(
    db: &impl ConnectionTrait,
    (user_id, membership): (Uuid, &memberships::Model),
    tenant: &tenants::Model,
) -> Result<Option<MfaStep>, AppError> {
    let has_factor = mfa_factors::Entity::find()
        .filter(mfa_factors::Column::UserId.eq(user_id))
        .filter(mfa_factors::Column::ConfirmedAt.is_not_null())
        .count(db)
        .await
        .map_err(db_error)?
        > 0;
    Ok(if has_factor {
        Some(MfaStep::Verify)
    } else if tenant.is_mfa_enforced || membership.mfa_enrollment_required {
        Some(MfaStep::Enroll)
    } else {
        None
    })
}

/// The membership's next sign-in sets up a factor first, whether or not its workspace enforces
/// MFA (seed 000: after an MFA reset "it will prompt them to re-enroll").
pub(super) async fn require_enrollment(db: &impl ConnectionTrait, membership_id: Uuid) -> Result<(), AppError> {
    memberships::Entity::update_many()
        .col_expr(memberships::Column::MfaEnrollmentRequired, Expr::value(true))
        .filter(memberships::Column::Id.eq(membership_id))
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// The session has passed MFA: a new token for it (see [`super::sessions::elevate`]), as the
/// cookie to set.
pub(super) async fn mark_session_verified(
    db: &impl ConnectionTrait,
    state: &AppState,
    actor: &Actor,
) -> Result<Option<String>, AppError> {
    match actor.session_id {
        Some(session_id) => Ok(Some(
            super::sessions::elevate(db, session_id, state.config.secure_cookies).await?,
        )),
        None => Ok(None),
    }
}

pub(super) fn cooldown_error(until: DateTime<Utc>) -> AppError {
    AppError::forbidden(format!(
        "Too many wrong codes. Multi-factor verification is paused until {} UTC; try again then, or ask your administrator to reset the cooldown.",
        until.format("%Y-%m-%d %H:%M")
    ))
}

/// The running cooldown of a membership, clearing one that has ended.
pub(super) async fn running_cooldown(
    db: &impl ConnectionTrait,
    membership: &memberships::Model,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, AppError> {
    match membership.cooldown_until {
        Some(until) if until > now => Ok(Some(until)),
        Some(_) => {
            memberships::Entity::update_many()
                .col_expr(
                    memberships::Column::CooldownUntil,
                    Expr::value(Option::<DateTime<Utc>>::None),
                )
                .col_expr(
                    memberships::Column::Status,
                    Expr::value(MembershipStatus::Active.as_str()),
                )
                .filter(memberships::Column::Id.eq(membership.id))
                .filter(memberships::Column::Status.eq(MembershipStatus::Cooldown.as_str()))
                .exec(db)
                .await
                .map_err(db_error)?;
            Ok(None)
        }
        None => Ok(None),
    }
}

/// A wrong code, already counted against the factors it was compared with: an Invalid Code
/// event, and the wrong codes shown on this membership. When the count paused a factor
/// (`paused`), this workspace's cooldown starts, and the person's third cooldown within 24 hours
/// locks the account here and ends its sessions. Returns the error to show.
async fn record_failure(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    detail: serde_json::Value,
    paused: Option<DateTime<Utc>>,
) -> Result<AppError, AppError> {
    let db = &state.db;
    let now = state.clock.now();
    let membership_id = actor.membership.id;
    memberships::Entity::update_many()
        .col_expr(
            memberships::Column::MfaFailedAttempts,
            Expr::col(memberships::Column::MfaFailedAttempts).add(1),
        )
        .filter(memberships::Column::Id.eq(membership_id))
        .exec(db)
        .await
        .map_err(db_error)?;
    let event = NewEvent {
        event_type: SecurityEventType::InvalidCode,
        user_id: Some(actor.user.id),
        tenant_id: Some(actor.tenant.id),
        identifier: None,
        detail,
    };
    let reference = events::record(db, state.clock.as_ref(), meta, event).await?;
    let Some(until) = paused else {
        return Ok(AppError::Validation {
            message: format!("That code is not right. (Ref {reference})"),
            fields: [("code".to_owned(), vec!["That code is not right.".to_owned()])].into(),
        });
    };
    let txn = super::begin(db).await?;
    memberships::Entity::update_many()
        .col_expr(
            memberships::Column::Status,
            Expr::value(MembershipStatus::Cooldown.as_str()),
        )
        .col_expr(memberships::Column::CooldownUntil, Expr::value(until))
        .col_expr(memberships::Column::MfaFailedAttempts, Expr::value(0))
        .filter(memberships::Column::Id.eq(membership_id))
        .exec(&txn)
        .await
        .map_err(db_error)?;
    let event = NewEvent {
        event_type: SecurityEventType::CooldownActivated,
        user_id: Some(actor.user.id),
        tenant_id: Some(actor.tenant.id),
        identifier: None,
        detail: json!({ "until": until, "failures": MAX_FAILURES }),
    };
    events::record(&txn, state.clock.as_ref(), meta, event).await?;
    // The factors are the person's, and so are their cooldowns, wherever they started.
    let recent_cooldowns = security_events::Entity::find()
        .filter(security_events::Column::UserId.eq(actor.user.id))
        .filter(security_events::Column::EventType.eq(SecurityEventType::CooldownActivated.as_str()))
        .filter(security_events::Column::OccurredAt.gt(now - COOLDOWN_WINDOW))
        .count(&txn)
        .await
        .map_err(db_error)?;
    if recent_cooldowns < COOLDOWNS_BEFORE_LOCK {
        txn.commit().await.map_err(db_error)?;
        return Ok(cooldown_error(until));
    }
    memberships::Entity::update_many()
        .col_expr(
            memberships::Column::Status,
            Expr::value(MembershipStatus::Locked.as_str()),
        )
        .col_expr(
            memberships::Column::LockedReason,
            Expr::value("3 MFA cooldowns within 24 hours"),
        )
        .col_expr(
            memberships::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .col_expr(
            memberships::Column::CooldownUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(memberships::Column::Id.eq(membership_id))
        .exec(&txn)
        .await
        .map_err(db_error)?;
    let ended = sessions::revoke_all_for_user(&txn, actor.user.id).await?;
    let event = NewEvent {
        event_type: SecurityEventType::AccountLock,
        user_id: Some(actor.user.id),
        tenant_id: Some(actor.tenant.id),
        identifier: None,
        detail: json!({ "reason": "mfa_cooldowns", "cooldowns": recent_cooldowns, "sessions_ended": ended }),
    };
    let reference = events::record(&txn, state.clock.as_ref(), meta, event).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(AppError::auth(AuthFailure::Locked).with_reference(reference.to_string()))
}

/// The second step of signing in: a TOTP code or a recovery code.
/// A right code (or recovery code) passes MFA; the answer is the renewed session cookie.
pub async fn verify(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    input: &str,
) -> Result<Option<String>, AppError> {
    if actor.mfa_step != Some(MfaStep::Verify) {
        return Err(AppError::conflict("This session needs no code."));
    }
    check_code(state, actor, meta, input).await?;
    let txn = super::begin(&state.db).await?;
    let cookie = mark_session_verified(&txn, state, actor).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(cookie)
}

/// A person proving, outside a session, that a second factor of theirs is in their hands (an
/// invite to one more workspace): the same checks, counting and cooldown as at sign-in, on the
/// membership of `target`.
pub(super) async fn prove_second_factor(
    state: &AppState,
    target: &super::users::Target,
    meta: &RequestMeta,
    input: &str,
) -> Result<(), AppError> {
    let role = crate::server::entities::roles::Entity::find_by_id(target.membership.role_id)
        .one(&state.db)
        .await
        .map_err(db_error)?
        .ok_or_else(AppError::internal)?;
    let actor = Actor {
        user: target.user.clone(),
        membership: target.membership.clone(),
        role,
        tenant: target.tenant.clone(),
        session_id: None,
        token_id: None,
        mfa_step: Some(MfaStep::Verify),
        impersonator_id: None,
    };
    check_code(state, &actor, meta, input).await
}

/// The factors a code of this shape may belong to: a 6-digit code is compared with the
/// person's authenticator app and their last texted code, a recovery code with their recovery
/// codes. A 6-digit guess at a person with neither still spends the authenticator's budget.
fn candidates(shape: &CodeShape, confirmed: &[mfa_factors::Model]) -> Vec<CodeFactor> {
    if let CodeShape::Recovery(_) = shape {
        return vec![CodeFactor::RecoveryCode];
    }
    let has = |kind: FactorKind| confirmed.iter().any(|f| f.kind == kind.as_str());
    let mut factors = Vec::with_capacity(2);
    if has(FactorKind::Totp) || !has(FactorKind::Sms) {
        factors.push(CodeFactor::Totp);
    }
    if has(FactorKind::Sms) {
        factors.push(CodeFactor::Sms);
    }
    factors
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Compared {
    Accepted,
    Replayed,
    Wrong,
}

/// Compares a code with the factors a try was taken from.
async fn compare(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    (shape, confirmed, admitted): (&CodeShape, &[mfa_factors::Model], &[CodeFactor]),
    now: DateTime<Utc>,
) -> Result<Compared, AppError> {
    let code = match shape {
        CodeShape::Recovery(code) => {
            let used = use_recovery_code(state, actor, meta, code, now).await?;
            return Ok(if used { Compared::Accepted } else { Compared::Wrong });
        }
        CodeShape::Totp(code) => code,
    };
    let mut compared = Compared::Wrong;
    if admitted.contains(&CodeFactor::Totp) {
        compared = check_totp(state, actor, meta, (confirmed, code), now).await?;
    }
    if compared != Compared::Accepted
        && admitted.contains(&CodeFactor::Sms)
        && super::sms_factor::code_matches(state, actor, code, now).await?
    {
        compared = Compared::Accepted;
    }
    Ok(compared)
}

/// Checks a TOTP, texted or recovery code of the actor's. Refused while this workspace's
/// cooldown runs; otherwise each factor the code may belong to gives one try of its budget
/// *before* the code is compared, in one conditional UPDATE, so parallel guesses get no more
/// comparisons than the budget holds, on any number of workspaces. A wrong code keeps its tries
/// spent; a right one clears the count.
async fn check_code(state: &AppState, actor: &Actor, meta: &RequestMeta, input: &str) -> Result<(), AppError> {
    let shape = parse_code(input)?;
    let db = &state.db;
    let now = state.clock.now();
    if let Some(until) = running_cooldown(db, &actor.membership, now).await? {
        return Err(cooldown_error(until));
    }
    let confirmed = confirmed_factors(db, actor.user.id).await?;
    let key = |factor: CodeFactor| ThrottleKey::factor(actor.user.id, factor);
    let mut admitted = Vec::new();
    let mut paused_until = None;
    for factor in candidates(&shape, &confirmed) {
        match throttle::admit(db, &key(factor), actor.tenant.id, || state.clock.now()).await? {
            Admission::Admitted => admitted.push(factor),
            Admission::Locked { until } => paused_until = Ord::max(paused_until, Some(until)),
        }
    }
    let Some(first) = admitted.first().copied() else {
        return Err(cooldown_error(paused_until.unwrap_or(now)));
    };
    let compared = match compare(state, actor, meta, (&shape, &confirmed, &admitted), now).await {
        Ok(compared) => compared,
        Err(error) => {
            for factor in &admitted {
                throttle::release(db, &key(*factor)).await?;
            }
            return Err(error);
        }
    };
    if compared == Compared::Accepted {
        for factor in &admitted {
            throttle::record_success(db, &key(*factor), state.clock.now()).await?;
        }
        memberships::Entity::update_many()
            .col_expr(memberships::Column::MfaFailedAttempts, Expr::value(0))
            .filter(memberships::Column::Id.eq(actor.membership.id))
            .exec(db)
            .await
            .map_err(db_error)?;
        return Ok(());
    }
    let mut paused = None;
    for factor in &admitted {
        let outcome = throttle::record_failure(db, &key(*factor), state.clock.now()).await?;
        if let FailureOutcome::LockedNow { until } = outcome {
            paused = Some(until);
        }
    }
    let replay = compared == Compared::Replayed;
    let detail = json!({ "factor": first.as_str(), "replay": replay });
    let error = record_failure(state, actor, meta, detail, paused).await?;
    Err(match error {
        AppError::Validation { .. } if replay => AppError::invalid(
            "code",
            "This code was already used. Wait for the next code in your app.",
        ),
        other => other,
    })
}

async fn check_totp(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    (confirmed, code): (&[mfa_factors::Model], &str),
    now: DateTime<Utc>,
) -> Result<Compared, AppError> {
    for factor in confirmed {
        if factor.kind != FactorKind::Totp.as_str() {
            continue;
        }
        let Some(secret) = factor.secret_enc.as_deref().and_then(|s| state.cipher.open(s)) else {
            tracing::error!(factor_id = %factor.id, "a TOTP secret could not be decrypted");
            continue;
        };
        let Some(step) = matching_step(&secret, code, now) else {
            continue;
        };
        // Each step is accepted once, even by parallel requests: the update wins only while
        // the stored step is older.
        let claimed = mfa_factors::Entity::update_many()
            .col_expr(mfa_factors::Column::LastUsedStep, Expr::value(step))
            .filter(mfa_factors::Column::Id.eq(factor.id))
            .filter(
                mfa_factors::Column::LastUsedStep
                    .is_null()
                    .or(mfa_factors::Column::LastUsedStep.lt(step)),
            )
            .exec(&state.db)
            .await
            .map_err(db_error)?
            .rows_affected
            == 1;
        if claimed {
            return Ok(Compared::Accepted);
        }
        let event = NewEvent {
            event_type: SecurityEventType::TotpReplay,
            user_id: Some(actor.user.id),
            tenant_id: Some(actor.tenant.id),
            identifier: None,
            detail: json!({ "factor_id": factor.id, "step": step }),
        };
        events::record(&state.db, state.clock.as_ref(), meta, event).await?;
        return Ok(Compared::Replayed);
    }
    Ok(Compared::Wrong)
}

async fn use_recovery_code(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    code: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let hash = recovery_code_hash(state, actor.user.id, code);
    let used = recovery_codes::Entity::update_many()
        .col_expr(recovery_codes::Column::UsedAt, Expr::value(now))
        .filter(recovery_codes::Column::UserId.eq(actor.user.id))
        .filter(recovery_codes::Column::CodeHash.eq(hash))
        .filter(recovery_codes::Column::UsedAt.is_null())
        .exec(&state.db)
        .await
        .map_err(db_error)?
        .rows_affected
        == 1;
    if used {
        let left = unused_recovery_codes(&state.db, actor.user.id).await?;
        let event = NewEvent {
            event_type: SecurityEventType::RecoveryCodeUsed,
            user_id: Some(actor.user.id),
            tenant_id: Some(actor.tenant.id),
            identifier: None,
            detail: json!({ "codes_left": left }),
        };
        events::record(&state.db, state.clock.as_ref(), meta, event).await?;
    }
    Ok(used)
}

pub(super) async fn unused_recovery_codes(db: &impl ConnectionTrait, user_id: Uuid) -> Result<u64, AppError> {
    recovery_codes::Entity::find()
        .filter(recovery_codes::Column::UserId.eq(user_id))
        .filter(recovery_codes::Column::UsedAt.is_null())
        .count(db)
        .await
        .map_err(db_error)
}

/// Replaces every recovery code of the user with 10 new ones; returns them in clear, once.
pub(super) async fn new_recovery_codes(
    db: &impl ConnectionTrait,
    state: &AppState,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<String>, AppError> {
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::UserId.eq(user_id))
        .exec(db)
        .await
        .map_err(db_error)?;
    let codes: Vec<String> = (0..RECOVERY_CODE_COUNT).map(|_| new_recovery_code()).collect();
    let rows = codes.iter().map(|code| recovery_codes::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(user_id),
        code_hash: Set(recovery_code_hash(state, user_id, &code.replace('-', ""))),
        used_at: Set(None),
        created_at: Set(now),
    });
    recovery_codes::Entity::insert_many(rows)
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(codes)
}

/// Changes to one's own sign-in methods: never while an admin impersonates the user (the
/// admin would hold the factor), nor on a session still owing its MFA code.
pub(super) fn may_manage_factors(actor: &Actor) -> Result<(), AppError> {
    super::impersonation::refuse_while_impersonating(actor)?;
    match actor.mfa_step {
        Some(MfaStep::Verify) => Err(AppError::auth(AuthFailure::MfaRequired)),
        _ => Ok(()),
    }
}

/// How recently an account without a password must have signed in through its workspace's
/// SSO to change its sign-in methods: the provider's sign-in is its only proof.
pub const FRESH_SIGN_IN: Duration = Duration::minutes(5);

/// Adding any factor, the first one included, needs the password again, so a stolen or
/// borrowed session cannot plant a factor of its own that then gates every workspace of the
/// person.
pub(super) async fn may_add_factor(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    password: String,
) -> Result<(), AppError> {
    may_manage_factors(actor)?;
    reauthenticate(state, actor, meta, password).await
}

/// "Set up MFA": a new authenticator secret, unconfirmed until its first code.
pub async fn start_totp(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    password: String,
) -> Result<TotpEnrollment, AppError> {
    may_add_factor(state, actor, meta, password).await?;
    let db = &state.db;
    let now = state.clock.now();
    let secret = random_bytes::<20>().to_vec();
    let issuer = issuer(state, &actor.tenant);
    let account = actor.user.email.clone();
    let authenticator = totp(secret.clone(), &issuer, &account)?;
    let url = authenticator.to_url().map_err(|error| {
        tracing::error!(%error, "otpauth URL");
        AppError::internal()
    })?;
    let qr = authenticator.to_qr_base64().map_err(|error| {
        tracing::error!(%error, "QR code");
        AppError::internal()
    })?;
    let txn = super::begin(db).await?;
    // An abandoned set-up leaves nothing behind once a new one starts.
    mfa_factors::Entity::delete_many()
        .filter(mfa_factors::Column::UserId.eq(actor.user.id))
        .filter(mfa_factors::Column::ConfirmedAt.is_null())
        .exec(&txn)
        .await
        .map_err(db_error)?;
    let factor = mfa_factors::ActiveModel {
        id: Set(Uuid::now_v7()),
        user_id: Set(actor.user.id),
        kind: Set(FactorKind::Totp.into()),
        label: Set("Authenticator app".into()),
        secret_enc: Set(Some(state.cipher.seal(&secret))),
        phone: Set(None),
        last_used_step: Set(None),
        confirmed_at: Set(None),
        created_at: Set(now),
        enrolled_tenant_id: Set(Some(actor.tenant.id)),
    }
    .insert(&txn)
    .await
    .map_err(db_error)?;
    txn.commit().await.map_err(db_error)?;
    Ok(TotpEnrollment {
        factor_id: factor.id,
        secret: totp_rs::Secret::from(secret).to_base32(),
        otpauth_url: url,
        qr_png_base64: qr,
        issuer,
        account,
    })
}

/// Confirms a new authenticator with its first code. The first factor comes with 10 recovery
/// codes (returned once) and passes this session's MFA step; the user is told by email.
pub async fn confirm_totp(
    state: &AppState,
    realm: &Realm,
    actor: &Actor,
    meta: &RequestMeta,
    factor_id: Uuid,
    input: &str,
) -> Result<(RecoveryCodes, Option<String>), AppError> {
    may_manage_factors(actor)?;
    let CodeShape::Totp(code) = parse_code(input)? else {
        return Err(AppError::invalid(
            "code",
            "Enter the 6-digit code your authenticator app shows.",
        ));
    };
    let db = &state.db;
    let now = state.clock.now();
    let expired = || AppError::invalid("code", "This set-up has expired. Start again.");
    let factor = mfa_factors::Entity::find_by_id(factor_id)
        .one(db)
        .await
        .map_err(db_error)?
        .filter(|f| f.user_id == actor.user.id && f.confirmed_at.is_none())
        .ok_or_else(expired)?;
    let secret = factor
        .secret_enc
        .as_deref()
        .and_then(|s| state.cipher.open(s))
        .ok_or_else(expired)?;
    let Some(step) = matching_step(&secret, &code, now) else {
        return Err(AppError::invalid(
            "code",
            "That code is not right. Check that your device's clock is correct and enter the newest code.",
        ));
    };
    let txn = super::begin(db).await?;
    let mut active: mfa_factors::ActiveModel = factor.into();
    active.confirmed_at = Set(Some(now));
    active.last_used_step = Set(Some(step));
    active.update(&txn).await.map_err(db_error)?;
    let change = OwnFactorChange {
        event_type: SecurityEventType::MfaEnrolled,
        detail: json!({ "factor": "totp", "factor_id": factor_id }),
        subject: "An authenticator app was added",
        what: "An authenticator app was added to your account for multi-factor authentication.",
    };
    let codes = finish_enrollment(&txn, state, (realm, actor, meta), change).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(codes)
}

/// A change to one's own factors as it is recorded: its security event, and the email that
/// tells the user (`subject`, then `what` happened).
pub(super) struct OwnFactorChange<'a> {
    pub event_type: SecurityEventType,
    pub detail: serde_json::Value,
    pub subject: &'a str,
    pub what: &'a str,
}

pub(super) async fn record_own_change(
    db: &impl ConnectionTrait,
    state: &AppState,
    (realm, actor, meta): (&Realm, &Actor, &RequestMeta),
    change: OwnFactorChange<'_>,
) -> Result<(), AppError> {
    let event = NewEvent {
        event_type: change.event_type,
        user_id: Some(actor.user.id),
        tenant_id: Some(realm.tenant.id),
        identifier: None,
        detail: change.detail,
    };
    events::record(db, state.clock.as_ref(), meta, event).await?;
    let user = &actor.user;
    let url = state.config.workspace_url(realm.label());
    let email = compose(
        &user.email,
        format!("{} ({})", change.subject, realm.tenant.name),
        &[
            Block::Text(format!(
                "{} Account: {} on {} ({url}).",
                change.what, user.email, realm.tenant.name
            )),
            Block::Text("If this was not you, contact your administrator at once.".into()),
        ],
    );
    outbox::enqueue_email(db, &state.cipher, Some(realm.tenant.id), &email, state.clock.now()).await?;
    Ok(())
}

/// The end of setting up a factor: the first one comes with recovery codes (returned once),
/// this session has passed MFA (with a new token, returned as its cookie), and the change is
/// recorded and told.
pub(super) async fn finish_enrollment(
    db: &impl ConnectionTrait,
    state: &AppState,
    who: (&Realm, &Actor, &RequestMeta),
    change: OwnFactorChange<'_>,
) -> Result<(RecoveryCodes, Option<String>), AppError> {
    let actor = who.1;
    let codes = if unused_recovery_codes(db, actor.user.id).await? > 0 {
        Vec::new()
    } else {
        new_recovery_codes(db, state, actor.user.id, state.clock.now()).await?
    };
    let cookie = mark_session_verified(db, state, actor).await?;
    // The person has a factor now: whatever asked them to enroll is done, on every workspace.
    memberships::Entity::update_many()
        .col_expr(memberships::Column::MfaEnrollmentRequired, Expr::value(false))
        .filter(memberships::Column::UserId.eq(actor.user.id))
        .filter(memberships::Column::MfaEnrollmentRequired.eq(true))
        .exec(db)
        .await
        .map_err(db_error)?;
    record_own_change(db, state, who, change).await?;
    Ok((RecoveryCodes { codes }, cookie))
}

/// Re-authentication for changes to one's own factors: the password where the account has
/// one (spending its sign-in failure budget); otherwise (an account that signs in through SSO)
/// a session that signed in through the provider within [`FRESH_SIGN_IN`].
async fn reauthenticate(state: &AppState, actor: &Actor, meta: &RequestMeta, password: String) -> Result<(), AppError> {
    if actor.user.password_hash.is_none() {
        let fresh = match actor.session_id {
            Some(id) => crate::server::entities::sessions::Entity::find_by_id(id)
                .one(&state.db)
                .await
                .map_err(db_error)?
                .is_some_and(|s| state.clock.now() - s.created_at <= FRESH_SIGN_IN),
            None => false,
        };
        return match fresh {
            true => Ok(()),
            false => Err(AppError::forbidden(
                "For your security, sign out and sign in again with single sign-on, then make this change within 5 minutes.",
            )),
        };
    }
    let password = crate::domain::SignInPassword::parse(password)
        .map_err(|_| AppError::invalid("password", "Enter your password."))?;
    let who = (&actor.user, actor.tenant.id);
    if !super::auth::recheck_password(state, meta, who, password.expose(), "sign_in_methods").await? {
        return Err(AppError::invalid("password", "That is not your password."));
    }
    Ok(())
}

/// My account > Multi-factor authentication.
pub async fn my_mfa(state: &AppState, actor: &Actor) -> Result<MyMfa, AppError> {
    let factors = confirmed_factors(&state.db, actor.user.id)
        .await?
        .into_iter()
        .map(|f| MfaFactorSummary {
            id: f.id,
            kind: f.kind,
            label: f.label,
            created_at: f.created_at,
        })
        .collect();
    Ok(MyMfa {
        factors,
        recovery_codes_left: unused_recovery_codes(&state.db, actor.user.id).await?,
        enforced: actor.tenant.is_mfa_enforced,
    })
}

/// Removes one of the user's own factors, after their password. The last factor cannot go
/// where the workspace enforces MFA; with it go the recovery codes.
pub async fn remove_factor(
    state: &AppState,
    realm: &Realm,
    actor: &Actor,
    meta: &RequestMeta,
    factor_id: Uuid,
    password: String,
) -> Result<(), AppError> {
    may_manage_factors(actor)?;
    reauthenticate(state, actor, meta, password).await?;
    let db = &state.db;
    let factors = confirmed_factors(db, actor.user.id).await?;
    if !factors.iter().any(|f| f.id == factor_id) {
        return Err(AppError::not_found("No such factor on your account."));
    }
    if factors.len() == 1 && realm.tenant.is_mfa_enforced {
        return Err(AppError::conflict(
            "This workspace requires multi-factor authentication: add another factor before removing this one.",
        ));
    }
    let txn = super::begin(db).await?;
    mfa_factors::Entity::delete_by_id(factor_id)
        .exec(&txn)
        .await
        .map_err(db_error)?;
    if factors.len() == 1 {
        recovery_codes::Entity::delete_many()
            .filter(recovery_codes::Column::UserId.eq(actor.user.id))
            .exec(&txn)
            .await
            .map_err(db_error)?;
    }
    let change = OwnFactorChange {
        event_type: SecurityEventType::MfaRemoved,
        detail: json!({ "factor_id": factor_id }),
        subject: "A sign-in factor was removed",
        what: "A multi-factor authentication method was removed from your account.",
    };
    record_own_change(&txn, state, (realm, actor, meta), change).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(())
}

/// New recovery codes (the old set stops working), after the user's password.
pub async fn regenerate_recovery_codes(
    state: &AppState,
    realm: &Realm,
    actor: &Actor,
    meta: &RequestMeta,
    password: String,
) -> Result<RecoveryCodes, AppError> {
    may_manage_factors(actor)?;
    reauthenticate(state, actor, meta, password).await?;
    let db = &state.db;
    if confirmed_factors(db, actor.user.id).await?.is_empty() {
        return Err(AppError::conflict(
            "Set up an authenticator app first: recovery codes stand in for it.",
        ));
    }
    let now = state.clock.now();
    let txn = super::begin(db).await?;
    let codes = new_recovery_codes(&txn, state, actor.user.id, now).await?;
    let change = OwnFactorChange {
        event_type: SecurityEventType::RecoveryCodesRegenerated,
        detail: json!({ "codes": RECOVERY_CODE_COUNT }),
        subject: "New recovery codes",
        what: "New recovery codes were made for your account; the old ones no longer work.",
    };
    record_own_change(&txn, state, (realm, actor, meta), change).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(RecoveryCodes { codes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    #[test]
    fn rfc6238_sha1_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); 6 digits: 287082.
        let secret = b"12345678901234567890";
        assert_eq!(code_at(secret, at(59)), "287082");
        assert_eq!(code_at(secret, at(1_111_111_109)), "081804");
    }

    #[test]
    fn one_step_either_side_and_no_further() {
        let secret = [7u8; 20];
        let now = at(1_800_000_000);
        let step = step_at(now);
        for offset in [-30, 0, 30] {
            let code = code_at(&secret, now + Duration::seconds(offset));
            assert_eq!(matching_step(&secret, &code, now), Some(step + offset / 30), "{offset}");
        }
        for offset in [-90, -60, 60, 90] {
            let code = code_at(&secret, now + Duration::seconds(offset));
            assert_eq!(matching_step(&secret, &code, now), None, "{offset}");
        }
        assert_eq!(matching_step(&secret, "12345", now), None);
        assert_eq!(matching_step(&secret, "abcdef", now), None);
    }

    #[test]
    fn codes_are_recognised_by_shape() {
        assert!(matches!(parse_code(" 123 456 "), Ok(CodeShape::Totp(c)) if c == "123456"));
        assert!(matches!(parse_code("abcd-efgh"), Ok(CodeShape::Recovery(c)) if c == "ABCDEFGH"));
        for bad in ["", "12345", "1234567", "ABCD-EFG1", "ABCD-EFGI", "١٢٣٤٥٦", "12345\u{0}"] {
            assert!(parse_code(bad).is_err(), "{bad:?}");
        }
        let code = new_recovery_code();
        assert!(matches!(parse_code(&code), Ok(CodeShape::Recovery(_))), "{code}");
    }
}
