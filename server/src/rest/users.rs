//! `/users`: lists, one user, invites and the account actions of the console's row menus.

use super::csv_export::{self, CsvColumns};
use super::{ApiCaller, ApiQuery, optional_json, path_id, required_json};
use crate::http_errors::ApiError;
use app::AppError;
use app::server::entities::memberships;
use app::server::services::{
    account_actions, custom_roles, directory, email_change, invites, recovery, temporary_passwords,
};
use app::server::{Actor, AppState, RequestMeta};
use app::types::{
    AccessLink, BULK_LIMIT, BulkMfaReset, BulkResult, BulkResults, EmailChangeRequest, InviteOutcome, InviteRequest,
    MfaResetLevel, NewRole, PendingEmailChange, RemovedUser, RoleChange, RoleSummary, TemporaryPassword, UserDetail,
    UserListQuery, UserPage, UserProfile, UserRow,
};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::{Extension, Json};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, invite))
        .routes(routes!(list_csv))
        .routes(routes!(me))
        .routes(routes!(detail))
        .routes(routes!(remove_by_email))
        .routes(routes!(reset_mfa))
        .routes(routes!(password_reset_link))
        .routes(routes!(resend_invite))
        .routes(routes!(revoke_invite))
        .routes(routes!(access_link))
        .routes(routes!(temporary_password))
        .routes(routes!(lock))
        .routes(routes!(unlock))
        .routes(routes!(reset_cooldown))
        .routes(routes!(enable_access))
        .routes(routes!(disable_access))
        .routes(routes!(change_role))
        .routes(routes!(roles, create_role))
        .routes(routes!(change_email))
        .routes(routes!(resend_email_change))
        .routes(routes!(revoke_session))
}

/// Users, one row per membership, sorted by email.
#[utoipa::path(get, path = "/users", tag = "users", params(UserListQuery),
    responses((status = 200, body = UserPage)))]
async fn list(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    ApiQuery(query): ApiQuery<UserListQuery>,
) -> Result<Json<UserPage>, ApiError> {
    Ok(Json(directory::list(&state, &actor, &query).await?))
}

impl CsvColumns for UserRow {
    const HEADER: &'static [&'static str] = &[
        "email",
        "username",
        "display_name",
        "workspace",
        "role",
        "status",
        "mfa",
        "locked_reason",
        "created_at",
    ];

    fn record(&self) -> Vec<String> {
        vec![
            self.email.clone(),
            self.username.clone().unwrap_or_default(),
            self.display_name.clone(),
            self.tenant_slug.clone(),
            self.role_name.clone(),
            self.status.label().to_owned(),
            if self.mfa_enrolled { "enrolled" } else { "not enrolled" }.to_owned(),
            self.locked_reason.clone().unwrap_or_default(),
            self.created_at.to_rfc3339(),
        ]
    }
}

/// The same list as CSV: every row the filters match, streamed (`limit` and `cursor` do not apply).
#[utoipa::path(get, path = "/users.csv", tag = "users", params(UserListQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "CSV with a header row")))]
async fn list_csv(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    ApiQuery(query): ApiQuery<UserListQuery>,
) -> Result<Response, ApiError> {
    // Every matching row goes out, so `limit` and `cursor` are checked but not used.
    app::server::services::directory::page_size(query.limit)?;
    let first = UserListQuery {
        cursor: None,
        limit: Some(app::types::MAX_PAGE),
        ..query
    };
    csv_export::stream("users.csv", first, move |query: UserListQuery| {
        let (state, actor) = (state.clone(), actor.clone());
        async move {
            let page = directory::list_page(&state, &actor, &query, false).await?;
            let next = page.next_cursor.map(|cursor| UserListQuery {
                cursor: Some(cursor),
                ..query
            });
            Ok((page.users, next))
        }
    })
    .await
}

/// The user the token acts as.
#[utoipa::path(get, path = "/users/me", tag = "users", responses((status = 200, body = UserProfile)))]
async fn me(State(state): State<AppState>, ApiCaller(actor): ApiCaller) -> Result<Json<UserProfile>, ApiError> {
    Ok(Json(app::server::services::users::profile(&state, &actor.user).await?))
}

