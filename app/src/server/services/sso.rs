//! Single sign-on through a workspace's own OpenID Connect provider (DESIGN.md, "Tenant"): the
//! authorization code flow with PKCE, state and nonce; the ID token is verified (signature from
//! the provider's JWKS, issuer, audience, expiry, nonce) before anyone is signed in, and the user
//! is matched by verified email to a membership of the workspace.
//!
//! Nothing is kept on the server between the two legs: the state, nonce and PKCE verifier travel
//! in a cookie sealed with the instance key, so any server process can finish a flow another
//! one started.

use super::events::{self, NewEvent};
use super::roles::permission::{TENANTS_MANAGE, TENANTS_READ};
use super::{audit, db_error, one_time, sessions, setup, users};
use crate::AppError;
use crate::domain::{DisplayName, Email};
use crate::server::entities::{memberships, tenants, users as user_rows};
use crate::server::outbound::Outbound;
use crate::server::{Actor, AppState, Realm, RequestMeta};
use crate::types::{
    MembershipStatus, RealmKind, SecurityEventType, SignInMode, SsoConfig, SsoConfigUpdate, SsoConnectionReport,
    SsoConnectionTest, SsoFailureReason, TenantKind,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier,
    RedirectUrl, Scope, TokenResponse,
};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

pub const FLOW_COOKIE: &str = "lk_sso";
pub use crate::types::{SSO_CALLBACK_PATH as CALLBACK_PATH, SSO_START_PATH as START_PATH};
/// From "Continue with SSO" to the callback; long enough for a provider's own MFA.
const FLOW_LIFETIME: Duration = Duration::minutes(10);
const MAX_ALLOWED_DOMAINS: usize = 50;
const MAX_FIELD_LEN: usize = 512;

/// A discovery document is reused this long after it was fetched for a sign-in.
const DISCOVERY_FRESH_FOR: std::time::Duration = std::time::Duration::from_secs(300);
/// After a failed fetch, sign-ins answer with that failure this long before trying again.
const DISCOVERY_RETRY_AFTER: std::time::Duration = std::time::Duration::from_secs(30);

/// One workspace's last discovery, behind a lock that parallel sign-ins wait on.
type DiscoverySlot = Arc<tokio::sync::Mutex<Option<Discovered>>>;

/// What a discovery fetch gave, and when.
struct Discovered {
    at: std::time::Instant,
    outcome: Result<CoreProviderMetadata, String>,
}

/// The workspaces' identity providers, as sign-ins reach them: through the guarded client (public
/// addresses only, see [`Outbound`]) and with each workspace's discovery document (and signing
/// keys) cached. Anonymous visitors start and finish sign-ins, so without the cache each visit
/// would make Latchkey fetch two documents from the saved issuer: now a workspace's issuer is
/// asked at most once per [`DISCOVERY_FRESH_FOR`], or per [`DISCOVERY_RETRY_AFTER`] while it
/// fails, however many sign-ins start, and parallel sign-ins wait for one fetch.
pub struct Providers {
    http: Outbound,
    /// By workspace and issuer.
    discovered: std::sync::Mutex<HashMap<(Uuid, String), DiscoverySlot>>,
}

impl Providers {
    pub fn new(allowed_private_hosts: &[String]) -> Self {
        Self {
            http: Outbound::new(allowed_private_hosts),
            discovered: std::sync::Mutex::default(),
        }
    }

    /// Fetches an issuer's discovery document and signing keys now (Test connection).
    async fn discover(&self, issuer: &IssuerUrl) -> Result<CoreProviderMetadata, String> {
        CoreProviderMetadata::discover_async(issuer.clone(), &self.http)
            .await
            .map_err(|error| describe_discovery_error(issuer, &error))
    }

    /// The workspace's discovery document, from the cache while it is fresh.
    async fn discovered(&self, tenant_id: Uuid, issuer: &IssuerUrl) -> Result<CoreProviderMetadata, String> {
        let slot = {
            let mut entries = self
                .discovered
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            entries.entry((tenant_id, issuer.to_string())).or_default().clone()
        };
        let mut slot = slot.lock().await;
        if let Some(last) = slot.as_ref() {
            let fresh_for = if last.outcome.is_ok() {
                DISCOVERY_FRESH_FOR
            } else {
                DISCOVERY_RETRY_AFTER
            };
            if last.at.elapsed() < fresh_for {
                return last.outcome.clone();
            }
        }
        let outcome = self.discover(issuer).await;
        *slot = Some(Discovered {
            at: std::time::Instant::now(),
            outcome: outcome.clone(),
        });
        outcome
    }
}

