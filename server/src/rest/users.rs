use super::ApiCaller;
use crate::http_errors::ApiError;
use app::AppError;
use app::server::AppState;
use app::server::entities::memberships;
use app::server::services::{recovery, users};
use app::types::UserProfile;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use uuid::Uuid;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users/me", get(me))
        .route("/users/{id}/password-reset-link", post(password_reset_link))
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
    let user_id = parse_id(&id)?;
    let choice: TenantChoice = optional_json(&body)?;
    let tenant_id = target_tenant(&state, &actor, user_id, choice).await?;
    recovery::send_reset_link(&state, &actor, &meta, user_id, tenant_id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(serde_json::json!({ "sent": true, "tenantId": tenant_id })),
    ))
}
