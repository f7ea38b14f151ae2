//! API tokens for scripts (DESIGN.md, "REST API"): shown once, stored as a hash, scoped to the
//! operator or one tenant, with a role, an expiry and a last-used time.

use super::{db_error, users};
use crate::AppError;
use crate::domain::Email;
use crate::server::crypto::{random_token, secret_hash};
use crate::server::entities::{api_tokens, tenants, users as user_rows};
use crate::server::{Actor, AppState};
use crate::types::MembershipStatus;
use chrono::Duration;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

/// Every token starts with this, so secret scanners and people can tell what it is.
pub const TOKEN_PREFIX: &str = "lk_";
const LAST_USED_INTERVAL: Duration = Duration::seconds(60);

pub struct CreatedToken {
    /// The only time the token is seen in full.
    pub token: String,
    pub row: api_tokens::Model,
}

/// Mints a token acting as `email` in the workspace `tenant_slug` (`admin` for the operator).
pub async fn create(
    state: &AppState,
    email: &str,
    tenant_slug: &str,
    name: &str,
    lifetime: Option<Duration>,
) -> Result<CreatedToken, AppError> {
    let email = Email::parse(email, "email")?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(crate::domain::is_forbidden_char) {
        return Err(AppError::invalid(
            "name",
            "A token name has 1 to 100 printable characters.",
        ));
    }
    let db = &state.db;
    let user = user_rows::Entity::find()
        .filter(user_rows::Column::Email.eq(email.as_str()))
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| AppError::not_found(format!("No user has the email {email}.")))?;
    let tenant = tenants::Entity::find()
        .filter(tenants::Column::Slug.eq(tenant_slug))
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| AppError::not_found(format!("No workspace has the address {tenant_slug}.")))?;
    let (_, membership, role) = users::membership_with_role(db, user.id, tenant.id)
        .await?
        .ok_or_else(|| AppError::forbidden(format!("{email} is not a member of {}.", tenant.name)))?;
    if membership.status != MembershipStatus::Active.as_str() {
        return Err(AppError::forbidden(format!(
            "{email} has no active access to {}.",
            tenant.name
        )));
    }
    let now = state.clock.now();
    let token = format!("{TOKEN_PREFIX}{}", random_token());
    let row = api_tokens::ActiveModel {
        id: Set(Uuid::now_v7()),
        token_hash: Set(secret_hash(&token)),
        prefix: Set(token.chars().take(10).collect()),
        name: Set(name.to_owned()),
        user_id: Set(user.id),
        tenant_id: Set(tenant.id),
        role_id: Set(role.id),
        expires_at: Set(lifetime.map(|l| now + l)),
        last_used_at: Set(None),
        created_at: Set(now),
        revoked_at: Set(None),
    }
    .insert(db)
    .await
    .map_err(db_error)?;
    Ok(CreatedToken { token, row })
}

/// The actor behind `Authorization: Bearer <token>`.
pub async fn authenticate(state: &AppState, token: &str) -> Result<Actor, AppError> {
    let invalid = || AppError::Unauthenticated {
        reason: crate::AuthFailure::NotSignedIn,
        message: "The API token is missing, invalid, expired or revoked.".into(),
        reference: None,
        sign_in_url: None,
    };
    if !token.starts_with(TOKEN_PREFIX) || token.len() > 128 {
        return Err(invalid());
    }
    let now = state.clock.now();
    let db = &state.db;
    let row = api_tokens::Entity::find()
        .filter(api_tokens::Column::TokenHash.eq(secret_hash(token)))
        .one(db)
        .await
        .map_err(db_error)?
        .filter(|t| t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > now))
        .ok_or_else(invalid)?;
    let tenant = tenants::Entity::find_by_id(row.tenant_id)
        .one(db)
        .await
        .map_err(db_error)?
        .ok_or_else(invalid)?;
    let (user, membership, role) = users::membership_with_role(db, row.user_id, row.tenant_id)
        .await?
        .ok_or_else(invalid)?;
    if ![MembershipStatus::Active.as_str(), MembershipStatus::Cooldown.as_str()].contains(&membership.status.as_str()) {
        return Err(invalid());
    }
    if row.last_used_at.is_none_or(|t| now - t >= LAST_USED_INTERVAL) {
        api_tokens::Entity::update_many()
            .col_expr(api_tokens::Column::LastUsedAt, Expr::value(now))
            .filter(api_tokens::Column::Id.eq(row.id))
            .exec(db)
            .await
            .map_err(db_error)?;
    }
    Ok(Actor {
        user,
        membership,
        role,
        tenant,
        session_id: None,
        mfa_step: None,
        token_id: Some(row.id),
    })
}
