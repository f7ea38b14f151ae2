//! REST API v1: thin adapters from HTTP to the service layer, documented by the OpenAPI
//! document they are built with (`/api/v1/openapi.json`, interactive docs at `/api/docs`).

pub mod csv_export;
mod logs;
mod tenants;
mod tokens;
mod users;

use crate::http_errors::{ApiError, RequestId, json_error};
use app::AppError;
use app::error::ErrorBody;
use app::server::services::tokens as token_service;
use app::server::{Actor, AppState};
use app::types::{
    AccessFix, AccessProblemKind, MembershipStatus, MfaResetLevel, MfaState, RealmKind, SecurityEventType, SignInMode,
    TenantKind, TenantStatus,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Query, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde::de::DeserializeOwned;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as OpenApiDoc, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Latchkey API",
        version = "1",
        description = "Account access for many tenants: users, invites, password and MFA resets, locks, tenants, security events and the audit trail.\n\nEvery call needs an API token (`Authorization: Bearer lk_...`), created in the admin console under Settings > API tokens or with `latchkey token create`. A token acts as its owner, in its owner's workspace, with its own role; a tenant's token sees only that tenant. Errors are `{\"error\": {\"code\", \"message\", \"requestId\"}}`. Lists are newest or alphabetical first and return `nextCursor`; pass it back as `cursor`."
    ),
    servers((url = "/api/v1")),
    // The enums that query parameters name by reference.
    components(schemas(
        ErrorBody, MembershipStatus, MfaState, SecurityEventType, MfaResetLevel, SignInMode, TenantKind, TenantStatus,
        RealmKind, AccessProblemKind, AccessFix
    )),
    security(("bearer" = [])),
    tags(
        (name = "users", description = "Users, invites and account actions"),
        (name = "tenants", description = "Workspaces and their MFA enforcement"),
        (name = "logs", description = "Security events (MFA error log) and the audit trail"),
        (name = "tokens", description = "API tokens"),
    )
)]
struct ApiDoc;

/// What every operation shares: the bearer scheme and the error answers.
struct Conventions;

/// The error statuses every operation may answer, with what they mean here.
const ERROR_ANSWERS: &[(&str, &str)] = &[
    ("400", "Malformed request: unreadable JSON, unknown fields, a bad query"),
    ("401", "No token, or an invalid, expired or revoked one"),
    ("403", "The token's role does not allow this"),
    ("404", "No such resource in the token's scope"),
    ("409", "Conflicts with the current state"),
    ("422", "A field breaks a rule; `fields` says which"),
    ("429", "Too many requests; see Retry-After"),
    (
        "503",
        "The database cannot be reached for a moment; retry after Retry-After",
    ),
];

impl Modify for Conventions {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("lk_...")
                    .description(Some(
                        "An API token from Settings > API tokens or `latchkey token create`.",
                    ))
                    .build(),
            ),
        );
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                for (status, description) in ERROR_ANSWERS {
                    operation
                        .responses
                        .responses
                        .entry((*status).to_owned())
                        .or_insert_with(|| {
                            ResponseBuilder::new()
                                .description(*description)
                                .content(
                                    "application/json",
                                    ContentBuilder::new()
                                        .schema(Some(Ref::from_schema_name("ErrorBody")))
                                        .build(),
                                )
                                .into()
                        });
                }
            }
        }
    }
}

/// The API's routes and the OpenAPI document that describes them.
pub fn router() -> (Router<AppState>, OpenApiDoc) {
    let (router, mut openapi) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(users::router())
        .merge(tenants::router())
        .merge(logs::router())
        .merge(tokens::router())
        .split_for_parts();
    // After the merge: `ApiDoc::openapi()` runs its modifiers before any path is added.
    Conventions.modify(&mut openapi);
    // An explicit catch-all: without it `/api/v1/<unknown>` would fall to the server-function route.
    let router = router
        .route(
            "/{*rest}",
            any(|| async { ApiError(AppError::not_found("No such API endpoint.")) }),
        )
        .layer(middleware::from_fn(error_bodies));
    (router, openapi)
}

