//! Password sign-in, the current viewer, and sign-out (DESIGN.md, "sign-in failures", "lock
//! message", "other sign-in errors", "Wrong-host help").

use super::events::{self, NewEvent};
use super::sessions::{self, SessionLookup};
use super::throttle::{self, Admission, FailureOutcome, ThrottleKey};
use super::{db_error, users};
use crate::domain::{Identifier, SignInPassword};
use crate::server::crypto::{random_token, secret_hash};
use crate::server::entities::{memberships, roles, tenants, users as user_rows};
use crate::server::{Actor, AppState, Realm, RequestMeta};
use crate::types::{
    HostInfo, MembershipStatus, MfaStep, RealmKind, SecurityEventType, SignInMode, TenantStatus, Viewer,
};
use crate::{AppError, AuthFailure};
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde_json::json;

pub const DEVICE_COOKIE: &str = "lk_device";

/// Like the session cookie's, the device cookie's name is `__Host-` prefixed behind TLS.
pub fn device_cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-lk_device" } else { DEVICE_COOKIE }
}
const DEVICE_COOKIE_MAX_AGE_SECS: i64 = 365 * 24 * 3600;

pub struct SignInInput {
    pub identifier: String,
    pub password: String,
    /// The `lk_device` cookie the browser sent, if any.
    pub device_cookie: Option<String>,
}

pub struct SignedIn {
    pub viewer: Viewer,
    pub session_cookie: String,
    pub device_cookie: String,
}

/// The device cookie names a tenant and an identifier (as a hash, so the cookie does not carry
/// the email) and a random nonce that keys its own failure counter.
fn device_payload(realm: &Realm, identifier: &Identifier, nonce: &str) -> String {
    let who = &secret_hash(&format!("{}:{}", realm.tenant.id, identifier.as_str()))[..32];
    format!("v1.{who}.{nonce}")
}

fn trusted_device_nonce(
    state: &AppState,
    realm: &Realm,
    identifier: &Identifier,
    cookie: Option<&str>,
) -> Option<String> {
    let payload = state.signer.verify(cookie?)?;
    let nonce = payload.rsplit('.').next()?;
    (device_payload(realm, identifier, nonce) == payload).then(|| nonce.to_owned())
}

async fn refuse(
    state: &AppState,
    realm: &Realm,
    meta: &RequestMeta,
    identifier: &Identifier,
    user_id: Option<uuid::Uuid>,
    error: AppError,
) -> AppError {
    let reason = match &error {
        AppError::Unauthenticated { reason, .. } => reason.code(),
        other => other.code(),
    };
    let detail = json!({ "reason": reason });
    let event = NewEvent {
        event_type: SecurityEventType::LoginFailed,
        user_id,
        tenant_id: Some(realm.tenant.id),
        identifier: Some(identifier.as_str()),
        detail,
    };
    match events::record(&state.db, state.clock.as_ref(), meta, event).await {
        Ok(reference) => error.with_reference(reference.to_string()),
        Err(event_error) => event_error,
    }
}

/// The sign-in failure budget a guess at `identifier` spends (docs/design.md, "sign-in
/// failures").
pub fn budget_of(user: Option<&user_rows::Model>, identifier: &Identifier) -> ThrottleKey {
    match user {
        Some(user) => ThrottleKey::account(user.id),
        None => ThrottleKey::unknown(identifier.as_str()),
    }
}

/// A prompt for the current password outside sign-in (a password change, a change to the
/// sign-in methods, an invite confirmed with an existing password): it spends the account's
/// sign-in failure budget as sign-in does, so these prompts add no guesses, and a wrong answer
/// is a Login Failed event saying where it was given. `Ok(false)` for a wrong password; a
/// locked account is refused before the password is checked.
pub async fn recheck_password(
    state: &AppState,
    meta: &RequestMeta,
    (user, tenant_id): (&user_rows::Model, uuid::Uuid),
    password: &str,
    context: &str,
) -> Result<bool, AppError> {
    let db = &state.db;
    let now = || state.clock.now();
    let budget = ThrottleKey::account(user.id);
    // Refused in the page's own words: the session stays, the account is locked for sign-in.
    let locked =
        || AppError::forbidden("Too many wrong passwords: your account is locked for now. Contact your administrator.");
    if let Admission::Locked { .. } = throttle::admit(db, &budget, tenant_id, now).await? {
        return Err(locked());
    }
    let verification = match state.hasher.verify(user.password_hash.as_deref(), password).await {
        Ok(verification) => verification,
        Err(error) => {
            throttle::release(db, &budget).await?;
            return Err(error);
        }
    };
    if verification.matches {
        throttle::record_success(db, &budget, now()).await?;
        return Ok(true);
    }
    let outcome = throttle::record_failure(db, &budget, now()).await?;
    let event = NewEvent {
        event_type: SecurityEventType::LoginFailed,
        user_id: Some(user.id),
        tenant_id: Some(tenant_id),
        identifier: None,
        detail: json!({ "reason": "invalid_credentials", "context": context }),
    };
    events::record(db, state.clock.as_ref(), meta, event).await?;
    if let FailureOutcome::LockedNow { until } = outcome {
        let event = NewEvent {
            event_type: SecurityEventType::AccountLock,
            user_id: Some(user.id),
            tenant_id: Some(tenant_id),
            identifier: None,
            detail: json!({ "reason": "too_many_sign_in_failures", "locked_until": until, "context": context }),
        };
        events::record(db, state.clock.as_ref(), meta, event).await?;
        return Err(locked());
    }
    Ok(false)
}

