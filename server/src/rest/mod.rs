//! REST API v1: thin adapters from HTTP to the service layer.

mod users;

use crate::http_errors::ApiError;
use app::AppError;
use app::server::services::tokens;
use app::server::{Actor, AppState};
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::routing::any;

pub fn router() -> Router<AppState> {
    // An explicit catch-all: without it `/api/v1/<unknown>` would fall to the server-function route.
    Router::new().merge(users::router()).route(
        "/{*rest}",
        any(|| async { ApiError(AppError::not_found("No such API endpoint.")) }),
    )
}

/// The caller of an API request, from `Authorization: Bearer <token>`.
pub struct ApiCaller(pub Actor);

impl FromRequestParts<AppState> for ApiCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let missing = || AppError::Unauthenticated {
            reason: app::AuthFailure::NotSignedIn,
            message: "Send an API token: Authorization: Bearer <token>.".into(),
            reference: None,
            sign_in_url: None,
        };
        let header = parts.headers.get(AUTHORIZATION).ok_or_else(missing)?;
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or_else(missing)?;
        Ok(Self(tokens::authenticate(state, token).await?))
    }
}