/// One user: profile, the memberships the caller may see, factors and sessions.
#[utoipa::path(get, path = "/users/{id}", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")),
    responses((status = 200, body = UserDetail)))]
async fn detail(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<UserDetail>, ApiError> {
    let user_id = path_id(&id, "user")?;
    Ok(Json(directory::detail(&state, &actor, user_id).await?))
}

/// Removes the user from every workspace the caller manages (the user itself goes when no
/// workspace is left) and says which.
#[utoipa::path(delete, path = "/users/by-email/{email}", tag = "users",
    params(("email" = String, Path, description = "The user's main email")),
    responses((status = 200, body = RemovedUser)))]
async fn remove_by_email(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<RequestMeta>,
    Path(email): Path<String>,
) -> Result<Json<RemovedUser>, ApiError> {
    Ok(Json(directory::remove_by_email(&state, &actor, &meta, &email).await?))
}

/// A body that may name the workspace an action is for.
trait ChoosesTenant {
    fn tenant_id(&self) -> Option<Uuid>;
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TenantChoice {
    /// Which of the user's workspaces the action is for; optional when the user has one, or
    /// for a tenant's token.
    tenant_id: Option<Uuid>,
}

impl ChoosesTenant for TenantChoice {
    fn tenant_id(&self) -> Option<Uuid> {
        self.tenant_id
    }
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
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

/// What an account action did to the membership.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ActionDone {
    tenant_id: Uuid,
    /// What happened, in words for a toast or a log.
    message: String,
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

impl<B: ChoosesTenant> ChoosesTenant for Option<B> {
    fn tenant_id(&self) -> Option<Uuid> {
        self.as_ref().and_then(ChoosesTenant::tenant_id)
    }
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
        let user_id = path_id(&id, "user")?;
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

fn done(tenant_id: Uuid, message: &str) -> Json<ActionDone> {
    Json(ActionDone {
        tenant_id,
        message: message.to_owned(),
    })
}

/// Invites a user: a pending membership and an emailed 7-day link, or one more workspace for
/// an existing user.
#[utoipa::path(post, path = "/users", tag = "users", request_body = InviteRequest,
    responses((status = 201, body = InviteOutcome)))]
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

/// "Send Reset Password Link": emailed, valid 24 hours, single use.
#[utoipa::path(post, path = "/users/{id}/password-reset-link", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")), request_body(content = Option<TenantChoice>),
    responses((status = 202, body = ActionDone)))]
async fn password_reset_link(
    State(state): State<AppState>,
    a: UserAction,
) -> Result<(StatusCode, Json<ActionDone>), ApiError> {
    recovery::send_reset_link(&state, &a.actor, &a.meta, a.user_id, a.tenant_id).await?;
    Ok((
        StatusCode::ACCEPTED,
        done(a.tenant_id, "A password reset link was sent."),
    ))
}

/// "Resend Invite": a new emailed link; older links stop working.
#[utoipa::path(post, path = "/users/{id}/invite/resend", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")), request_body(content = Option<TenantChoice>),
    responses((status = 202, body = InviteOutcome)))]
async fn resend_invite(
    State(state): State<AppState>,
    a: UserAction,
) -> Result<(StatusCode, Json<InviteOutcome>), ApiError> {
    let outcome = invites::resend(&state, &a.actor, &a.meta, a.user_id, a.tenant_id).await?;
    Ok((StatusCode::ACCEPTED, Json(outcome)))
}

/// "Revoke Invite": the pending membership goes (and the user, when it was their only one).
#[utoipa::path(delete, path = "/users/{id}/invite", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")), request_body(content = Option<TenantChoice>),
    responses((status = 200, body = ActionDone)))]
async fn revoke_invite(State(state): State<AppState>, a: UserAction) -> Result<Json<ActionDone>, ApiError> {
    invites::revoke(&state, &a.actor, &a.meta, a.user_id, a.tenant_id).await?;
    Ok(done(a.tenant_id, "The invite was revoked."))
}

/// "Generate Access Link": the URL to copy; older links stop working.
#[utoipa::path(post, path = "/users/{id}/access-link", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")), request_body(content = Option<TenantChoice>),
    responses((status = 201, body = AccessLink)))]
