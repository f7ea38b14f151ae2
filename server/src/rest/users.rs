use super::ApiCaller;
use crate::http_errors::ApiError;
use app::AppError;
use app::server::entities::memberships;
use app::server::services::account_actions::{self, MfaResetLevel, MfaResetResult};
use app::server::services::{invites, recovery, temporary_passwords, users};
use app::server::{Actor, AppState, RequestMeta};
use app::types::{AccessLink, InviteOutcome, InviteRequest, TemporaryPassword, UserProfile};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post, put};
use axum::{Extension, Json, Router};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
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

/// A body that may name the workspace an action is for.
trait ChoosesTenant {
    fn tenant_id(&self) -> Option<Uuid>;
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TenantChoice {
    /// Which of the user's workspaces the action is for; optional when it is clear.
    tenant_id: Option<Uuid>,
}

impl ChoosesTenant for TenantChoice {
    fn tenant_id(&self) -> Option<Uuid> {
        self.tenant_id
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LockRequest {
    tenant_id: Option<Uuid>,
    /// Shown to admins on the Edit User page.
    #[serde(default)]
    reason: String,
}

impl ChoosesTenant for LockRequest {
    fn tenant_id(&self) -> Option<Uuid> {
        self.tenant_id
    }
}

/// Reads an optional JSON body, refusing malformed JSON and unknown fields with a clear 400.
fn optional_json<T: Default + DeserializeOwned>(body: &Bytes) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| AppError::bad_request(format!("The JSON body could not be read: {e}")))
}

/// Reads a required JSON body with the same clear 400 for malformed JSON and unknown fields.
fn required_json<T: DeserializeOwned>(body: &Bytes) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::bad_request("Send a JSON body."));
    }
    serde_json::from_slice(body).map_err(|e| AppError::bad_request(format!("The JSON body could not be read: {e}")))
}

/// The workspace an action on `user_id` is for: the body's `tenantId`, else the token's own
/// tenant, else the user's only workspace.
async fn target_tenant(state: &AppState, actor: &Actor, user_id: Uuid, chosen: Option<Uuid>) -> Result<Uuid, AppError> {
    if let Some(tenant_id) = chosen {
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

/// An action on one user (`/users/{id}/...`): the caller, the user, the workspace it is for
/// and the optional JSON body.
struct UserAction<B = TenantChoice> {
    actor: Actor,
    meta: RequestMeta,
    user_id: Uuid,
    tenant_id: Uuid,
    body: B,
}

impl<B: Default + DeserializeOwned + ChoosesTenant + Send> FromRequest<AppState> for UserAction<B> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = request.into_parts();
        let ApiCaller(actor) = ApiCaller::from_request_parts(&mut parts, state).await?;
        let meta = parts.extensions.get::<RequestMeta>().cloned().unwrap_or_default();
        let Path(id) = Path::<String>::from_request_parts(&mut parts, state)
            .await
            .map_err(|_| AppError::not_found("No such user."))?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|_| AppError::bad_request("The request body could not be read."))?;
        let user_id = id.parse().map_err(|_| AppError::not_found("No such user."))?;
        let body: B = optional_json(&bytes)?;
        let tenant_id = target_tenant(state, &actor, user_id, body.tenant_id()).await?;
        Ok(Self {
            actor,
            meta,
            user_id,
            tenant_id,
            body,
        })
    }
}

/// "Invite user": `POST /users` with `{"email", "displayName", "username"?, "tenantId"?, "role"?}`.
async fn invite(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<RequestMeta>,
    body: Bytes,
) -> Result<(StatusCode, Json<InviteOutcome>), ApiError> {
    let request: InviteRequest = required_json(&body)?;
    let outcome = invites::invite(&state, &actor, &meta, request).await?;
    Ok((StatusCode::CREATED, Json(outcome)))
}

/// "Send Reset Password Link" (24 hours, single use).
async fn password_reset_link(
    State(state): State<AppState>,
    a: UserAction,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    recovery::send_reset_link(&state, &a.actor, &a.meta, a.user_id, a.tenant_id).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "sent": true, "tenantId": a.tenant_id })),
    ))
}