/// Gives every refusal the JSON error body with the request id, including axum's own (405 for
/// a method a path does not have).
async fn error_bodies(request: Request, next: Next) -> Response {
    let request_id = request.extensions().get::<RequestId>().map(|r| r.0.clone());
    let mut response = next.run(request).await;
    if let Some(error) = response.extensions_mut().remove::<AppError>() {
        return json_error(&error, request_id.as_deref());
    }
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if status == StatusCode::METHOD_NOT_ALLOWED && !is_json {
        let body = serde_json::json!({ "error": {
            "code": "method_not_allowed",
            "message": "This endpoint does not take that method.",
            "requestId": request_id,
        }});
        let allow = response.headers().get(header::ALLOW).cloned();
        let mut answer = (status, axum::Json(body)).into_response();
        if let Some(allow) = allow {
            answer.headers_mut().insert(header::ALLOW, allow);
        }
        return answer;
    }
    response
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
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            return Ok(Self(console_download(parts, state).await?.ok_or_else(missing)?));
        };
        let token = header
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")))
            .map(str::trim)
            .ok_or_else(missing)?;
        Ok(Self(token_service::authenticate(state, token).await?))
    }
}

/// The console's "Download CSV": a `GET` of a `.csv` list with the admin's session cookie on
/// the workspace's own host (the cookie is host-only). Reading is all a CSV does, so a
/// cross-site link can at most start a download in the admin's own browser.
async fn console_download(parts: &Parts, state: &AppState) -> Result<Option<Actor>, AppError> {
    use app::server::services::{auth, sessions};
    if parts.method != axum::http::Method::GET || !parts.uri.path().ends_with(".csv") {
        return Ok(None);
    }
    let (Some(realm), Some(meta)) = (
        parts.extensions.get::<app::server::Realm>(),
        parts.extensions.get::<app::server::RequestMeta>(),
    ) else {
        return Ok(None);
    };
    let cookies = sessions::cookie_header(&parts.headers);
    let name = sessions::session_cookie_name(state.config.secure_cookies);
    let Some(token) = sessions::cookie_value(&cookies, name) else {
        return Ok(None);
    };
    auth::require_session(state, realm, meta, Some(token)).await.map(Some)
}

/// Query parameters, refused with a clear 400 when malformed or unknown.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::try_from_uri(&parts.uri)
            .map(|Query(query)| Self(query))
            .map_err(|e| {
                ApiError(AppError::bad_request(format!(
                    "The query string could not be read: {}",
                    e.body_text()
                )))
            })
    }
}

/// Reads an optional JSON body, refusing malformed JSON and unknown fields with a clear 400.
pub fn optional_json<T: Default + DeserializeOwned>(body: &Bytes) -> Result<T, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    required_json(body)
}

/// Reads a required JSON body with the same clear 400 for malformed JSON and unknown fields.
pub fn required_json<T: DeserializeOwned>(body: &Bytes) -> Result<T, AppError> {
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(AppError::bad_request("Send a JSON body.")),
        // serde reads a struct from an array of its fields in order; the API takes objects only.
        Some(b'[') => return Err(AppError::bad_request("The JSON body must be an object.")),
        Some(_) => {}
    }
    serde_json::from_slice(body).map_err(|e| AppError::bad_request(format!("The JSON body could not be read: {e}")))
}

/// A path id that is not a UUID names nothing.
pub fn path_id(raw: &str, what: &str) -> Result<uuid::Uuid, AppError> {
    raw.parse().map_err(|_| AppError::not_found(format!("No such {what}.")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_documents_its_errors_and_the_document_is_3_1() {
        let (_, doc) = router();
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(json["openapi"], "3.1.0");
        let paths = json["paths"].as_object().unwrap();
        assert!(paths.len() >= 20, "{} paths", paths.len());
        for (path, item) in paths {
            for (method, operation) in item.as_object().unwrap() {
                for (status, _) in ERROR_ANSWERS {
                    assert!(
                        operation["responses"].get(*status).is_some(),
                        "{method} {path} lacks {status}"
                    );
                }
            }
        }
        assert_eq!(json["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    }
}