async fn access_link(State(state): State<AppState>, a: UserAction) -> Result<(StatusCode, Json<AccessLink>), ApiError> {
    let link = invites::access_link(&state, &a.actor, &a.meta, a.user_id, a.tenant_id).await?;
    Ok((StatusCode::CREATED, Json(link)))
}

/// "Generate Temporary Password": shown once in this answer, valid 24 hours.
#[utoipa::path(post, path = "/users/{id}/temporary-password", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")), request_body(content = Option<TenantChoice>),
    responses((status = 201, body = TemporaryPassword)))]
async fn temporary_password(
    State(state): State<AppState>,
    a: UserAction,
) -> Result<(StatusCode, Json<TemporaryPassword>), ApiError> {
    let password = temporary_passwords::generate(&state, &a.actor, &a.meta, a.user_id, a.tenant_id).await?;
    Ok((StatusCode::CREATED, Json(password)))
}

/// "Lock Account", with an optional reason; the user's sessions end.
#[utoipa::path(post, path = "/users/{id}/lock", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")), request_body(content = Option<LockRequest>),
    responses((status = 200, body = ActionDone)))]
async fn lock(State(state): State<AppState>, a: UserAction<LockRequest>) -> Result<Json<ActionDone>, ApiError> {
    account_actions::lock(&state, &a.actor, &a.meta, a.user_id, a.tenant_id, &a.body.reason).await?;
    Ok(done(a.tenant_id, "The account was locked."))
}

/// "Unlock Account".
#[utoipa::path(post, path = "/users/{id}/unlock", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")), request_body(content = Option<TenantChoice>),
    responses((status = 200, body = ActionDone)))]
async fn unlock(State(state): State<AppState>, a: UserAction) -> Result<Json<ActionDone>, ApiError> {
    account_actions::unlock(&state, &a.actor, &a.meta, a.user_id, a.tenant_id).await?;
    Ok(done(a.tenant_id, "The account was unlocked."))
}

/// "Reset Cooldown": ends an MFA verification cooldown.
#[utoipa::path(post, path = "/users/{id}/cooldown/reset", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")), request_body(content = Option<TenantChoice>),
    responses((status = 200, body = ActionDone)))]
async fn reset_cooldown(State(state): State<AppState>, a: UserAction) -> Result<Json<ActionDone>, ApiError> {
    account_actions::reset_cooldown(&state, &a.actor, &a.meta, a.user_id, a.tenant_id).await?;
    Ok(done(a.tenant_id, "The cooldown was reset."))
}

/// "Enable Access": a disabled account may sign in again.
#[utoipa::path(post, path = "/users/{id}/enable", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")), request_body(content = Option<TenantChoice>),
    responses((status = 200, body = ActionDone)))]
async fn enable_access(State(state): State<AppState>, a: UserAction) -> Result<Json<ActionDone>, ApiError> {
    account_actions::enable_access(&state, &a.actor, &a.meta, a.user_id, a.tenant_id).await?;
    Ok(done(a.tenant_id, "Access was enabled."))
}

/// "Disable Access": the account may not sign in to the workspace until access is enabled
/// again; its sessions there end.
#[utoipa::path(post, path = "/users/{id}/disable", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")), request_body(content = Option<TenantChoice>),
    responses((status = 200, body = ActionDone)))]
async fn disable_access(State(state): State<AppState>, a: UserAction) -> Result<Json<ActionDone>, ApiError> {
    account_actions::disable_access(&state, &a.actor, &a.meta, a.user_id, a.tenant_id).await?;
    Ok(done(a.tenant_id, "Access was disabled."))
}

impl ChoosesTenant for RoleChange {
    fn tenant_id(&self) -> Option<Uuid> {
        self.tenant_id
    }
}

/// "Change Role": another role that may be held in the workspace (see `GET /roles`).
#[utoipa::path(post, path = "/users/{id}/role", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")), request_body = RoleChange,
    responses((status = 200, body = ActionDone)))]