/// "Resend Invite": a new emailed link; older links stop working.
async fn resend_invite(
    State(state): State<AppState>,
    a: UserAction,
) -> Result<(StatusCode, Json<InviteOutcome>), ApiError> {
    let outcome = invites::resend(&state, &a.actor, &a.meta, a.user_id, a.tenant_id).await?;
    Ok((StatusCode::ACCEPTED, Json(outcome)))
}

/// "Revoke Invite".
async fn revoke_invite(State(state): State<AppState>, a: UserAction) -> Result<Json<Value>, ApiError> {
    invites::revoke(&state, &a.actor, &a.meta, a.user_id, a.tenant_id).await?;
    Ok(Json(json!({ "revoked": true, "tenantId": a.tenant_id })))
}

/// "Generate Access Link": the URL to copy; older links stop working.
async fn access_link(State(state): State<AppState>, a: UserAction) -> Result<(StatusCode, Json<AccessLink>), ApiError> {
    let link = invites::access_link(&state, &a.actor, &a.meta, a.user_id, a.tenant_id).await?;
    Ok((StatusCode::CREATED, Json(link)))
}

/// "Generate Temporary Password": shown once in this answer.
async fn temporary_password(
    State(state): State<AppState>,
    a: UserAction,
) -> Result<(StatusCode, Json<TemporaryPassword>), ApiError> {
    let password = temporary_passwords::generate(&state, &a.actor, &a.meta, a.user_id, a.tenant_id).await?;
    Ok((StatusCode::CREATED, Json(password)))
}

/// "Lock Account", with an optional reason.
async fn lock(State(state): State<AppState>, a: UserAction<LockRequest>) -> Result<Json<Value>, ApiError> {
    account_actions::lock(&state, &a.actor, &a.meta, a.user_id, a.tenant_id, &a.body.reason).await?;
    Ok(Json(json!({ "status": "locked", "tenantId": a.tenant_id })))
}

/// "Unlock Account".
async fn unlock(State(state): State<AppState>, a: UserAction) -> Result<Json<Value>, ApiError> {
    account_actions::unlock(&state, &a.actor, &a.meta, a.user_id, a.tenant_id).await?;
    Ok(Json(json!({ "status": "active", "tenantId": a.tenant_id })))
}

/// "Reset Cooldown".
async fn reset_cooldown(State(state): State<AppState>, a: UserAction) -> Result<Json<Value>, ApiError> {
    account_actions::reset_cooldown(&state, &a.actor, &a.meta, a.user_id, a.tenant_id).await?;
    Ok(Json(json!({ "status": "active", "tenantId": a.tenant_id })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BulkMfaReset {
    ids: Vec<Uuid>,
    tenant_id: Option<Uuid>,
    /// `user` (default): every factor; `org`: the factors set up on that workspace.
    #[serde(default = "user_level")]
    level: MfaResetLevel,
}

fn user_level() -> MfaResetLevel {
    MfaResetLevel::User
}

/// At most this many users in one bulk reset.
const BULK_LIMIT: usize = 1000;

/// `PUT /users/mfa/reset` with `{"ids": [...]}`: resets each user's MFA and answers per id.
async fn reset_mfa(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<RequestMeta>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let request: BulkMfaReset = required_json(&body)?;
    if request.ids.is_empty() || request.ids.len() > BULK_LIMIT {
        return Err(AppError::invalid("ids", format!("Send 1 to {BULK_LIMIT} user ids.")).into());
    }
    let mut results: Vec<MfaResetResult> = Vec::with_capacity(request.ids.len());
    for user_id in request.ids {
        let outcome = match target_tenant(&state, &actor, user_id, request.tenant_id).await {
            Ok(tenant_id) => {
                account_actions::reset_mfa(&state, &actor, &meta, (user_id, tenant_id), request.level).await
            }
            Err(error) => Err(error),
        };
        results.push(MfaResetResult::of(user_id, outcome));
    }
    Ok(Json(json!({ "results": results })))
}