/// Password sign-in on the realm's host.
pub async fn sign_in(
    state: &AppState,
    realm: &Realm,
    meta: &RequestMeta,
    input: SignInInput,
) -> Result<SignedIn, AppError> {
    let identifier = Identifier::parse(&input.identifier)?;
    let password = SignInPassword::parse(input.password)?;
    let now = || state.clock.now();
    let db = &state.db;

    // A browser that signed in as this identifier before has its own counter; when that one is
    // locked it is treated like any unknown browser (OWASP device-cookie scheme).
    let device_nonce = trusted_device_nonce(state, realm, &identifier, input.device_cookie.as_deref());
    // Looked up first, known or not, so the failure budget is the account's (or the unknown
    // identifier's), whichever identifier and host a guess uses.
    let user = users::find_by_identifier(&state.db, &identifier).await?;
    let mut key = None;
    if let Some(nonce) = &device_nonce {
        let device_key = ThrottleKey::device(nonce);
        if throttle::admit(db, &device_key, realm.tenant.id, now).await? == Admission::Admitted {
            key = Some(device_key);
        }
    }
    let key = match key {
        Some(key) => key,
        None => {
            let budget = budget_of(user.as_ref(), &identifier);
            if let Admission::Locked { .. } = throttle::admit(db, &budget, realm.tenant.id, now).await? {
                return Err(refuse(
                    state,
                    realm,
                    meta,
                    &identifier,
                    user.as_ref().map(|u| u.id),
                    AppError::auth(AuthFailure::Locked),
                )
                .await);
            }
            budget
        }
    };

    let verification = match state
        .hasher
        .verify(
            user.as_ref().and_then(|u| u.password_hash.as_deref()),
            password.expose(),
        )
        .await
    {
        Ok(v) => v,
        Err(error) => {
            throttle::release(db, &key).await?;
            return Err(error);
        }
    };

    let user_id = user.as_ref().map(|u| u.id);
    let (Some(user), true) = (user, verification.matches) else {
        let error = match throttle::record_failure(db, &key, now()).await? {
            FailureOutcome::LockedNow { until } => {
                let event = NewEvent {
                    event_type: SecurityEventType::AccountLock,
                    user_id,
                    tenant_id: Some(realm.tenant.id),
                    identifier: Some(identifier.as_str()),
                    detail: json!({ "reason": "too_many_sign_in_failures", "locked_until": until, "trusted_device": device_nonce.is_some() }),
                };
                events::record(db, state.clock.as_ref(), meta, event).await?;
                AppError::auth(AuthFailure::Locked)
            }
            FailureOutcome::Counted { .. } => AppError::auth(AuthFailure::InvalidCredentials),
        };
        return Err(refuse(state, realm, meta, &identifier, user_id, error).await);
    };
    // From here on the password was right, so the answers may say more about the account.
    let (membership, role) = match admitted_role(state, realm, &user).await? {
        Ok(admitted) => admitted,
        Err(refusal) => {
            throttle::record_success(db, &key, now()).await?;
            return Err(refuse(state, realm, meta, &identifier, Some(user.id), refusal).await);
        }
    };

    if verification.needs_rehash {
        let fresh = state.hasher.hash(password.expose()).await?;
        let mut active: user_rows::ActiveModel = user.clone().into();
        active.password_hash = Set(Some(fresh));
        active.update(db).await.map_err(db_error)?;
    }

    let mfa_step = super::mfa::pending_step(db, (user.id, &membership), &realm.tenant).await?;
    // The attempt's outcome, the session and the sign-in event: one commit.
    let txn = super::begin(db).await?;
    throttle::record_success(&txn, &key, now()).await?;
    let new_session = sessions::create(&txn, user.id, realm.tenant.id, meta, now()).await?;
    events::record(
        &txn,
        state.clock.as_ref(),
        meta,
        NewEvent {
            event_type: SecurityEventType::SignIn,
            user_id: Some(user.id),
            tenant_id: Some(realm.tenant.id),
            identifier: Some(identifier.as_str()),
            detail: json!({ "method": "password", "trusted_device": device_nonce.is_some() }),
        },
    )
    .await?;
    txn.commit().await.map_err(db_error)?;

    let nonce = device_nonce.unwrap_or_else(random_token);
    let device_cookie = format!(
        "{}={}; Path=/; HttpOnly; SameSite=Lax; Max-Age={DEVICE_COOKIE_MAX_AGE_SECS}{}",
        device_cookie_name(state.config.secure_cookies),
        state.signer.sign(&device_payload(realm, &identifier, &nonce)),
        if state.config.secure_cookies { "; Secure" } else { "" }
    );
    Ok(SignedIn {
        viewer: viewer(&user, &role, mfa_step),
        session_cookie: sessions::cookie(&new_session.token, state.config.secure_cookies),
        device_cookie,
    })
}

