use super::ApiCaller;
use crate::http_errors::ApiError;
use app::AppError;
use app::server::AppState;
use app::server::entities::memberships;
use app::server::services::account_actions::{self, MfaResetResult};
use app::server::services::{invites, recovery, temporary_passwords, users};
use app::types::{AccessLink, InviteOutcome, InviteRequest, TemporaryPassword, UserProfile};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Extension, Json, Router};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users/me", get(me))
        .route("/users", post(invite))
        .route("/users/{id}/password-reset-link", post(password_reset_link))
        .route("/users/{id}/invite/resend", post(resend_invite))
        .route("/users/{id}/invite", delete(revoke_invite))
        .route("/users/{id}/access-link", post(access_link))
        .route("/users/{id}/temporary-password", post(temporary_password))
        .route("/users/{id}/lock", post(lock))
        .route("/users/{id}/unlock", post(unlock))
        .route("/users/{id}/cooldown/reset", post(reset_cooldown))
        .route("/users/mfa/reset", put(reset_mfa))
}

/// The user the token acts as.
async fn me(State(state): State<AppState>, ApiCaller(actor): ApiCaller) -> Result<Json<UserProfile>, ApiError> {
    Ok(Json(users::profile(&state, &actor.user).await?))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TenantChoice {
    /// Which of the user's workspaces the action is for; optional when it is clear.
    tenant_id: Option<Uuid>,
}

/// Reads an optional JSON body, refusing malformed JSON and unknown fields with a clear 400.
fn optional_json<T: Default + for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| AppError::bad_request(format!("The JSON body could not be read: {e}")))
}

/// Reads a required JSON body with the same clear 400 for malformed JSON and unknown fields.
fn required_json<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::bad_request("Send a JSON body."));
    }
    serde_json::from_slice(body).map_err(|e| AppError::bad_request(format!("The JSON body could not be read: {e}")))
}

fn parse_id(raw: &str) -> Result<Uuid, AppError> {
    raw.parse().map_err(|_| AppError::not_found("No such user."))
}

/// The workspace an action on `user_id` is for: the body's `tenantId`, else the token's own
/// tenant, else the user's only workspace.
async fn target_tenant(
    state: &AppState,
    actor: &app::server::Actor,
    user_id: Uuid,
    choice: TenantChoice,
) -> Result<Uuid, AppError> {
    if let Some(tenant_id) = choice.tenant_id {
        return Ok(tenant_id);
    }
    if actor.tenant.kind != app::types::TenantKind::Operator.as_str() {
        return Ok(actor.tenant.id);
    }
    let homes = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .all(&state.db)
        .await
        .map_err(|_| AppError::internal())?;
    match homes.as_slice() {
        [only] => Ok(only.tenant_id),
        [] => Err(AppError::not_found("No such user.")),
        _ => Err(AppError::invalid(
            "tenantId",
            "The user belongs to several workspaces: say which one in tenantId.",
        )),
    }
}

/// "Send Reset Password Link" (24 hours, single use).
async fn password_reset_link(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<app::server::RequestMeta>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let (user_id, tenant_id) = user_action_target(&state, &actor, &id, &body).await?;
    recovery::send_reset_link(&state, &actor, &meta, user_id, tenant_id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "sent": true, "tenantId": tenant_id })),
    ))
}

/// "Invite user": `POST /users` with `{"email", "displayName", "username"?, "tenantId"?, "role"?}`.
async fn invite(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<app::server::RequestMeta>,
    body: Bytes,
) -> Result<(StatusCode, Json<InviteOutcome>), ApiError> {
    let request: InviteRequest = required_json(&body)?;
    let outcome = invites::invite(&state, &actor, &meta, request).await?;
    Ok((StatusCode::CREATED, Json(outcome)))
}

/// The user and workspace a per-user action is for, from the path and the optional body.
async fn user_action_target(
    state: &AppState,
    actor: &app::server::Actor,
    id: &str,
    body: &Bytes,
) -> Result<(Uuid, Uuid), AppError> {
    let user_id = parse_id(id)?;
    let choice: TenantChoice = optional_json(body)?;
    Ok((user_id, target_tenant(state, actor, user_id, choice).await?))
}

