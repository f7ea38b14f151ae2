//! The middleware that resolves the workspace from the Host header before anything else runs.

use crate::http_errors::{
    RequestId, bad_request_page, error_page, json_error, no_such_workspace_page, server_fn_error,
};
use app::AppError;
use app::server::services::hosts;
use app::server::{AppState, RequestMeta};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use std::net::SocketAddr;

const USER_AGENT_MAX: usize = 300;

fn wants_json(path: &str) -> bool {
    path.starts_with("/api/")
}

/// Inserts the [`app::server::Realm`] and [`RequestMeta`] into the request, or answers 400 for a
/// malformed Host and 404 for a host that names no workspace. The REST API works on any host
/// (a token carries its own scope), so it only needs a well-formed one.
pub async fn resolve_workspace(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    let request_id = request.extensions().get::<RequestId>().map(|r| r.0.clone());
    // The API and its docs work on any host: a token carries its own scope.
    let is_rest =
        path.starts_with("/api/v1/") || path == "/api/v1" || path == "/api/docs" || path.starts_with("/api/docs/");
    // Each kind of caller gets a refusal it can read: REST clients the JSON error body, the
    // WASM client the server-function encoding, a browser navigating a page.
    let refuse = |error: AppError| {
        if is_rest {
            json_error(&error, request_id.as_deref())
        } else if wants_json(&path) {
            server_fn_error(&error)
        } else if let AppError::BadRequest { message } = &error {
            bad_request_page(message)
        } else {
            error_page(&error)
        }
    };
    // One workspace per request, named once: a second Host header, or an absolute-form target
    // naming another authority than the Host header, could make a proxy and Latchkey disagree
    // about which workspace is meant.
    let mut named = request.headers().get_all(header::HOST).iter();
    let (first, second) = (named.next(), named.next());
    if second.is_some() {
        return refuse(AppError::bad_request("The request names more than one Host."));
    }
    let host = match first.map(|h| h.to_str()) {
        Some(Ok(host)) => host.to_owned(),
        None => match request.uri().authority() {
            Some(authority) => authority.as_str().to_owned(),
            None => return refuse(AppError::bad_request("The Host header is missing or malformed.")),
        },
        Some(Err(_)) => return refuse(AppError::bad_request("The Host header is missing or malformed.")),
    };
    if request
        .uri()
        .authority()
        .is_some_and(|authority| !authority.as_str().eq_ignore_ascii_case(&host))
    {
        return refuse(AppError::bad_request(
            "The request's target names another host than its Host header.",
        ));
    }
    let realm = match hosts::resolve(&state.db, &host, &state.config.base_domain).await {
        Ok(realm) => realm,
        Err(error) => return refuse(error),
    };
    match realm {
        Some(realm) => {
            request.extensions_mut().insert(realm);
        }
        None if is_rest => {}
        None if wants_json(&path) => return server_fn_error(&AppError::not_found("No such workspace.")),
        None => return no_such_workspace_page(&state.config.base_domain),
    }
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let user_agent = request
        .headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().take(USER_AGENT_MAX).collect());
    request.extensions_mut().insert(RequestMeta {
        ip,
        user_agent,
        request_id,
    });
    next.run(request).await
}

/// Server functions are called by our own pages only: a cross-site POST (its Origin names
/// another host) is refused before it can sign anyone in or out.
pub async fn same_origin_only(request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let origin_host = origin
            .to_str()
            .ok()
            .and_then(|o| o.split_once("://"))
            .map(|(_, rest)| rest);
        if origin_host != Some(host) {
            return server_fn_error(&AppError::forbidden("Cross-site requests are not allowed."));
        }
    }
    next.run(request).await
}