async fn change_role(
    State(state): State<AppState>,
    a: UserAction<Option<RoleChange>>,
) -> Result<Json<ActionDone>, ApiError> {
    let role_id = a
        .body
        .as_ref()
        .map(|b| b.role_id)
        .ok_or_else(|| AppError::bad_request("Send {\"roleId\": ...}."))?;
    account_actions::change_role(&state, &a.actor, &a.meta, (a.user_id, a.tenant_id), role_id).await?;
    Ok(done(a.tenant_id, "The role was changed."))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RoleQuery {
    /// The roles that may be held in this workspace; every role when left out (operator).
    tenant_id: Option<Uuid>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RoleList {
    roles: Vec<RoleSummary>,
}

/// Roles with their permissions and how many memberships hold each.
#[utoipa::path(get, path = "/roles", tag = "users", params(RoleQuery), responses((status = 200, body = RoleList)))]
async fn roles(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    ApiQuery(query): ApiQuery<RoleQuery>,
) -> Result<Json<RoleList>, ApiError> {
    Ok(Json(RoleList {
        roles: directory::roles(&state, &actor, query.tenant_id, true).await?,
    }))
}

/// Resets MFA for up to 1000 users and answers per id.
#[utoipa::path(put, path = "/users/mfa/reset", tag = "users", request_body = BulkMfaReset,
    responses((status = 200, body = BulkResults)))]
async fn reset_mfa(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<RequestMeta>,
    body: Bytes,
) -> Result<Json<BulkResults>, ApiError> {
    let request: BulkMfaReset = required_json(&body)?;
    if request.ids.is_empty() || request.ids.len() > BULK_LIMIT {
        return Err(AppError::invalid("ids", format!("Send 1 to {BULK_LIMIT} user ids.")).into());
    }
    let level = request.level.unwrap_or(MfaResetLevel::User);
    let mut results = Vec::with_capacity(request.ids.len());
    for user_id in request.ids {
        let outcome = match target_tenant(&state, &actor, user_id, request.tenant_id).await {
            Ok(tenant_id) => account_actions::reset_mfa(&state, &actor, &meta, (user_id, tenant_id), level).await,
            Err(error) => Err(error),
        };
        results.push(BulkResult::of(
            user_id,
            outcome,
            "MFA was reset. The user sets it up again at the next sign-in.",
        ));
    }
    Ok(Json(BulkResults { results }))
}

/// Changes the main email: a confirmation link goes to the new address, and the change applies
/// only when it is used (the old address is then told). Asking again voids the older link.
#[utoipa::path(post, path = "/users/{id}/email", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")), request_body = EmailChangeRequest,
    responses((status = 202, body = PendingEmailChange)))]
async fn change_email(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<RequestMeta>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<PendingEmailChange>), ApiError> {
    let user_id = path_id(&id, "user")?;
    let request: EmailChangeRequest = required_json(&body)?;
    let pending = email_change::request(&state, &actor, &meta, user_id, &request.email).await?;
    Ok((StatusCode::ACCEPTED, Json(pending)))
}

/// Sends the waiting email change's confirmation again; the older link stops working.
#[utoipa::path(post, path = "/users/{id}/email/resend", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id")),
    responses((status = 202, body = PendingEmailChange)))]
async fn resend_email_change(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<RequestMeta>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<PendingEmailChange>), ApiError> {
    let user_id = path_id(&id, "user")?;
    let pending = email_change::resend(&state, &actor, &meta, user_id).await?;
    Ok((StatusCode::ACCEPTED, Json(pending)))
}

/// Ends one of the user's sessions.
#[utoipa::path(delete, path = "/users/{id}/sessions/{sessionId}", tag = "users",
    params(("id" = Uuid, Path, description = "The user's id"), ("sessionId" = Uuid, Path, description = "The session's id")),
    responses((status = 204)))]
async fn revoke_session(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<RequestMeta>,
    Path((id, session)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let user_id = path_id(&id, "user")?;
    let session_id = path_id(&session, "session")?;
    directory::revoke_session(&state, &actor, &meta, user_id, session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A custom role for one workspace (the token's own when `tenantId` is left out), with
/// permissions no wider than the caller's.
#[utoipa::path(post, path = "/roles", tag = "users", request_body = NewRole,
    responses((status = 201, body = RoleSummary)))]
async fn create_role(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<RequestMeta>,
    body: Bytes,
) -> Result<(StatusCode, Json<RoleSummary>), ApiError> {
    let request: NewRole = required_json(&body)?;
    let role = custom_roles::create(&state, &actor, &meta, request).await?;
    Ok((StatusCode::CREATED, Json(role)))
}