/// The address the provider sends the browser back to, as registered there.
pub fn redirect_uri(state: &AppState, label: &str) -> String {
    format!("{}{CALLBACK_PATH}", state.config.workspace_url(label))
}

fn allowed_domains(tenant: &tenants::Model) -> Vec<String> {
    tenant
        .sso_allowed_domains
        .clone()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default()
}

fn config_of(state: &AppState, tenant: &tenants::Model) -> SsoConfig {
    SsoConfig {
        issuer: tenant.sso_issuer.clone(),
        client_id: tenant.sso_client_id.clone(),
        has_client_secret: tenant.sso_client_secret_enc.is_some(),
        allowed_domains: allowed_domains(tenant),
        jit_provisioning: tenant.sso_jit_provisioning,
        requires_mfa: tenant.sso_requires_mfa,
        redirect_uri: redirect_uri(state, &tenant.slug),
    }
}

/// A customer workspace the actor may see, for its SSO settings.
async fn customer_workspace(
    state: &AppState,
    actor: &Actor,
    tenant_id: Uuid,
    permission: &str,
) -> Result<tenants::Model, AppError> {
    super::tenant_admin::require_in_scope(actor, permission, tenant_id)?;
    let tenant = tenants::Entity::find_by_id(tenant_id)
        .one(&state.db)
        .await
        .map_err(db_error)?
        .ok_or_else(|| AppError::not_found("No such workspace."))?;
    if tenant.kind == TenantKind::Operator.as_str() {
        return Err(AppError::conflict(
            "The admin console always signs in with passwords: single sign-on is for customer workspaces.",
        ));
    }
    Ok(tenant)
}

pub async fn config(state: &AppState, actor: &Actor, tenant_id: Uuid) -> Result<SsoConfig, AppError> {
    let tenant = customer_workspace(state, actor, tenant_id, TENANTS_READ).await?;
    Ok(config_of(state, &tenant))
}

/// An issuer must be https; plain http is accepted on loopback only (a provider run for tests).
pub fn parse_issuer(input: &str) -> Result<IssuerUrl, AppError> {
    let bad = |message: &str| AppError::invalid("issuer", message);
    let input = input.trim();
    if input.is_empty() {
        return Err(bad("Enter the identity provider's issuer URL."));
    }
    if input.len() > MAX_FIELD_LEN {
        return Err(bad("The issuer URL is too long."));
    }
    let url = reqwest::Url::parse(input)
        .map_err(|_| bad("The issuer must be a full URL, like https://login.example.com."))?;
    let host = url.host_str().unwrap_or_default();
    let loopback = host == "localhost" || host.ends_with(".localhost") || host == "127.0.0.1" || host == "[::1]";
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        _ => return Err(bad("The issuer must be an https:// URL.")),
    }
    if host.is_empty() || url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(bad(
            "The issuer is a plain https:// URL with no query, fragment or user name.",
        ));
    }
    IssuerUrl::new(input.to_owned()).map_err(|_| bad("The issuer must be a full URL, like https://login.example.com."))
}

pub fn parse_client_id(input: &str) -> Result<String, AppError> {
    let id = input.trim();
    if id.is_empty() || id.len() > 255 || id.chars().any(char::is_control) {
        return Err(AppError::invalid(
            "clientId",
            "Enter the client id the identity provider gave this workspace (at most 255 characters).",
        ));
    }
    Ok(id.to_owned())
}

pub fn parse_domains(input: &[String]) -> Result<Vec<String>, AppError> {
    if input.len() > MAX_ALLOWED_DOMAINS {
        return Err(AppError::invalid(
            "allowedDomains",
            format!("At most {MAX_ALLOWED_DOMAINS} email domains."),
        ));
    }
    let mut domains: Vec<String> = Vec::with_capacity(input.len());
    for raw in input {
        let domain = raw.trim().trim_start_matches('@').to_ascii_lowercase();
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        };
        if domain.len() > 253 || !domain.contains('.') || !domain.split('.').all(label_ok) {
            return Err(AppError::invalid(
                "allowedDomains",
                format!(
                    "\"{}\" is not an email domain like example.com.",
                    raw.chars().take(80).collect::<String>()
                ),
            ));
        }
        if !domains.contains(&domain) {
            domains.push(domain);
        }
    }
    Ok(domains)
}

