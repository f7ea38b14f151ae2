use app::AppError;
use app::server::passwords::PasswordHasher;
use app::server::services::demo;
use app::server::{AppState, ManualClock, ServiceConfig};
use leptos::server_fn::ServerFn;
use reqwest::header::{HeaderMap, HeaderValue};
use sea_orm::{ConnectionTrait, Database, EntityTrait, PaginatorTrait};
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use std::sync::Arc;

pub use app::server::services::demo::DEMO_PASSWORD;

pub struct TestApp {
    pub addr: SocketAddr,
    pub base_domain: String,
    pub state: AppState,
    pub clock: ManualClock,
    /// The folder the web app is served from.
    pub site: std::path::PathBuf,
    _sqlite_dir: Option<tempfile::TempDir>,
}

/// A fresh database: a SQLite file in a temporary folder, or a new PostgreSQL database.
async fn fresh_database_url() -> (String, Option<tempfile::TempDir>) {
    match std::env::var("LATCHKEY_TEST_PG_URL") {
        Ok(base) => {
            let name = format!("latchkey_test_{}", uuid::Uuid::new_v4().simple());
            let admin = Database::connect(format!("{base}/postgres"))
                .await
                .expect("connect to PostgreSQL");
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create database");
            admin.close().await.ok();
            (format!("{base}/{name}"), None)
        }
        Err(_) => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
            (url, Some(dir))
        }
    }
}

/// Starts Latchkey with the demo data on a random port.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], with the state adjusted first (e.g. an SMS provider).
pub async fn spawn_app_with(configure: impl FnOnce(&mut AppState)) -> TestApp {
    let (url, sqlite_dir) = fresh_database_url().await;
    let db = server::db::connect_and_migrate(&url).await.expect("migrate");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let base_domain = format!("localhost:{}", addr.port());
    let clock = ManualClock::new(chrono::Utc::now());
    let mut config = ServiceConfig::new(&base_domain, "http");
    // The test identity provider runs on this machine.
    config.allowed_private_hosts = vec!["127.0.0.1".into(), "localhost".into()];
    let mut state =
        server::startup::build_state(db, config, Arc::new(clock.clone()), PasswordHasher::new(2, 256), None)
            .await
            .expect("state");
    configure(&mut state);
    demo::seed(&state).await.expect("demo data");
    let site = sqlite_dir
        .as_ref()
        .map_or_else(std::env::temp_dir, |d| d.path().to_path_buf())
        .join("site");
    std::fs::create_dir_all(&site).expect("site dir");
    std::fs::write(
        site.join("index.html"),
        "<!doctype html><title>Latchkey</title><body></body>",
    )
    .expect("index");
    let router = server::startup::build_router(state.clone(), &site);
    tokio::spawn(async move {
        let _ = server::startup::serve(listener, router).await;
    });
    TestApp {
        addr,
        base_domain,
        state,
        clock,
        site,
        _sqlite_dir: sqlite_dir,
    }
}

/// A browser on one host: keeps its own cookies, like a real one.
pub struct Browser {
    pub client: reqwest::Client,
    pub origin: String,
}

impl TestApp {
    pub fn url(&self, label: &str, path: &str) -> String {
        format!("http://{label}.{}{path}", self.base_domain)
    }

    pub fn browser(&self, label: &str) -> Browser {
        let host = format!("{label}.{}", self.base_domain);
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .resolve(&format!("{label}.localhost"), self.addr)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Browser {
            client,
            origin: format!("http://{host}"),
        }
    }

    /// A client with no cookie jar, talking to any Host header we choose.
    pub fn raw_client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    pub async fn count<E>(&self, _entity: E) -> u64
    where
        E: EntityTrait,
        E::Model: Sync,
    {
        E::find().count(&self.state.db).await.expect("count")
    }
}

/// The outcome of a server-function call: the value, or the `AppError` and HTTP status.
pub type FnResult<T> = Result<T, (u16, AppError)>;

impl Browser {
    /// Calls server function `F` over HTTP at its registered path, as the WASM client does.
    pub async fn call<F: ServerFn, T: DeserializeOwned>(&self, form: &[(&str, &str)]) -> FnResult<T> {
        self.call_with_headers::<F, T>(form, HeaderMap::new()).await
    }

    pub async fn call_with_headers<F: ServerFn, T: DeserializeOwned>(
        &self,
        form: &[(&str, &str)],
        headers: HeaderMap,
    ) -> FnResult<T> {
        let response = self
            .client
            .post(format!("{}{}", self.origin, F::PATH))
            .headers(headers)
            .form(form)
            .send()
            .await
            .expect("request");
        decode(response).await
    }

    pub async fn sign_in(&self, identifier: &str, password: &str) -> FnResult<app::types::Viewer> {
        self.call::<app::api::SignIn, _>(&[("identifier", identifier), ("password", password)])
            .await
    }

