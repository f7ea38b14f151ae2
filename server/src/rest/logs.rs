//! `/events` (the MFA error log and other security events) and `/audit`, with `.csv` variants.

use super::csv_export::{self, CsvColumns};
use super::{ApiCaller, ApiQuery};
use crate::http_errors::ApiError;
use app::server::AppState;
use app::server::services::logs;
use app::types::{AuditPage, AuditQuery, AuditRow, EventPage, EventQuery, MAX_PAGE, SecurityEventRow};
use axum::Json;
use axum::extract::State;
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(events))
        .routes(routes!(events_csv))
        .routes(routes!(audit))
        .routes(routes!(audit_csv))
}

/// Security events, newest first. `q` takes a support reference (e.g. `7F3K-Q2M9`), or part of
/// an email or sign-in identifier.
#[utoipa::path(get, path = "/events", tag = "logs", params(EventQuery), responses((status = 200, body = EventPage)))]
async fn events(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    ApiQuery(query): ApiQuery<EventQuery>,
) -> Result<Json<EventPage>, ApiError> {
    Ok(Json(logs::events(&state, &actor, &query).await?))
}

impl CsvColumns for SecurityEventRow {
    const HEADER: &'static [&'static str] = &[
        "occurred_at",
        "reference",
        "type",
        "user",
        "workspace",
        "identifier",
        "ip",
        "user_agent",
        "detail",
    ];

    fn record(&self) -> Vec<String> {
        vec![
            self.occurred_at.to_rfc3339(),
            self.reference.clone(),
            self.type_label.clone(),
            self.user_email.clone().unwrap_or_default(),
            self.tenant_slug.clone().unwrap_or_default(),
            self.identifier.clone().unwrap_or_default(),
            self.ip.clone().unwrap_or_default(),
            self.user_agent.clone().unwrap_or_default(),
            self.detail.as_ref().map(|d| d.to_string()).unwrap_or_default(),
        ]
    }
}

/// The same events as CSV: every row the filters match, streamed (`limit` and `cursor` do not apply).
#[utoipa::path(get, path = "/events.csv", tag = "logs", params(EventQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "CSV with a header row")))]
async fn events_csv(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    ApiQuery(query): ApiQuery<EventQuery>,
) -> Result<Response, ApiError> {
    // Every matching row goes out, so `limit` and `cursor` are checked but not used.
    app::server::services::directory::page_size(query.limit)?;
    let first = EventQuery {
        cursor: None,
        limit: Some(MAX_PAGE),
        ..query
    };
    csv_export::stream("events.csv", first, move |query: EventQuery| {
        let (state, actor) = (state.clone(), actor.clone());
        async move {
            let page = logs::events(&state, &actor, &query).await?;
            let next = page.next_cursor.map(|cursor| EventQuery {
                cursor: Some(cursor),
                ..query
            });
            Ok((page.events, next))
        }
    })
    .await
}

/// The audit trail, newest first: every change an admin or a token made.
#[utoipa::path(get, path = "/audit", tag = "logs", params(AuditQuery), responses((status = 200, body = AuditPage)))]
async fn audit(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Json<AuditPage>, ApiError> {
    Ok(Json(logs::audit(&state, &actor, &query).await?))
}

impl CsvColumns for AuditRow {
    const HEADER: &'static [&'static str] = &[
        "occurred_at",
        "actor",
        "via_token",
        "action",
        "target_type",
        "target_id",
        "workspace",
        "ip",
        "request_id",
        "before",
        "after",
    ];

    fn record(&self) -> Vec<String> {
        vec![
            self.occurred_at.to_rfc3339(),
            self.actor_email.clone().unwrap_or_default(),
            self.actor_token_id.map(|id| id.to_string()).unwrap_or_default(),
            self.action.clone(),
            self.target_type.clone(),
            self.target_id.clone().unwrap_or_default(),
            self.tenant_slug.clone().unwrap_or_default(),
            self.ip.clone().unwrap_or_default(),
            self.request_id.clone().unwrap_or_default(),
            self.before.as_ref().map(|v| v.to_string()).unwrap_or_default(),
            self.after.as_ref().map(|v| v.to_string()).unwrap_or_default(),
        ]
    }
}

/// The same audit rows as CSV: every row the filters match, streamed (`limit` and `cursor` do not apply).
#[utoipa::path(get, path = "/audit.csv", tag = "logs", params(AuditQuery),
    responses((status = 200, content_type = "text/csv", body = String, description = "CSV with a header row")))]
async fn audit_csv(
    State(state): State<AppState>,
    ApiCaller(actor): ApiCaller,
    ApiQuery(query): ApiQuery<AuditQuery>,
) -> Result<Response, ApiError> {
    // Every matching row goes out, so `limit` and `cursor` are checked but not used.
    app::server::services::directory::page_size(query.limit)?;
    let first = AuditQuery {
        cursor: None,
        limit: Some(MAX_PAGE),
        ..query
    };
    csv_export::stream("audit.csv", first, move |query: AuditQuery| {
        let (state, actor) = (state.clone(), actor.clone());
        async move {
            let page = logs::audit(&state, &actor, &query).await?;
            let next = page.next_cursor.map(|cursor| AuditQuery {
                cursor: Some(cursor),
                ..query
            });
            Ok((page.entries, next))
        }
    })
    .await
}
