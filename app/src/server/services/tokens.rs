//! API tokens for scripts (DESIGN.md, "REST API"): shown once, stored as a hash, scoped to the
//! operator or one tenant, with a role, an expiry and a last-used time.

use super::access::require;
use super::directory::list_scope;
use super::roles::grants;
use super::roles::permission::TOKENS_MANAGE;
use super::setup::builtin_role;
use super::{audit, db_error, users};
use crate::AppError;
use crate::domain::Email;
use crate::server::crypto::{random_token, secret_hash};
use crate::server::entities::{api_tokens, roles, tenants, users as user_rows};
use crate::server::{Actor, AppState, RequestMeta};
use crate::types::{ApiTokenSummary, CreatedApiToken, MAX_PAGE, MembershipStatus, NewApiToken};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// Every token starts with this, so secret scanners and people can tell what it is.
pub const TOKEN_PREFIX: &str = "lk_";
/// The rate limit counts requests per token in windows of this length.
const RATE_WINDOW: Duration = Duration::seconds(60);

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
    check_name(name)?;
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
    insert(db, state.clock.now(), &user, &tenant, &role, name, lifetime).await
}

fn check_name(name: &str) -> Result<&str, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(crate::domain::is_forbidden_char) {
        return Err(AppError::invalid(
            "name",
            "A token name has 1 to 100 printable characters.",
        ));
    }
    Ok(name)
}

async fn insert(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    user: &user_rows::Model,
    tenant: &tenants::Model,
    role: &roles::Model,
    name: &str,
    lifetime: Option<Duration>,
) -> Result<CreatedToken, AppError> {
    let name = check_name(name)?;
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
        window_started_at: Set(None),
        window_count: Set(0),
    }
    .insert(db)
    .await
    .map_err(db_error)?;
    Ok(CreatedToken { token, row })
}

/// The actor behind `Authorization: Bearer <token>`. The token acts with its own role, never
/// with more than its owner has now; each call counts against the token's per-minute limit.
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
    let found = api_tokens::Entity::find()
        .filter(api_tokens::Column::TokenHash.eq(secret_hash(token)))
        .find_also_related(tenants::Entity)
        .find_also_related(roles::Entity)
        .one(db)
        .await
        .map_err(db_error)?;
    let Some((row, Some(tenant), Some(token_role))) = found else {
        return Err(invalid());
    };
    if row.revoked_at.is_some() || row.expires_at.is_some_and(|e| e <= now) {
        return Err(invalid());
    }
    let (user, membership, owner_role) = users::membership_with_role(db, row.user_id, row.tenant_id)
        .await?
        .ok_or_else(invalid)?;
    if ![MembershipStatus::Active.as_str(), MembershipStatus::Cooldown.as_str()].contains(&membership.status.as_str()) {
        return Err(invalid());
    }
    count_request(state, &row).await?;
    let role = roles::Model {
        permissions: serde_json::Value::Array(
            permissions_of(&token_role)
                .into_iter()
                .filter(|p| grants(&owner_role.permissions, p))
                .map(serde_json::Value::from)
                .collect(),
        ),
        ..token_role
    };
    Ok(Actor {
        user,
        membership,
        role,
        tenant,
        session_id: None,
        mfa_step: None,
        token_id: Some(row.id),
        impersonator_id: None,
    })
}

fn permissions_of(role: &roles::Model) -> Vec<String> {
    role.permissions
        .as_array()
        .map(|list| list.iter().filter_map(|p| p.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Counts one request in the token's one-minute window, atomically, and refuses it with 429
/// once the window is full. Also records the last-used time.
async fn count_request(state: &AppState, row: &api_tokens::Model) -> Result<(), AppError> {
    use api_tokens::Column;
    use sea_orm::sea_query::{CaseStatement, Condition};
    let now = state.clock.now();
    let window_over = Condition::any()
        .add(Column::WindowStartedAt.is_null())
        .add(Column::WindowStartedAt.lte(now - RATE_WINDOW));
    let updated = api_tokens::Entity::update_many()
        .col_expr(
            Column::WindowCount,
            CaseStatement::new()
                .case(window_over.clone(), Expr::val(1))
                .finally(Expr::col(Column::WindowCount).add(1))
                .into(),
        )
        .col_expr(
            Column::WindowStartedAt,
            CaseStatement::new()
                .case(window_over, Expr::val(now))
                .finally(Expr::col(Column::WindowStartedAt))
                .into(),
        )
        .col_expr(Column::LastUsedAt, Expr::val(now))
        .filter(Column::Id.eq(row.id));
    // A request window and a last-used time that a crash loses cost nothing, so on PostgreSQL
    // this commit does not wait for the disk: a flush per API request was most of its time.
    let txn = super::begin_without_flush(&state.db).await?;
    let updated = updated.exec_with_returning(&txn).await.map_err(db_error)?;
    txn.commit().await.map_err(db_error)?;
    let Some(window) = updated.first() else {
        return Ok(());
    };
    if window.window_count > state.config.api_requests_per_minute as i32 {
        let ends = window.window_started_at.unwrap_or(now) + RATE_WINDOW;
        let retry_after = Ord::max((ends - now).num_seconds(), 1) as u64;
        return Err(AppError::RateLimited {
            message: format!(
                "This token made more than {} requests in a minute. Try again in {retry_after} s.",
                state.config.api_requests_per_minute
            ),
            retry_after_secs: retry_after,
        });
    }
    Ok(())
}

fn summary(row: api_tokens::Model, owner_email: String, tenant_slug: String, role_name: String) -> ApiTokenSummary {
    ApiTokenSummary {
        id: row.id,
        name: row.name,
        prefix: row.prefix,
        owner_email,
        tenant_id: row.tenant_id,
        tenant_slug,
        role_name,
        created_at: row.created_at,
        expires_at: row.expires_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
    }
}

/// Settings > API tokens: the caller's workspace's tokens (every token for the operator),
/// newest first.
pub async fn list(state: &AppState, actor: &Actor) -> Result<Vec<ApiTokenSummary>, AppError> {
    let scope = list_scope(actor, None, TOKENS_MANAGE)?;
    let db = &state.db;
    let mut query = api_tokens::Entity::find()
        .order_by_desc(api_tokens::Column::CreatedAt)
        .limit(u64::from(MAX_PAGE));
    if let Some(tenant_id) = scope {
        query = query.filter(api_tokens::Column::TenantId.eq(tenant_id));
    }
    let rows = query.all(db).await.map_err(db_error)?;
    let owners: HashMap<Uuid, String> = user_rows::Entity::find()
        .filter(user_rows::Column::Id.is_in(rows.iter().map(|r| r.user_id)))
        .all(db)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|u| (u.id, u.email))
        .collect();
    let tenants: HashMap<Uuid, String> = tenants::Entity::find()
        .filter(tenants::Column::Id.is_in(rows.iter().map(|r| r.tenant_id)))
        .all(db)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|t| (t.id, t.slug))
        .collect();
    let roles: HashMap<Uuid, String> = roles::Entity::find()
        .filter(roles::Column::Id.is_in(rows.iter().map(|r| r.role_id)))
        .all(db)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|r| (r.id, r.name))
        .collect();
    Ok(rows
        .into_iter()
        .map(|row| {
            let owner = owners.get(&row.user_id).cloned().unwrap_or_default();
            let tenant = tenants.get(&row.tenant_id).cloned().unwrap_or_default();
            let role = roles.get(&row.role_id).cloned().unwrap_or_default();
            summary(row, owner, tenant, role)
        })
        .collect())
}

