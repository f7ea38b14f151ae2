//! `/tokens`: the API tokens a script may list and revoke. New tokens come from the console
//! (Settings > API tokens) or `latchkey token create`, never from another token.

use super::{ApiCaller, path_id};
use crate::http_errors::ApiError;
use app::server::services::tokens;
use app::server::{AppState, RequestMeta};
use app::types::ApiTokenSummary;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(revoke))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct TokenList {
    tokens: Vec<ApiTokenSummary>,
}

/// The workspace's tokens (every token for an operator token), newest first. Never the token
/// itself: only its first characters.
#[utoipa::path(get, path = "/tokens", tag = "tokens", responses((status = 200, body = TokenList)))]
async fn list(State(state): State<AppState>, ApiCaller(actor): ApiCaller) -> Result<Json<TokenList>, ApiError> {
    Ok(Json(TokenList {
        tokens: tokens::list(&state, &actor).await?,
    }))
}

/// Revokes a token; it stops working at once.
#[utoipa::path(delete, path = "/tokens/{id}", tag = "tokens", operation_id = "revoke_token",
    params(("id" = Uuid, Path, description = "The token's id")),
    responses((status = 204, description = "Revoked")))]
async fn revoke(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    Extension(meta): Extension<RequestMeta>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let token_id = path_id(&id, "API token")?;
    tokens::revoke(&state, &actor, &meta, token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
