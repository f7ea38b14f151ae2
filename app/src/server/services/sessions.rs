//! Server-side sessions (DESIGN.md, "sessions"): the cookie holds a random token, the table its
//! hash; idle 30 minutes, absolute 12 hours; bound to the workspace they were made on.

use super::db_error;
use crate::AppError;
use crate::server::RequestMeta;
use crate::server::crypto::{random_token, secret_hash};
use crate::server::entities::sessions::{self, Column};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(12);
/// `last_seen_at` is written at most this often, so reads do not each cost a write.
const TOUCH_INTERVAL: Duration = Duration::seconds(60);

pub const SESSION_COOKIE: &str = "lk_session";

/// The session cookie's name: behind TLS it carries the `__Host-` prefix, so the browser
/// accepts it only Secure, host-only and for `Path=/` (ASVS 3.4.4).
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-lk_session" } else { SESSION_COOKIE }
}

pub struct NewSession {
    /// Goes into the cookie, never into the database.
    pub token: String,
    pub session: sessions::Model,
}

pub async fn create(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    tenant_id: Uuid,
    meta: &RequestMeta,
    now: DateTime<Utc>,
) -> Result<NewSession, AppError> {
    let token = random_token();
    let absolute = now + ABSOLUTE_TIMEOUT;
    let session = sessions::ActiveModel {
        id: Set(Uuid::now_v7()),
        token_hash: Set(secret_hash(&token)),
        user_id: Set(user_id),
        tenant_id: Set(tenant_id),
        created_at: Set(now),
        last_seen_at: Set(now),
        idle_expires_at: Set((now + IDLE_TIMEOUT).min(absolute)),
        absolute_expires_at: Set(absolute),
        mfa_verified: Set(false),
        impersonator_user_id: Set(None),
        ip: Set(meta.ip.clone()),
        user_agent: Set(meta.user_agent.clone()),
        revoked_at: Set(None),
    }
    .insert(db)
    .await
    .map_err(db_error)?;
    Ok(NewSession { token, session })
}

/// The session has passed MFA (or needs none: an SSO sign-in whose workspace trusts its provider's).
pub async fn mark_mfa_verified(db: &impl ConnectionTrait, session_id: Uuid) -> Result<(), AppError> {
    sessions::Entity::update_many()
        .col_expr(Column::MfaVerified, Expr::value(true))
        .filter(Column::Id.eq(session_id))
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Passing MFA raises what a session may do, so it gets a new token (the old cookie stops
/// working: no fixation) and is marked verified. Returns the new cookie.
pub async fn elevate(db: &impl ConnectionTrait, session_id: Uuid, secure_cookies: bool) -> Result<String, AppError> {
    let token = random_token();
    sessions::Entity::update_many()
        .col_expr(Column::TokenHash, Expr::value(secret_hash(&token)))
        .col_expr(Column::MfaVerified, Expr::value(true))
        .filter(Column::Id.eq(session_id))
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(cookie(&token, secure_cookies))
}

/// What a session cookie turned out to be on this host.
#[derive(Debug)]
pub enum SessionLookup {
    Valid(sessions::Model),
    /// It existed here but ran past its idle or absolute limit (or was revoked).
    Expired(sessions::Model),
    /// Unknown token, or a session of another workspace: worth nothing here.
    Invalid,
}

pub async fn find(
    db: &impl ConnectionTrait,
    token: &str,
    tenant_id: Uuid,
    now: DateTime<Utc>,
) -> Result<SessionLookup, AppError> {
    let Some(session) = sessions::Entity::find()
        .filter(Column::TokenHash.eq(secret_hash(token)))
        .one(db)
        .await
        .map_err(db_error)?
    else {
        return Ok(SessionLookup::Invalid);
    };
    if session.tenant_id != tenant_id {
        return Ok(SessionLookup::Invalid);
    }
    if session.revoked_at.is_some() || session.idle_expires_at <= now || session.absolute_expires_at <= now {
        return Ok(SessionLookup::Expired(session));
    }
    if now - session.last_seen_at >= TOUCH_INTERVAL {
        let idle = (now + IDLE_TIMEOUT).min(session.absolute_expires_at);
        sessions::Entity::update_many()
            .col_expr(Column::LastSeenAt, Expr::value(now))
            .col_expr(Column::IdleExpiresAt, Expr::value(idle))
            .filter(Column::Id.eq(session.id))
            .exec(db)
            .await
            .map_err(db_error)?;
        return Ok(SessionLookup::Valid(sessions::Model {
            last_seen_at: now,
            idle_expires_at: idle,
            ..session
        }));
    }
    Ok(SessionLookup::Valid(session))
}

pub async fn delete(db: &impl ConnectionTrait, session_id: Uuid) -> Result<(), AppError> {
    sessions::Entity::delete_by_id(session_id)
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(())
}

/// Ends every session of a user (password change or reset, MFA reset, lock, disable).
pub async fn revoke_all_for_user(db: &impl ConnectionTrait, user_id: Uuid) -> Result<u64, AppError> {
    let result = sessions::Entity::delete_many()
        .filter(Column::UserId.eq(user_id))
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(result.rows_affected)
}

/// Ends a user's sessions on one workspace (removed from it).
pub async fn revoke_for_user_in_tenant(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    tenant_id: Uuid,
) -> Result<u64, AppError> {
    let result = sessions::Entity::delete_many()
        .filter(Column::UserId.eq(user_id))
        .filter(Column::TenantId.eq(tenant_id))
        .exec(db)
        .await
        .map_err(db_error)?;
    Ok(result.rows_affected)
}

pub async fn list_for_user(
    db: &impl ConnectionTrait,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<Vec<sessions::Model>, AppError> {
    sessions::Entity::find()
        .filter(Column::UserId.eq(user_id))
        .filter(Column::RevokedAt.is_null())
        .filter(Column::IdleExpiresAt.gt(now))
        .filter(Column::AbsoluteExpiresAt.gt(now))
        .order_by_desc(Column::LastSeenAt)
        .all(db)
        .await
        .map_err(db_error)
}

/// `Set-Cookie` for a new session. Host-only (no Domain attribute), so the browser never sends
/// it to another workspace; the server checks the binding again anyway.
pub fn cookie(token: &str, secure: bool) -> String {
    format!(
        "{}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{}",
        session_cookie_name(secure),
        ABSOLUTE_TIMEOUT.num_seconds(),
        if secure { "; Secure" } else { "" }
    )
}

pub fn clear_cookie(secure: bool) -> String {
    format!(
        "{}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0{}",
        session_cookie_name(secure),
        if secure { "; Secure" } else { "" }
    )
}

/// The value of one cookie in a `Cookie` header.
/// Every `Cookie` header of a request as one string: HTTP/2 clients may send several.
pub fn cookie_header(headers: &http::HeaderMap) -> String {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn cookie_value<'a>(cookie_header: &'a str, name: &str) -> Option<&'a str> {
    cookie_header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_header_parsing() {
        assert_eq!(cookie_value("a=1; lk_session=abc; b=2", "lk_session"), Some("abc"));
        assert_eq!(cookie_value("lk_session_x=1", "lk_session"), None);
        assert_eq!(cookie_value("", "lk_session"), None);
        assert_eq!(cookie_value("garbage;;=;", "lk_session"), None);
    }

    #[test]
    fn cookies_are_host_only_and_http_only() {
        let c = cookie("t", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Lax") && c.contains("Secure"));
        assert!(!c.to_lowercase().contains("domain="));
        assert!(!cookie("t", false).contains("Secure"));
    }
}
