//! The two browser legs of single sign-on: "Continue with SSO" leaves for the workspace's
//! identity provider, and the provider sends the browser back to the callback. Both are plain
//! redirects; the rules live in `app::server::services::sso`.

use crate::http_errors::error_page;
use app::server::services::{sessions, sso};
use app::server::{AppState, RequestMeta};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

fn redirect(outcome: Result<sso::Redirect, app::AppError>) -> Response {
    let target = match outcome {
        Ok(target) => target,
        Err(error) => return error_page(&error),
    };
    let mut response = StatusCode::SEE_OTHER.into_response();
    let headers = response.headers_mut();
    for cookie in target.cookies {
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            headers.append(header::SET_COOKIE, value);
        }
    }
    match HeaderValue::from_str(&target.location) {
        Ok(location) => {
            headers.insert(header::LOCATION, location);
        }
        Err(_) => return error_page(&app::AppError::internal()),
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

pub async fn start(
    State(state): State<AppState>,
    Extension(realm): Extension<app::server::Realm>,
    Extension(meta): Extension<RequestMeta>,
) -> Response {
    redirect(sso::start(&state, &realm, &meta).await)
}

pub async fn callback(
    State(state): State<AppState>,
    Extension(realm): Extension<app::server::Realm>,
    Extension(meta): Extension<RequestMeta>,
    headers: HeaderMap,
    query: Result<Query<sso::Callback>, QueryRejection>,
) -> Response {
    let cookies = sessions::cookie_header(&headers);
    let flow = sessions::cookie_value(&cookies, sso::FLOW_COOKIE);
    // A malformed query is treated like an empty one: the state check then refuses it.
    let callback = query.map(|Query(c)| c).unwrap_or_default();
    redirect(sso::finish(&state, &realm, &meta, flow, callback).await)
}