/// "Create token" in Settings > API tokens: acts as its creator in the creator's workspace,
/// with the creator's role or a built-in role that grants no more.
pub async fn create_for(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    request: NewApiToken,
) -> Result<CreatedApiToken, AppError> {
    require(actor, TOKENS_MANAGE, actor.tenant.id)?;
    if actor.token_id.is_some() {
        return Err(AppError::forbidden(
            "API tokens are created in the console or with `latchkey token create`, not by another token.",
        ));
    }
    let lifetime = match request.expires_in_days {
        None => None,
        Some(days @ 1..=365) => Some(Duration::days(i64::from(days))),
        Some(_) => return Err(AppError::invalid("expiresInDays", "A token lives 1 to 365 days.")),
    };
    let role = match request.role.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
        None => actor.role.clone(),
        Some(key) => {
            let role = builtin_role(&state.db, key)
                .await
                .map_err(|_| AppError::invalid("role", format!("No built-in role is called {key}.")))?;
            let lesser = permissions_of(&role).iter().all(|p| grants(&actor.role.permissions, p));
            if !lesser || permissions_of(&role).is_empty() {
                return Err(AppError::invalid(
                    "role",
                    format!(
                        "A token cannot have the role {}: choose one that grants no more than yours.",
                        role.name
                    ),
                ));
            }
            role
        }
    };
    let txn = super::begin(&state.db).await?;
    let created = insert(
        &txn,
        state.clock.now(),
        &actor.user,
        &actor.tenant,
        &role,
        &request.name,
        lifetime,
    )
    .await?;
    audit::record(
        &txn,
        state.clock.as_ref(),
        actor,
        meta,
        audit::Change {
            action: "api_token.created",
            target_type: "api_token",
            target_id: Some(created.row.id.to_string()),
            tenant_id: Some(actor.tenant.id),
            before: None,
            after: Some(json!({ "name": created.row.name, "role": role.name, "expires_at": created.row.expires_at })),
        },
    )
    .await?;
    txn.commit().await.map_err(db_error)?;
    Ok(CreatedApiToken {
        token: created.token,
        summary: summary(
            created.row,
            actor.user.email.clone(),
            actor.tenant.slug.clone(),
            role.name,
        ),
    })
}

/// "Revoke": the token stops working at once.
pub async fn revoke(state: &AppState, actor: &Actor, meta: &RequestMeta, token_id: Uuid) -> Result<(), AppError> {
    let not_found = || AppError::not_found("No such API token.");
    let row = api_tokens::Entity::find_by_id(token_id)
        .one(&state.db)
        .await
        .map_err(db_error)?
        .ok_or_else(not_found)?;
    require(actor, TOKENS_MANAGE, row.tenant_id)?;
    if row.revoked_at.is_some() {
        return Ok(());
    }
    let txn = super::begin(&state.db).await?;
    let now = state.clock.now();
    api_tokens::Entity::update_many()
        .col_expr(api_tokens::Column::RevokedAt, Expr::value(now))
        .filter(api_tokens::Column::Id.eq(row.id))
        .exec(&txn)
        .await
        .map_err(db_error)?;
    audit::record(
        &txn,
        state.clock.as_ref(),
        actor,
        meta,
        audit::Change {
            action: "api_token.revoked",
            target_type: "api_token",
            target_id: Some(row.id.to_string()),
            tenant_id: Some(row.tenant_id),
            before: Some(json!({ "name": row.name })),
            after: Some(json!({ "revoked_at": now })),
        },
    )
    .await?;
    txn.commit().await.map_err(db_error)
}
