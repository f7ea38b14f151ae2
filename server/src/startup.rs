//! Builds the application state and the router, and serves it.

use crate::hosts::{resolve_workspace, same_origin_only};
use crate::http_errors::{RequestId, json_error, server_fn_error, status_of};
use app::AppError;
use app::server::crypto::{Cipher, Signer, random_bytes};
use app::server::entities::instance_secrets;
use app::server::passwords::PasswordHasher;
use app::server::services::{setup, sso};
use app::server::{AppState, Clock, ServiceConfig};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use leptos::prelude::provide_context;
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, Set};
use std::path::Path;
use std::sync::Arc;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa_swagger_ui::{Config as SwaggerConfig, SwaggerUi};

/// Largest request body accepted anywhere: forms and JSON here are small.
pub const BODY_LIMIT_BYTES: usize = 64 * 1024;
const DEVICE_KEY_NAME: &str = "device_cookie_key";
const DATA_KEY_NAME: &str = "data_encryption_key";

/// Reads a server key from the database, creating it on first start. Several processes racing
/// here all end up with the one row that won.
async fn instance_key(
    db: &DatabaseConnection,
    name: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<u8>, sea_orm::DbErr> {
    let row = instance_secrets::ActiveModel {
        name: Set(name.to_owned()),
        value: Set(random_bytes::<32>().to_vec()),
        created_at: Set(now),
    };
    instance_secrets::Entity::insert(row)
        .on_conflict_do_nothing_on([instance_secrets::Column::Name])
        .exec(db)
        .await?;
    let row = instance_secrets::Entity::find_by_id(name.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| sea_orm::DbErr::RecordNotFound(name.to_owned()))?;
    Ok(row.value)
}

pub async fn build_state(
    db: DatabaseConnection,
    config: ServiceConfig,
    clock: Arc<dyn Clock>,
    hasher: PasswordHasher,
    configured_data_key: Option<[u8; 32]>,
) -> Result<AppState, AppError> {
    let now = clock.now();
    setup::ensure_defaults(&db, now).await?;
    let device_key = load_key(&db, DEVICE_KEY_NAME, now).await?;
    // A key from configuration keeps sealed data unreadable to someone holding only the
    // database; without one, a generated key is kept beside the data.
    let data_key: [u8; 32] = match configured_data_key {
        Some(key) => key,
        None => load_key(&db, DATA_KEY_NAME, now).await?.try_into().map_err(|_| {
            tracing::error!("the stored data encryption key is not 32 bytes");
            AppError::internal()
        })?,
    };
    let providers = Arc::new(app::server::services::sso::Providers::new(
        &config.allowed_private_hosts,
    ));
    Ok(AppState {
        db,
        providers,
        config: Arc::new(config),
        clock,
        hasher,
        signer: Signer::new(&device_key),
        cipher: Cipher::new(&data_key),
        sms: None,
    })
}

async fn load_key(
    db: &DatabaseConnection,
    name: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<u8>, AppError> {
    instance_key(db, name, now).await.map_err(|error| {
        tracing::error!(%error, name, "could not load an instance key");
        AppError::internal()
    })
}

/// Runs a server function with the app state in its context, and gives a failed one the status
/// its `AppError` names (server_fn answers every error with 500).
/// The registered server functions' paths (registration happens in [`build_router`], before
/// the first request).
static SERVER_FN_PATHS: std::sync::LazyLock<std::collections::HashSet<String>> = std::sync::LazyLock::new(|| {
    leptos::server_fn::axum::server_fn_paths()
        .map(|(path, _)| path.to_owned())
        .collect()
});

async fn server_fn_handler(State(state): State<AppState>, request: Request<Body>) -> Response {
    // An unknown path is a plain 404: the framework's own answer explains its routing.
    if !SERVER_FN_PATHS.contains(request.uri().path()) {
        return crate::http_errors::json_error(&AppError::not_found("Not found."), None);
    }
    let response = leptos_axum::handle_server_fns_with_context(move || provide_context(state.clone()), request)
        .await
        .into_response();
    if response
        .headers()
        .get(leptos::server_fn::error::SERVER_FN_ERROR_HEADER)
        .is_none()
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, BODY_LIMIT_BYTES).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = status_of(&error);
        if let Some(seconds) = error.retry_after_secs() {
            parts.headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.db.execute_unprepared("SELECT 1").await {
        Ok(_) => "ready".into_response(),
        Err(error) => {
            tracing::error!(%error, "readiness check failed");
            crate::http_errors::json_error(&AppError::unavailable(), None)
        }
    }
}

/// Copies the request id into an extension so error bodies can quote it.
async fn request_id_extension(mut request: Request, next: Next) -> Response {
    if let Some(id) = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()) {
        let id = RequestId(id.to_owned());
        request.extensions_mut().insert(id);
    }
    next.run(request).await
}

/// Turns the body-limit layer's plain-text 413 into our error body: the REST shape under
/// `/api/v1`, the server-function encoding elsewhere.
async fn payload_too_large(request: Request, next: Next) -> Response {
    let request_id = request.extensions().get::<RequestId>().map(|r| r.0.clone());
    let is_rest = request.uri().path().starts_with("/api/v1/");
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE || is_json {
        return response;
    }
    let error = AppError::bad_request(format!(
        "The request body is larger than {} KiB.",
        BODY_LIMIT_BYTES / 1024
    ));
    let mut response = if is_rest {
        json_error(&error, request_id.as_deref())
    } else {
        server_fn_error(&error)
    };
    *response.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
    response
}

/// The Content-Security-Policy of every answer: scripts only from this origin, plus the loader
/// Trunk inlines in `index.html` (allowed by its hash) and WebAssembly compilation; no inline
/// styles, plugins, framing or foreign form targets.
pub fn content_security_policy(index_html: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let mut script_src = String::from("'self' 'wasm-unsafe-eval'");
    let mut rest = index_html;
    while let Some(start) = rest.find("<script") {
        let after = &rest[start..];
        let (Some(open_end), Some(close)) = (after.find('>'), after.find("</script>")) else {
            break;
        };
        let body = &after[open_end + 1..close];
        if !body.trim().is_empty() && !after[..open_end].contains(" src=") {
            let digest = sha2::Sha256::digest(body.as_bytes());
            script_src.push_str(&format!(
                " 'sha256-{}'",
                base64::engine::general_purpose::STANDARD.encode(digest)
            ));
        }
        rest = &after[close + "</script>".len()..];
    }
    format!(
        "default-src 'self'; script-src {script_src}; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
         worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// Trunk names the app's WASM, JS and CSS after their content (`frontend-3f2a…9c1d_bg.wasm`),
/// so a browser may keep such a file for good; anything else (the page itself, the strength
/// worker's fixed names) is checked again on every load.
fn is_content_named(path: &str) -> bool {
    let Some(file) = path.rsplit('/').next() else {
        return false;
    };
    let stem = file.split('.').next().unwrap_or_default();
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(name, hash)| !name.is_empty() && hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

async fn web_app_cache_policy(request: Request, next: Next) -> Response {
    let content_named = is_content_named(request.uri().path());
    let mut response = next.run(request).await;
    if response.status().is_success() {
        // A content-named file that is missing (an old page asking for a replaced build) gets
        // the app's page from the fallback, which must not be kept.
        let page = response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
        let policy = if content_named && !page {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

/// Where the OpenAPI document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

pub fn build_router(state: AppState, site_dir: &Path) -> Router {
    app::api::register_server_functions();
    // The web app's files are gzipped when built (scripts/build-web.sh): a browser that accepts
    // gzip gets the `.gz` beside each file, a third of the WASM's size, at no CPU cost here.
    let spa = tower::ServiceBuilder::new()
        .layer(middleware::from_fn(web_app_cache_policy))
        .service(
            ServeDir::new(site_dir)
                .precompressed_gzip()
                .fallback(ServeFile::new(site_dir.join("index.html"))),
        );
    let index_html = std::fs::read_to_string(site_dir.join("index.html")).unwrap_or_default();
    let csp = HeaderValue::from_str(&content_security_policy(&index_html)).expect("the policy is ASCII");
    // Answers may carry one-time values (access links, temporary passwords): never cached.
    let no_store = SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let (rest, openapi) = crate::rest::router();
    // Served from the binary (the `vendored` feature): the docs work with no internet.
    let docs = SwaggerUi::new("/api/docs").url(OPENAPI_PATH, openapi).config(
        SwaggerConfig::default()
            .persist_authorization(true)
            .try_it_out_enabled(true)
            .display_request_duration(true)
            .validator_url("none"),
    );
    let workspace_routes = Router::new()
        .route(
            "/api/{*fn_name}",
            any(server_fn_handler).layer(middleware::from_fn(same_origin_only)),
        )
        .nest("/api/v1", rest)
        .route(sso::START_PATH, get(crate::sso::start))
        .route(sso::CALLBACK_PATH, get(crate::sso::callback))
        .route_layer(no_store.clone())
        .merge(Router::from(docs).layer(no_store.clone()))
        .fallback_service(spa)
        .layer(middleware::from_fn_with_state(state.clone(), resolve_workspace));
    let x_request_id = HeaderName::from_static("x-request-id");
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route_layer(no_store)
        .merge(workspace_routes)
        .layer(tower_http::limit::RequestBodyLimitLayer::new(BODY_LIMIT_BYTES))
        .layer(middleware::from_fn(payload_too_large))
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, csp))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(|request: &Request<Body>| {
                let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
                // The path only: query strings may carry tokens.
                tracing::info_span!("request", method = %request.method(), path = %request.uri().path(), request_id = %id)
            }),
        )
        .layer(middleware::from_fn(request_id_extension))
        .layer(PropagateRequestIdLayer::new(x_request_id.clone()))
        .layer(SetRequestIdLayer::new(x_request_id, MakeRequestUuid))
        .with_state(state)
}

/// Serves until the listener fails or the process is stopped.
pub async fn serve(listener: tokio::net::TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::{content_security_policy, is_content_named};

    #[test]
    fn only_files_named_after_their_content_are_kept_for_good() {
        for kept in [
            "/frontend-bbc76eca6ad6d91b_bg.wasm",
            "/frontend-bbc76eca6ad6d91b.js",
            "/main-6265b2a2fa42ba62.css",
        ] {
            assert!(is_content_named(kept), "{kept}");
        }
        for checked in [
            "/",
            "/index.html",
            "/users",
            "/strength-worker_bg.wasm",
            "/strength-worker.js",
            "/users/0b6c3f2e-1d4a-4f55-9e0b-5a1c2d3e4f50",
            "/-bbc76eca6ad6d91b.js",
            "/frontend-bbc76eca6ad6d91x.js",
            "/frontend-bbc76eca6ad6d91.js",
        ] {
            assert!(!is_content_named(checked), "{checked}");
        }
    }

    #[test]
    fn the_policy_allows_exactly_the_inline_loader_by_its_hash() {
        let html = r#"<html><head><script type="module">import init from '/app.js'; await init();</script>
            <script src="/other.js"></script></head></html>"#;
        let policy = content_security_policy(html);
        // sha256 of the inline module above, base64.
        let expected = {
            use base64::Engine;
            use sha2::Digest;
            let digest = sha2::Sha256::digest(b"import init from '/app.js'; await init();");
            base64::engine::general_purpose::STANDARD.encode(digest)
        };
        assert!(
            policy.contains(&format!("script-src 'self' 'wasm-unsafe-eval' 'sha256-{expected}';")),
            "{policy}"
        );
        assert_eq!(policy.matches("'sha256-").count(), 1, "external scripts need no hash");
        assert!(policy.contains("frame-ancestors 'none'") && policy.contains("object-src 'none'"));
        assert!(!policy.contains("unsafe-inline"));
        assert!(content_security_policy("").contains("script-src 'self' 'wasm-unsafe-eval';"));
    }
}