/// The membership and role a right password signs in with, or why it may not sign in: no membership here
/// (the wrong-host help), a membership that is locked, suspended or not yet active, or a
/// temporary password that has run out. The outer error is the database's.
async fn admitted_role(
    state: &AppState,
    realm: &Realm,
    user: &user_rows::Model,
) -> Result<Result<(memberships::Model, roles::Model), AppError>, AppError> {
    let db = &state.db;
    let now = state.clock.now();
    let Some((_, membership, role)) = users::membership_with_role(db, user.id, realm.tenant.id).await? else {
        return Ok(Err(wrong_host_error(state, user).await?));
    };
    if let Some(failure) = membership_refusal(realm, &membership, now) {
        return Ok(Err(AppError::auth(failure)));
    }
    if super::temporary_passwords::expired(db, user, realm.tenant.id, now).await? {
        return Ok(Err(AppError::auth(AuthFailure::TemporaryPasswordExpired)));
    }
    Ok(Ok((membership, role)))
}

/// Why a membership may not sign in right now, if it may not.
fn membership_refusal(
    realm: &Realm,
    membership: &memberships::Model,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<AuthFailure> {
    match membership.status.parse::<MembershipStatus>().ok() {
        Some(MembershipStatus::Disabled) => return Some(AuthFailure::Disabled),
        Some(MembershipStatus::Locked) if membership.locked_until.is_none_or(|until| until > now) => {
            return Some(AuthFailure::Locked);
        }
        // Invited but never set up: there is no password to have been right.
        Some(MembershipStatus::Pending) | None => return Some(AuthFailure::InvalidCredentials),
        _ => {}
    }
    (realm.kind() == RealmKind::Tenant && realm.sign_in_mode() == SignInMode::Sso).then_some(AuthFailure::SsoRequired)
}

/// The password was right but this user has no access here: say where they do sign in.
async fn wrong_host_error(state: &AppState, user: &user_rows::Model) -> Result<AppError, AppError> {
    let homes = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user.id))
        .find_also_related(tenants::Entity)
        .all(&state.db)
        .await
        .map_err(db_error)?;
    let home = homes
        .into_iter()
        .filter_map(|(_, tenant)| tenant)
        .find(|t| t.status == TenantStatus::Active.as_str());
    Ok(match home {
        Some(tenant) => {
            let url = state.config.workspace_url(&tenant.slug);
            AppError::Unauthenticated {
                reason: AuthFailure::WrongHost,
                message: format!("This account does not sign in here. Sign in at {url} instead."),
                reference: None,
                sign_in_url: Some(url),
            }
        }
        None => AppError::auth(AuthFailure::InvalidCredentials),
    })
}

pub fn viewer(user: &user_rows::Model, role: &roles::Model, mfa_step: Option<MfaStep>) -> Viewer {
    Viewer {
        user_id: user.id,
        email: user.email.clone(),
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        role_name: role.name.clone(),
        must_change_password: user.must_change_password,
        has_password: user.password_hash.is_some(),
        mfa_step,
        impersonation: None,
    }
}

/// The signed-in actor behind a session cookie on this host.
pub enum CurrentSession {
    SignedIn(Box<Actor>),
    Expired,
    None,
}