/// "Resend Invite": a new emailed link; older links stop working.
async fn resend_invite(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<app::server::RequestMeta>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<InviteOutcome>), ApiError> {
    let (user_id, tenant_id) = user_action_target(&state, &actor, &id, &body).await?;
    let outcome = invites::resend(&state, &actor, &meta, user_id, tenant_id).await?;
    Ok((StatusCode::ACCEPTED, Json(outcome)))
}

/// "Revoke Invite".
async fn revoke_invite(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<app::server::RequestMeta>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (user_id, tenant_id) = user_action_target(&state, &actor, &id, &body).await?;
    invites::revoke(&state, &actor, &meta, user_id, tenant_id).await?;
    Ok(Json(serde_json::json!({ "revoked": true, "tenantId": tenant_id })))
}

/// "Generate Access Link": the URL to copy; older links stop working.
async fn access_link(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<app::server::RequestMeta>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<AccessLink>), ApiError> {
    let (user_id, tenant_id) = user_action_target(&state, &actor, &id, &body).await?;
    let link = invites::access_link(&state, &actor, &meta, user_id, tenant_id).await?;
    Ok((StatusCode::CREATED, Json(link)))
}

/// "Generate Temporary Password": shown once in this answer.
async fn temporary_password(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<app::server::RequestMeta>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<TemporaryPassword>), ApiError> {
    let (user_id, tenant_id) = user_action_target(&state, &actor, &id, &body).await?;
    let password = temporary_passwords::generate(&state, &actor, &meta, user_id, tenant_id).await?;
    Ok((StatusCode::CREATED, Json(password)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LockRequest {
    tenant_id: Option<Uuid>,
    /// Shown to admins on the Edit User page.
    #[serde(default)]
    reason: String,
}

/// "Lock Account", with an optional reason.
async fn lock(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<app::server::RequestMeta>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let user_id = parse_id(&id)?;
    let request: LockRequest = optional_json(&body)?;
    let choice = TenantChoice {
        tenant_id: request.tenant_id,
    };
    let tenant_id = target_tenant(&state, &actor, user_id, choice).await?;
    account_actions::lock(&state, &actor, &meta, user_id, tenant_id, &request.reason).await?;
    Ok(Json(serde_json::json!({ "status": "locked", "tenantId": tenant_id })))
}

/// "Unlock Account".
async fn unlock(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<app::server::RequestMeta>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (user_id, tenant_id) = user_action_target(&state, &actor, &id, &body).await?;
    account_actions::unlock(&state, &actor, &meta, user_id, tenant_id).await?;
    Ok(Json(serde_json::json!({ "status": "active", "tenantId": tenant_id })))
}

/// "Reset Cooldown".
async fn reset_cooldown(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<app::server::RequestMeta>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (user_id, tenant_id) = user_action_target(&state, &actor, &id, &body).await?;
    account_actions::reset_cooldown(&state, &actor, &meta, user_id, tenant_id).await?;
    Ok(Json(serde_json::json!({ "status": "active", "tenantId": tenant_id })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BulkMfaReset {
    ids: Vec<Uuid>,
    tenant_id: Option<Uuid>,
}

/// At most this many users in one bulk reset.
const BULK_LIMIT: usize = 1000;

/// `PUT /users/mfa/reset` with `{"ids": [...]}`: resets each user's MFA and answers per id.
async fn reset_mfa(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<app::server::RequestMeta>,
    body: Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let request: BulkMfaReset = required_json(&body)?;
    if request.ids.is_empty() || request.ids.len() > BULK_LIMIT {
        return Err(AppError::invalid("ids", format!("Send 1 to {BULK_LIMIT} user ids.")).into());
    }
    let mut results: Vec<MfaResetResult> = Vec::with_capacity(request.ids.len());
    for user_id in request.ids {
        let choice = TenantChoice {
            tenant_id: request.tenant_id,
        };
        let result = match target_tenant(&state, &actor, user_id, choice).await {
            Ok(tenant_id) => account_actions::reset_mfa_bulk(&state, &actor, &meta, &[(user_id, tenant_id)]).await,
            Err(error) => vec![MfaResetResult {
                id: user_id,
                result: error.code().into(),
                message: error.message().into(),
            }],
        };
        results.extend(result);
    }
    Ok(Json(serde_json::json!({ "results": results })))
}
