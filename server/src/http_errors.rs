//! `AppError` to HTTP, in one place: the status from `AppError::status`, a JSON body for API
//! clients and server functions, a small HTML page for browsers asking for a page.

use app::AppError;
use app::error::ErrorBody;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// The request id, as an extension on requests (set by the request-id layer).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// An error from a REST handler.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        Self(error)
    }
}

impl IntoResponse for ApiError {
    /// The error rides along as an extension, so the REST layer can add the request id.
    fn into_response(self) -> Response {
        let mut response = json_error(&self.0, None);
        response.extensions_mut().insert(self.0);
        response
    }
}

pub fn status_of(error: &AppError) -> StatusCode {
    StatusCode::from_u16(error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

pub fn json_error(error: &AppError, request_id: Option<&str>) -> Response {
    let body = ErrorBody::from_error(error, request_id.map(str::to_owned));
    let mut response = (status_of(error), axum::Json(body)).into_response();
    if let Some(seconds) = error.retry_after_secs() {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// A refusal on a server-function route, in the encoding the WASM client decodes (`AppError`).
pub fn server_fn_error(error: &AppError) -> Response {
    (status_of(error), axum::Json(error.clone())).into_response()
}

const PAGE_STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f5f6f8;color:#1d2330;display:grid;place-items:center;min-height:100vh;margin:0}main{background:#fff;padding:2.5rem 3rem;border-radius:12px;box-shadow:0 2px 12px #0001;max-width:32rem}h1{font-size:1.4rem;margin-top:0}p{line-height:1.5}code{background:#eef0f4;padding:.1rem .3rem;border-radius:4px;white-space:nowrap}";

/// The error pages' own policy: nothing loads, and their one stylesheet is allowed by its hash
/// (the app's policy, `style-src 'self'`, would leave them unstyled).
static PAGE_POLICY: std::sync::LazyLock<HeaderValue> = std::sync::LazyLock::new(|| {
    use base64::Engine;
    use sha2::Digest;
    let digest = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(PAGE_STYLE.as_bytes()));
    HeaderValue::from_str(&format!(
        "default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ))
    .expect("the policy is ASCII")
});

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{title} · Latchkey</title><style>{PAGE_STYLE}</style></head><body><main><h1>{title}</h1><p>{text}</p></main></body></html>"
    );
    let mut response = (status, Html(html)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, PAGE_POLICY.clone());
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The answer for a host that names no workspace. It names no tenant, so it reveals nothing.
pub fn no_such_workspace_page(base_domain: &str) -> Response {
    let base = escape(base_domain);
    page(
        StatusCode::NOT_FOUND,
        "No such workspace",
        &format!(
            "There is no Latchkey workspace at this address. Check the sign-in address your administrator gave you: it looks like <code>your-company.{base}</code>."
        ),
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A service failure on a page the browser navigated to (not an API call).
pub fn error_page(error: &AppError) -> Response {
    let title = if error.status() >= 500 {
        "Something went wrong"
    } else {
        "Request refused"
    };
    page(status_of(error), title, &escape(error.message()))
}

pub fn bad_request_page(message: &str) -> Response {
    page(StatusCode::BAD_REQUEST, "Bad request", &escape(message))
}