/// Tenant › Settings › Single sign-on: saves the provider and the policy, audited (the secret
/// only as "changed").
pub async fn update_config(
    state: &AppState,
    actor: &Actor,
    meta: &RequestMeta,
    tenant_id: Uuid,
    update: SsoConfigUpdate,
) -> Result<SsoConfig, AppError> {
    let before = customer_workspace(state, actor, tenant_id, TENANTS_MANAGE).await?;
    let issuer = parse_issuer(&update.issuer)?;
    let client_id = parse_client_id(&update.client_id)?;
    let domains = parse_domains(&update.allowed_domains)?;
    let new_secret = match update.client_secret.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(secret) if secret.len() > MAX_FIELD_LEN || secret.chars().any(char::is_control) => {
            return Err(AppError::invalid(
                "clientSecret",
                "The client secret is at most 512 characters.",
            ));
        }
        Some(secret) => Some(state.cipher.seal(secret.as_bytes())),
    };
    if new_secret.is_none() && before.sso_client_secret_enc.is_none() {
        return Err(AppError::invalid(
            "clientSecret",
            "Enter the client secret the identity provider gave this workspace.",
        ));
    }
    let now = state.clock.now();
    let txn = super::begin(&state.db).await?;
    let mut update_query = tenants::Entity::update_many()
        .col_expr(tenants::Column::SsoIssuer, Expr::value(issuer.as_str()))
        .col_expr(tenants::Column::SsoClientId, Expr::value(client_id.clone()))
        .col_expr(tenants::Column::SsoAllowedDomains, Expr::value(json!(domains)))
        .col_expr(
            tenants::Column::SsoJitProvisioning,
            Expr::value(update.jit_provisioning),
        )
        .col_expr(tenants::Column::SsoRequiresMfa, Expr::value(update.requires_mfa))
        .col_expr(tenants::Column::UpdatedAt, Expr::value(now));
    if let Some(secret) = &new_secret {
        update_query = update_query.col_expr(tenants::Column::SsoClientSecretEnc, Expr::value(secret.clone()));
    }
    update_query
        .filter(tenants::Column::Id.eq(tenant_id))
        .exec(&txn)
        .await
        .map_err(db_error)?;
    let old = json!({
        "issuer": before.sso_issuer,
        "client_id": before.sso_client_id,
        "allowed_domains": allowed_domains(&before),
        "jit_provisioning": before.sso_jit_provisioning,
        "requires_mfa": before.sso_requires_mfa,
    });
    let new = json!({
        "issuer": issuer.as_str(),
        "client_id": client_id,
        "allowed_domains": domains,
        "jit_provisioning": update.jit_provisioning,
        "requires_mfa": update.requires_mfa,
    });
    if old != new || new_secret.is_some() {
        let mut after = new;
        after["client_secret_changed"] = json!(new_secret.is_some());
        let change = audit::Change {
            action: "tenant.sso_settings_changed",
            target_type: "tenant",
            target_id: Some(tenant_id.to_string()),
            tenant_id: Some(tenant_id),
            before: Some(old),
            after: Some(after),
        };
        audit::record(&txn, state.clock.as_ref(), actor, meta, change).await?;
    }
    txn.commit().await.map_err(db_error)?;
    config(state, actor, tenant_id).await
}

