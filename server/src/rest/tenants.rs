//! `/tenants`: list, create, read one, MFA enforcement, settings and single sign-on.

use super::{ApiCaller, path_id, required_json};
use crate::http_errors::ApiError;
use app::server::services::{sso, tenant_admin};
use app::server::{AppState, RequestMeta};
use app::types::{
    NewTenant, SsoConfig, SsoConfigUpdate, SsoConnectionReport, SsoConnectionTest, TenantMfaSetting, TenantSettings,
    TenantSummary,
};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(get_one))
        .routes(routes!(set_mfa))
        .routes(routes!(update_settings))
        .routes(routes!(get_sso, update_sso))
        .routes(routes!(test_sso))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct TenantList {
    tenants: Vec<TenantSummary>,
}

/// The workspaces the token may see (a tenant's token: its own), by name.
#[utoipa::path(get, path = "/tenants", tag = "tenants", responses((status = 200, body = TenantList)))]
async fn list(State(state): State<AppState>, ApiCaller(actor): ApiCaller) -> Result<Json<TenantList>, ApiError> {
    Ok(Json(TenantList {
        tenants: tenant_admin::list(&state, &actor).await?,
    }))
}

/// Creates a workspace at `<slug>.<base>`. Operator tokens only.
#[utoipa::path(post, path = "/tenants", tag = "tenants", request_body = NewTenant,
    responses((status = 201, body = TenantSummary)))]
async fn create(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<RequestMeta>,
    body: Bytes,
) -> Result<(StatusCode, Json<TenantSummary>), ApiError> {
    let request: NewTenant = required_json(&body)?;
    let tenant = tenant_admin::create(&state, &actor, &meta, request).await?;
    Ok((StatusCode::CREATED, Json(tenant)))
}

#[utoipa::path(get, path = "/tenants/{id}", tag = "tenants",
    params(("id" = Uuid, Path, description = "The workspace's id")),
    responses((status = 200, body = TenantSummary)))]
async fn get_one(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<TenantSummary>, ApiError> {
    let tenant_id = path_id(&id, "workspace")?;
    Ok(Json(tenant_admin::get(&state, &actor, tenant_id).await?))
}

/// Turns MFA enforcement on or off: with it on, users without a factor set one up at their
/// next sign-in before anything else.
#[utoipa::path(put, path = "/tenants/{id}/mfa", tag = "tenants",
    params(("id" = Uuid, Path, description = "The workspace's id")), request_body = TenantMfaSetting,
    responses((status = 200, body = TenantSummary)))]
async fn set_mfa(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<RequestMeta>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<TenantSummary>, ApiError> {
    let tenant_id = path_id(&id, "workspace")?;
    let setting: TenantMfaSetting = required_json(&body)?;
    Ok(Json(
        tenant_admin::set_mfa(&state, &actor, &meta, tenant_id, setting).await?,
    ))
}

/// Tenant › Settings: sign-in mode, MFA enforcement and policy overrides, replaced together.
#[utoipa::path(put, path = "/tenants/{id}/settings", tag = "tenants",
    params(("id" = Uuid, Path, description = "The workspace's id")), request_body = TenantSettings,
    responses((status = 200, body = TenantSummary)))]
async fn update_settings(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<RequestMeta>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<TenantSummary>, ApiError> {
    let tenant_id = path_id(&id, "workspace")?;
    let settings: TenantSettings = required_json(&body)?;
    Ok(Json(
        tenant_admin::update_settings(&state, &actor, &meta, tenant_id, settings).await?,
    ))
}

/// Tenant › Settings › Single sign-on: the identity provider and the SSO policy. The client
/// secret is never returned.
#[utoipa::path(get, path = "/tenants/{id}/sso", tag = "tenants",
    params(("id" = Uuid, Path, description = "The workspace's id")),
    responses((status = 200, body = SsoConfig)))]
async fn get_sso(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(id): Path<String>,
) -> Result<Json<SsoConfig>, ApiError> {
    let tenant_id = path_id(&id, "workspace")?;
    Ok(Json(sso::config(&state, &actor, tenant_id).await?))
}

/// Sets the identity provider (issuer, client id, client secret, allowed email domains) and
/// whether unknown allowed emails get an account and Latchkey's MFA applies after SSO.
#[utoipa::path(put, path = "/tenants/{id}/sso", tag = "tenants",
    params(("id" = Uuid, Path, description = "The workspace's id")), request_body = SsoConfigUpdate,
    responses((status = 200, body = SsoConfig)))]
async fn update_sso(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<RequestMeta>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<SsoConfig>, ApiError> {
    let tenant_id = path_id(&id, "workspace")?;
    let update: SsoConfigUpdate = required_json(&body)?;
    Ok(Json(
        sso::update_config(&state, &actor, &meta, tenant_id, update).await?,
    ))
}

/// "Test connection": fetches the issuer's discovery document and keys and lists what is wrong.
#[utoipa::path(post, path = "/tenants/{id}/sso/test", tag = "tenants",
    params(("id" = Uuid, Path, description = "The workspace's id")), request_body = SsoConnectionTest,
    responses((status = 200, body = SsoConnectionReport)))]
async fn test_sso(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<SsoConnectionReport>, ApiError> {
    let tenant_id = path_id(&id, "workspace")?;
    let test: SsoConnectionTest = required_json(&body)?;
    Ok(Json(sso::test_connection(&state, &actor, tenant_id, test).await?))
}