    pub async fn host_info(&self) -> app::types::HostInfo {
        self.call::<app::api::GetHostInfo, _>(&[]).await.expect("host info")
    }
}

pub async fn decode<T: DeserializeOwned>(response: reqwest::Response) -> FnResult<T> {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.expect("body");
    if (200..300).contains(&status) {
        Ok(serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("bad body {e}: {}", String::from_utf8_lossy(&bytes))))
    } else {
        let error = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("bad error body {e} ({status}): {}", String::from_utf8_lossy(&bytes)));
        Err((status, error))
    }
}

pub fn header_map(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.insert(*name, HeaderValue::from_str(value).expect("header"));
    }
    map
}

/// Sends raw bytes and returns the status line's code, for Host headers reqwest will not send.
pub async fn raw_http(addr: SocketAddr, request: &[u8]) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write");
    let mut buf = vec![0u8; 4096];
    let n = stream.read(&mut buf).await.expect("read");
    let head = String::from_utf8_lossy(&buf[..n]);
    head.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0)
}

impl TestApp {
    /// The actor a signed-in `email` is on workspace `slug`, for calling services directly.
    pub async fn actor(&self, email: &str, slug: &str) -> app::server::Actor {
        use app::server::entities::{tenants, users};
        use sea_orm::{ColumnTrait, QueryFilter};
        let db = &self.state.db;
        let user = users::Entity::find()
            .filter(users::Column::Email.eq(email))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let tenant = tenants::Entity::find()
            .filter(tenants::Column::Slug.eq(slug))
            .one(db)
            .await
            .unwrap()
            .unwrap();
        let (user, membership, role) = app::server::services::users::membership_with_role(db, user.id, tenant.id)
            .await
            .unwrap()
            .unwrap();
        app::server::Actor {
            user,
            membership,
            role,
            tenant,
            session_id: None,
            token_id: None,
            mfa_step: None,
            impersonator_id: None,
        }
    }

    pub async fn user_id(&self, email: &str) -> uuid::Uuid {
        use app::server::entities::users;
        use sea_orm::{ColumnTrait, QueryFilter};
        users::Entity::find()
            .filter(users::Column::Email.eq(email))
            .one(&self.state.db)
            .await
            .unwrap()
            .unwrap()
            .id
    }

    /// Makes the workspace `slug` sign in with passwords (Globex uses SSO in the demo).
    pub async fn use_passwords(&self, slug: &str) {
        use app::server::entities::tenants;
        use sea_orm::{ActiveModelTrait, Set};
        let mut tenant: tenants::ActiveModel = tenants::Entity::find_by_id(self.tenant_id(slug).await)
            .one(&self.state.db)
            .await
            .unwrap()
            .unwrap()
            .into();
        tenant.sign_in_mode = Set("password".into());
        tenant.update(&self.state.db).await.unwrap();
    }

    pub async fn tenant_id(&self, slug: &str) -> uuid::Uuid {
        use app::server::entities::tenants;
        use sea_orm::{ColumnTrait, QueryFilter};
        tenants::Entity::find()
            .filter(tenants::Column::Slug.eq(slug))
            .one(&self.state.db)
            .await
            .unwrap()
            .unwrap()
            .id
    }
}

/// A new API token acting as `email` in the workspace `slug`.
pub async fn api_token(app: &TestApp, email: &str, slug: &str) -> String {
    app::server::services::tokens::create(&app.state, email, slug, "t", None)
        .await
        .unwrap()
        .token
}

/// How many audit rows record `action`.
pub async fn audited(app: &TestApp, action: &str) -> u64 {
    use sea_orm::{ColumnTrait, QueryFilter};
    app::server::entities::audit_log::Entity::find()
        .filter(app::server::entities::audit_log::Column::Action.eq(action))
        .count(&app.state.db)
        .await
        .unwrap()
}

/// A REST answer: status, JSON body (Null when none) and headers.
pub struct Answer {
    pub status: u16,
    pub body: serde_json::Value,
    pub headers: reqwest::header::HeaderMap,
}

/// Calls `/api/v1{path}` with a bearer token.
pub async fn api_call(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<serde_json::Value>,
) -> Answer {
    let mut request = app
        .raw_client()
        .request(method, format!("http://{}/api/v1{path}", app.addr))
        .bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    Answer { status, body, headers }
}

/// The session token a response sets, if any.
pub fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("lk_session=") && !c.contains("Max-Age=0"))
        .map(|c| c["lk_session=".len()..].split(';').next().unwrap().to_owned())
}

/// A form POST to `path` on the workspace `label`, with a session cookie if given.
pub async fn post(
    app: &TestApp,
    label: &str,
    path: &str,
    cookie: Option<&str>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = app
        .raw_client()
        .post(format!("http://{}{path}", app.addr))
        .header("host", format!("{label}.{}", app.base_domain))
        .form(form);
    if let Some(token) = cookie {
        request = request.header("cookie", format!("lk_session={token}"));
    }
    request.send().await.unwrap()
}