/// "Test connection": fetches the discovery document and the signing keys and says plainly what
/// is wrong with them, without saving anything.
pub async fn test_connection(
    state: &AppState,
    actor: &Actor,
    tenant_id: Uuid,
    test: SsoConnectionTest,
) -> Result<SsoConnectionReport, AppError> {
    customer_workspace(state, actor, tenant_id, TENANTS_MANAGE).await?;
    let issuer = parse_issuer(&test.issuer)?;
    let mut report = SsoConnectionReport {
        issuer: issuer.to_string(),
        ..SsoConnectionReport::default()
    };
    match state.providers.discover(&issuer).await {
        Ok(metadata) => {
            report.authorization_endpoint = Some(metadata.authorization_endpoint().to_string());
            report.token_endpoint = metadata.token_endpoint().map(ToString::to_string);
            report.jwks_uri = Some(metadata.jwks_uri().to_string());
            report.signing_keys = metadata.jwks().keys().len().try_into().unwrap_or(u32::MAX);
            if report.token_endpoint.is_none() {
                report.problems.push("The discovery document has no token_endpoint: the provider cannot complete the authorization code flow.".into());
            }
            if report.signing_keys == 0 {
                report.problems.push(format!(
                    "The provider publishes no signing keys at {}: ID tokens could not be verified.",
                    metadata.jwks_uri()
                ));
            }
            let supports_code = metadata
                .response_types_supported()
                .iter()
                .any(|types| types.iter().any(|t| t.as_ref() == "code"));
            if !supports_code {
                report
                    .problems
                    .push("The provider does not offer the authorization code flow (response type \"code\").".into());
            }
        }
        Err(problem) => report.problems.push(problem),
    }
    report.ok = report.problems.is_empty();
    Ok(report)
}

fn describe_discovery_error<E: std::error::Error + 'static>(
    issuer: &IssuerUrl,
    error: &openidconnect::DiscoveryError<E>,
) -> String {
    use openidconnect::DiscoveryError as D;
    let document = format!(
        "{}/.well-known/openid-configuration",
        issuer.as_str().trim_end_matches('/')
    );
    match error {
        // One answer whatever stopped the call (a refused, closed or silent port, a name that
        // does not resolve or is internal, a bad certificate): the person reading it may be
        // probing the network Latchkey runs in. The cause goes to the server log.
        D::Request(cause) => {
            tracing::info!(issuer = %issuer.as_str(), cause = %error_chain(cause), "an identity provider could not be reached");
            format!(
                "Could not reach {document}. Latchkey calls identity providers at public internet addresses only: check the URL, that the provider answers there, and its TLS certificate."
            )
        }
        D::Response(status, _, _) => format!("{document} answered HTTP {status}, not the discovery document."),
        D::Parse(cause) => format!(
            "{document} is not a usable discovery document: {} (at {}).",
            cause.inner(),
            cause.path()
        ),
        D::Validation(message) => format!(
            "The discovery document does not belong to this issuer: {message}. The issuer must be written exactly as the provider names it."
        ),
        D::UrlParse(_) => "The issuer is not a valid URL.".to_owned(),
        other => format!("The discovery document could not be read: {other}."),
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What the browser carries from "Continue with SSO" to the callback.
#[derive(Serialize, Deserialize)]
struct Flow {
    tenant_id: Uuid,
    state: String,
    nonce: String,
    pkce_verifier: String,
    started_at: DateTime<Utc>,
}

/// Where to send the browser, and the cookie to set on the way.
#[derive(Debug)]
pub struct Redirect {
    pub location: String,
    pub cookies: Vec<String>,
}

fn flow_cookie(state: &AppState, value: &str, max_age: i64) -> String {
    format!(
        "{FLOW_COOKIE}={value}; Path=/sso; HttpOnly; SameSite=Lax; Max-Age={max_age}{}",
        if state.config.secure_cookies { "; Secure" } else { "" }
    )
}

/// Why an attempt failed, for the security event, and what the person is told.
struct Failure {
    reason: SsoFailureReason,
    detail: serde_json::Value,
}

impl Failure {
    fn new(reason: SsoFailureReason, detail: serde_json::Value) -> Self {
        Self { reason, detail }
    }
}

/// The workspace's provider: discovery, then a client with our redirect URI.
struct Provider {
    client: CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
}

async fn provider(state: &AppState, realm: &Realm) -> Result<Provider, Failure> {
    let tenant = &realm.tenant;
    let not_configured = || Failure::new(SsoFailureReason::NotConfigured, json!({}));
    if realm.kind() != RealmKind::Tenant || realm.sign_in_mode() != SignInMode::Sso {
        return Err(not_configured());
    }
    let (Some(issuer), Some(client_id), Some(sealed)) =
        (&tenant.sso_issuer, &tenant.sso_client_id, &tenant.sso_client_secret_enc)
    else {
        return Err(not_configured());
    };
    let issuer = IssuerUrl::new(issuer.clone()).map_err(|_| not_configured())?;
    let secret = state
        .cipher
        .open(sealed)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            tracing::error!(tenant = %tenant.slug, "the SSO client secret cannot be opened with this instance's key");
            not_configured()
        })?;
    let metadata = state
        .providers
        .discovered(tenant.id, &issuer)
        .await
        .map_err(|error| Failure::new(SsoFailureReason::ProviderUnavailable, json!({ "error": error })))?;
    let redirect = RedirectUrl::new(redirect_uri(state, realm.label())).map_err(|_| not_configured())?;
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id.clone()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(redirect);
    Ok(Provider { client })
}

