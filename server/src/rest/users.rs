use super::ApiCaller;
use crate::http_errors::ApiError;
use app::server::AppState;
use app::server::services::users;
use app::types::UserProfile;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

pub fn router() -> Router<AppState> {
    Router::new().route("/users/me", get(me))
}

/// The user the token acts as.
async fn me(State(state): State<AppState>, ApiCaller(actor): ApiCaller) -> Result<Json<UserProfile>, ApiError> {
    Ok(Json(users::profile(&state, &actor.user).await?))
}