pub async fn current_session(
    state: &AppState,
    realm: &Realm,
    meta: &RequestMeta,
    token: Option<&str>,
) -> Result<CurrentSession, AppError> {
    let Some(token) = token.filter(|t| !t.is_empty() && t.len() <= 128) else {
        return Ok(CurrentSession::None);
    };
    let now = state.clock.now();
    let session = match sessions::find(&state.db, token, realm.tenant.id, now).await? {
        SessionLookup::Valid(session) => session,
        SessionLookup::Invalid => return Ok(CurrentSession::None),
        SessionLookup::Expired(session) => {
            sessions::delete(&state.db, session.id).await?;
            let event = NewEvent {
                event_type: SecurityEventType::SessionExpired,
                user_id: Some(session.user_id),
                tenant_id: Some(session.tenant_id),
                identifier: None,
                detail: json!({ "created_at": session.created_at, "last_seen_at": session.last_seen_at }),
            };
            events::record(&state.db, state.clock.as_ref(), meta, event).await?;
            return Ok(CurrentSession::Expired);
        }
    };
    let Some((user, membership, role)) =
        users::membership_with_role(&state.db, session.user_id, realm.tenant.id).await?
    else {
        return Ok(CurrentSession::None);
    };
    // A membership that lost access ends its sessions at once, whatever the timers say.
    if membership_refusal(realm, &membership, now).is_some_and(|f| f != AuthFailure::SsoRequired) {
        sessions::delete(&state.db, session.id).await?;
        return Ok(CurrentSession::None);
    }
    let mfa_step = if session.mfa_verified {
        None
    } else {
        super::mfa::pending_step(&state.db, (user.id, &membership), &realm.tenant).await?
    };
    Ok(CurrentSession::SignedIn(Box::new(Actor {
        user,
        membership,
        role,
        tenant: realm.tenant.clone(),
        session_id: Some(session.id),
        token_id: None,
        mfa_step,
        impersonator_id: session.impersonator_user_id,
    })))
}

/// The actor, or the error a page shows when there is none. A browser must first pass MFA,
/// then replace a temporary password, before it gets anything here.
pub async fn require_session(
    state: &AppState,
    realm: &Realm,
    meta: &RequestMeta,
    token: Option<&str>,
) -> Result<Actor, AppError> {
    let actor = require_session_allowing_password_change(state, realm, meta, token).await?;
    if actor.user.must_change_password {
        return Err(AppError::auth(AuthFailure::PasswordChangeRequired));
    }
    Ok(actor)
}

/// The actor once past MFA, even one who must change their password first: for that change.
pub async fn require_session_allowing_password_change(
    state: &AppState,
    realm: &Realm,
    meta: &RequestMeta,
    token: Option<&str>,
) -> Result<Actor, AppError> {
    let actor = require_session_before_mfa(state, realm, meta, token).await?;
    match actor.mfa_step {
        Some(MfaStep::Verify) => Err(AppError::auth(AuthFailure::MfaRequired)),
        Some(MfaStep::Enroll) => Err(AppError::auth(AuthFailure::MfaEnrollmentRequired)),
        None => Ok(actor),
    }
}

/// The actor behind a session cookie, whatever is still to do: for the MFA step itself.
pub async fn require_session_before_mfa(
    state: &AppState,
    realm: &Realm,
    meta: &RequestMeta,
    token: Option<&str>,
) -> Result<Actor, AppError> {
    match current_session(state, realm, meta, token).await? {
        CurrentSession::SignedIn(actor) => Ok(*actor),
        CurrentSession::Expired => Err(AppError::auth(AuthFailure::SessionExpired)),
        CurrentSession::None => Err(AppError::auth(AuthFailure::NotSignedIn)),
    }
}

pub async fn host_info(
    state: &AppState,
    realm: &Realm,
    meta: &RequestMeta,
    token: Option<&str>,
) -> Result<HostInfo, AppError> {
    let (viewer, notice) = match current_session(state, realm, meta, token).await? {
        CurrentSession::SignedIn(actor) => {
            let mut viewer = self::viewer(&actor.user, &actor.role, actor.mfa_step);
            viewer.impersonation = super::impersonation::describe(state, &actor).await?;
            (Some(viewer), None)
        }
        CurrentSession::Expired => (None, Some(AuthFailure::SessionExpired.default_message().to_owned())),
        CurrentSession::None => (None, None),
    };
    Ok(HostInfo {
        realm: realm.info(),
        base_domain: state.config.base_domain.clone(),
        viewer,
        notice,
    })
}

pub async fn sign_out(state: &AppState, actor: &Actor) -> Result<(), AppError> {
    if let Some(id) = actor.session_id {
        sessions::delete(&state.db, id).await?;
    }
    Ok(())
}