/// Sign-in page → "Continue with SSO": sends the browser to the provider.
pub async fn start(state: &AppState, realm: &Realm, meta: &RequestMeta) -> Result<Redirect, AppError> {
    let provider = match provider(state, realm).await {
        Ok(provider) => provider,
        Err(failure) => return fail(state, realm, meta, None, failure).await,
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = provider
        .client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    let flow = Flow {
        tenant_id: realm.tenant.id,
        state: csrf.secret().clone(),
        nonce: nonce.secret().clone(),
        pkce_verifier: verifier.secret().clone(),
        started_at: state.clock.now(),
    };
    let sealed = state
        .cipher
        .seal(&serde_json::to_vec(&flow).map_err(|_| AppError::internal())?);
    Ok(Redirect {
        location: url.to_string(),
        cookies: vec![flow_cookie(
            state,
            &URL_SAFE_NO_PAD.encode(sealed),
            FLOW_LIFETIME.num_seconds(),
        )],
    })
}

/// What the provider sends back to the callback.
#[derive(Debug, Default, Deserialize)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

fn open_flow(state: &AppState, realm: &Realm, cookie: Option<&str>) -> Option<Flow> {
    let sealed = URL_SAFE_NO_PAD.decode(cookie?).ok()?;
    let flow: Flow = serde_json::from_slice(&state.cipher.open(&sealed)?).ok()?;
    let fresh = state.clock.now() - flow.started_at <= FLOW_LIFETIME;
    (flow.tenant_id == realm.tenant.id && fresh).then_some(flow)
}

/// The provider's redirect back: checks state, exchanges the code (with the PKCE verifier),
/// verifies the ID token and signs the matching member in.
pub async fn finish(
    state: &AppState,
    realm: &Realm,
    meta: &RequestMeta,
    flow_cookie_value: Option<&str>,
    callback: Callback,
) -> Result<Redirect, AppError> {
    let mut redirect = match verified_identity(state, realm, flow_cookie_value, callback).await {
        Ok(identity) => match sign_in(state, realm, meta, identity).await? {
            Ok(redirect) => redirect,
            Err((user_id, failure)) => fail(state, realm, meta, user_id, failure).await?,
        },
        Err(failure) => fail(state, realm, meta, None, failure).await?,
    };
    // The flow is single-use whatever happened.
    redirect.cookies.push(flow_cookie(state, "", 0));
    Ok(redirect)
}

/// Who the provider says signed in, once every check on its answer has passed.
struct Identity {
    email: Email,
    name: Option<DisplayName>,
    subject: String,
    issuer: String,
}

async fn verified_identity(
    state: &AppState,
    realm: &Realm,
    flow_cookie_value: Option<&str>,
    callback: Callback,
) -> Result<Identity, Failure> {
    let Some(flow) = open_flow(state, realm, flow_cookie_value) else {
        return Err(Failure::new(SsoFailureReason::FlowExpired, json!({})));
    };
    // Compared before anything else: an answer to another browser's request is not ours.
    if callback.state.as_deref() != Some(flow.state.as_str()) {
        return Err(Failure::new(
            SsoFailureReason::FlowExpired,
            json!({ "error": "state_mismatch" }),
        ));
    }
    if let Some(error) = callback.error {
        let description: Option<String> = callback.error_description.map(|d| d.chars().take(300).collect());
        return Err(Failure::new(
            SsoFailureReason::ProviderError,
            json!({ "provider_error": error.chars().take(100).collect::<String>(), "provider_error_description": description }),
        ));
    }
    let Some(code) = callback.code.filter(|c| !c.is_empty() && c.len() <= 2048) else {
        return Err(Failure::new(
            SsoFailureReason::ProviderError,
            json!({ "error": "no_code" }),
        ));
    };
    let provider = provider(state, realm).await?;
    let unavailable = |error: String| Failure::new(SsoFailureReason::ProviderUnavailable, json!({ "error": error }));
    let response = provider
        .client
        .exchange_code(AuthorizationCode::new(code))
        .map_err(|_| unavailable("the provider has no token endpoint".into()))?
        .set_pkce_verifier(PkceCodeVerifier::new(flow.pkce_verifier))
        .request_async(&state.providers.http)
        .await
        .map_err(|error| match &error {
            openidconnect::RequestTokenError::ServerResponse(answer) => Failure::new(
                SsoFailureReason::ProviderError,
                json!({
                    "provider_error": answer.error().to_string(),
                    "provider_error_description": answer.error_description(),
                }),
            ),
            openidconnect::RequestTokenError::Request(cause) => {
                tracing::info!(cause = %error_chain(cause), "an identity provider's token endpoint could not be reached");
                unavailable("the token endpoint could not be reached".into())
            }
            other => unavailable(format!("token request failed: {}", error_chain(other))),
        })?;
    let invalid = |error: String| Failure::new(SsoFailureReason::InvalidToken, json!({ "error": error }));
    let id_token = response
        .id_token()
        .ok_or_else(|| invalid("the token response has no ID token".into()))?;
    let claims = id_token
        .claims(&provider.client.id_token_verifier(), &Nonce::new(flow.nonce))
        .map_err(|error| invalid(error_chain(&error)))?;
    let subject = claims.subject().to_string();
    let issuer = claims.issuer().to_string();
    let raw_email = claims.email().map(|e| e.to_string()).unwrap_or_default();
    let email = Email::parse(&raw_email, "email").map_err(|_| {
        Failure::new(
            SsoFailureReason::EmailUnverified,
            json!({ "error": "the ID token has no usable email claim", "sub": subject }),
        )
    })?;
    if claims.email_verified() != Some(true) {
        return Err(Failure::new(
            SsoFailureReason::EmailUnverified,
            json!({ "email": email.as_str(), "sub": subject }),
        ));
    }
    let domains = allowed_domains(&realm.tenant);
    let domain = email.as_str().rsplit('@').next().unwrap_or_default();
    if !domains.is_empty() && !domains.iter().any(|d| d == domain) {
        return Err(Failure::new(
            SsoFailureReason::DomainNotAllowed,
            json!({ "email": email.as_str(), "allowed_domains": domains }),
        ));
    }
    // The same rules as a name typed in the console.
    let name = claims
        .name()
        .and_then(|n| n.get(None))
        .and_then(|n| DisplayName::from_provider(n.as_str()));
    Ok(Identity {
        email,
        name,
        subject,
        issuer,
    })
}

/// Signs the identity in as its member of this workspace: provisions it first when the
/// workspace allows that, activates a pending invite, and clears a password left from before
/// the workspace moved to SSO (the "Password_Expired" dead end other products have).
async fn sign_in(
    state: &AppState,
    realm: &Realm,
    meta: &RequestMeta,
    identity: Identity,
) -> Result<Result<Redirect, (Option<Uuid>, Failure)>, AppError> {
    let tenant = &realm.tenant;
    let now = state.clock.now();
    let db = &state.db;
    let user = user_rows::Entity::find()
        .filter(user_rows::Column::Email.eq(identity.email.as_str()))
        .one(db)
        .await
        .map_err(db_error)?;
    let membership = match &user {
        Some(user) => users::membership(db, user.id, tenant.id).await?,
        None => None,
    };
    if membership.is_none() && !tenant.sso_jit_provisioning {
        let failure = Failure::new(
            SsoFailureReason::UnknownAccount,
            json!({ "email": identity.email.as_str(), "sub": identity.subject }),
        );
        // The event names no account: it is this workspace's to read.
        return Ok(Err((None, failure)));
    }
    // A workspace's provider speaks for that workspace only: it may make a new account, or
    // sign in a member who has accepted this workspace, but never attach an account that
    // exists beyond it (another workspace's member, the operator's staff, or a password of its
    // own) until the person has proved it is theirs through the emailed invite.
    if let Some(existing) = &user
        && membership
            .as_ref()
            .is_none_or(|m| m.status == MembershipStatus::Pending.as_str())
        && super::invites::has_account_elsewhere(db, existing, tenant.id).await?
    {
        let failure = Failure::new(
            SsoFailureReason::AccountNeedsProof,
            json!({ "email": identity.email.as_str(), "sub": identity.subject }),
        );
        return Ok(Err((None, failure)));
    }
    if let Some(m) = &membership {
        match m.status.parse::<MembershipStatus>().ok() {
            Some(MembershipStatus::Disabled) => {
                return Ok(Err((
                    Some(m.user_id),
                    Failure::new(SsoFailureReason::Disabled, json!({})),
                )));
            }
            Some(MembershipStatus::Locked) if m.locked_until.is_none_or(|until| until > now) => {
                return Ok(Err((
                    Some(m.user_id),
                    Failure::new(SsoFailureReason::Locked, json!({})),
                )));
            }
            _ => {}
        }
    }

    // Writes first: SQLite takes its write lock at the start of the transaction.
    let txn = super::begin(db).await?;
    let mut provisioned = false;
    let user = match user {
        Some(user) => user,
        None => {
            provisioned = true;
            let display_name = match &identity.name {
                Some(name) => name.as_str().to_owned(),
                None => identity.email.as_str().split('@').next().unwrap_or_default().to_owned(),
            };
            users::new_account(identity.email.as_str(), None, display_name, now)
                .insert(&txn)
                .await
                .map_err(db_error)?
        }
    };
    let membership = match membership {
        Some(m) => m,
        None => {
            provisioned = true;
            let role = setup::builtin_role(&txn, super::roles::MEMBER.key).await?;
            users::new_membership((&user, tenant.id), role.id, MembershipStatus::Active, now)
                .insert(&txn)
                .await
                .map_err(db_error)?
        }
    };
    let accepted_invite = membership.status == MembershipStatus::Pending.as_str();
    if accepted_invite {
        let mut active: memberships::ActiveModel = membership.clone().into();
        active.status = Set(MembershipStatus::Active.into());
        active.updated_at = Set(now);
        active.update(&txn).await.map_err(db_error)?;
        one_time::supersede(&txn, user.id, tenant.id, super::invites::LINK_PURPOSES, now).await?;
    }
    // A password from before the move to SSO is cleared, unless another workspace of the user
    // still signs in with it.
    let clear_password = user.password_hash.is_some() && !needs_password_elsewhere(&txn, user.id, tenant.id).await?;
    if clear_password {
        let mut active: user_rows::ActiveModel = user.clone().into();
        active.password_hash = Set(None);
        active.password_changed_at = Set(None);
        active.must_change_password = Set(false);
        active.updated_at = Set(now);
        active.update(&txn).await.map_err(db_error)?;
    }
    let role = super::super::entities::roles::Entity::find_by_id(membership.role_id)
        .one(&txn)
        .await
        .map_err(db_error)?
        .ok_or_else(AppError::internal)?;
    let subject_actor = Actor {
        user: user.clone(),
        membership: membership.clone(),
        role,
        tenant: tenant.clone(),
        session_id: None,
        token_id: None,
        mfa_step: None,
        impersonator_id: None,
    };
    if provisioned {
        let change = audit::Change {
            action: "user.provisioned_by_sso",
            target_type: "user",
            target_id: Some(user.id.to_string()),
            tenant_id: Some(tenant.id),
            before: None,
            after: Some(json!({ "email": user.email, "role": "member", "sub": identity.subject })),
        };
        audit::record(&txn, state.clock.as_ref(), &subject_actor, meta, change).await?;
    }
    if clear_password {
        let change = audit::Change {
            action: "user.password_cleared_for_sso",
            target_type: "user",
            target_id: Some(user.id.to_string()),
            tenant_id: Some(tenant.id),
            before: Some(json!({ "has_password": true })),
            after: Some(json!({ "has_password": false })),
        };
        audit::record(&txn, state.clock.as_ref(), &subject_actor, meta, change).await?;
    }
    let session = sessions::create(&txn, user.id, tenant.id, meta, now).await?;
    if !tenant.sso_requires_mfa {
        sessions::mark_mfa_verified(&txn, session.session.id).await?;
    }
    let event = NewEvent {
        event_type: SecurityEventType::SsoSignIn,
        user_id: Some(user.id),
        tenant_id: Some(tenant.id),
        identifier: Some(identity.email.as_str()),
        detail: json!({
            "issuer": identity.issuer,
            "sub": identity.subject,
            "provisioned": provisioned,
            "invite_accepted": accepted_invite,
            "password_cleared": clear_password,
            "mfa_required": tenant.sso_requires_mfa,
        }),
    };
    events::record(&txn, state.clock.as_ref(), meta, event).await?;
    txn.commit().await.map_err(db_error)?;
    Ok(Ok(Redirect {
        location: "/".into(),
        cookies: vec![sessions::cookie(&session.token, state.config.secure_cookies)],
    }))
}

/// Whether the user belongs to a workspace (or the admin console) that signs in with a password.
async fn needs_password_elsewhere(
    db: &impl sea_orm::ConnectionTrait,
    user_id: Uuid,
    tenant_id: Uuid,
) -> Result<bool, AppError> {
    let others = memberships::Entity::find()
        .filter(memberships::Column::UserId.eq(user_id))
        .filter(memberships::Column::TenantId.ne(tenant_id))
        .find_also_related(tenants::Entity)
        .all(db)
        .await
        .map_err(db_error)?;
    Ok(others
        .into_iter()
        .filter_map(|(_, t)| t)
        .any(|t| t.kind == TenantKind::Operator.as_str() || t.sign_in_mode != SignInMode::Sso.as_str()))
}

/// Records the SSO Failure event and sends the browser to the sign-in page, which explains.
async fn fail(
    state: &AppState,
    realm: &Realm,
    meta: &RequestMeta,
    user_id: Option<Uuid>,
    failure: Failure,
) -> Result<Redirect, AppError> {
    let mut detail = failure.detail;
    detail["reason"] = json!(failure.reason.as_str());
    tracing::info!(tenant = %realm.tenant.slug, reason = failure.reason.as_str(), "single sign-on failed");
    let event = NewEvent {
        event_type: SecurityEventType::SsoFailure,
        user_id,
        tenant_id: Some(realm.tenant.id),
        identifier: None,
        detail,
    };
    let reference = events::record(&state.db, state.clock.as_ref(), meta, event).await?;
    Ok(Redirect {
        location: format!("/sign-in?sso_error={}&ref={reference}", failure.reason.as_str()),
        cookies: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuers_are_https_or_loopback() {
        assert!(parse_issuer("https://login.example.com").is_ok());
        assert!(parse_issuer("https://login.example.com/tenant/v2.0").is_ok());
        assert!(parse_issuer("http://127.0.0.1:9000").is_ok());
        assert!(parse_issuer("http://idp.localhost:9000").is_ok());
        for bad in [
            "",
            "login.example.com",
            "http://login.example.com",
            "ftp://login.example.com",
            "https://login.example.com/?a=b",
            "https://user@login.example.com",
            "javascript:alert(1)",
        ] {
            let error = parse_issuer(bad).unwrap_err();
            assert_eq!(error.field_messages("issuer").len(), 1, "{bad}");
        }
    }

    #[test]
    fn domains_are_normalised_and_checked() {
        let parsed = parse_domains(&["Acme.test".into(), "@acme.test".into(), " sub.acme.test ".into()]).unwrap();
        assert_eq!(parsed, vec!["acme.test".to_owned(), "sub.acme.test".to_owned()]);
        for bad in ["acme", "-acme.test", "acme..test", "ac me.test", "acme.test/x", ""] {
            assert!(parse_domains(&[bad.into()]).is_err(), "{bad}");
        }
        assert!(parse_domains(&vec!["a.test".to_owned(); 51]).is_err());
    }

    #[test]
    fn client_ids_are_printable() {
        assert_eq!(parse_client_id(" latchkey ").unwrap(), "latchkey");
        assert!(parse_client_id("").is_err());
        assert!(parse_client_id("a\nb").is_err());
        assert!(parse_client_id(&"x".repeat(256)).is_err());
    }
}
