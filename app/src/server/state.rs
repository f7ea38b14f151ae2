use super::clock::Clock;
use super::crypto::{Cipher, Signer};
use super::passwords::PasswordHasher;
use super::sms::SmsProvider;
use sea_orm::DatabaseConnection;
use std::sync::Arc;

/// Deployment settings the rules need (the transports parse them from flags and environment).
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// `localhost:3000` or `latchkey.example.com`: tenants live at `<slug>.<base_domain>`.
    pub base_domain: String,
    /// `http` or `https`, for the links Latchkey prints and mails.
    pub public_scheme: String,
    /// Mark cookies `Secure` (on whenever the public scheme is https).
    pub secure_cookies: bool,
    /// Mail leaves through SMTP; without it admins read the outbox in the console.
    pub smtp_configured: bool,
    /// REST API requests one token may make per minute.
    pub api_requests_per_minute: u32,
    /// A message being sent is hidden from other delivery workers this long; after a crash it
    /// is sent again once the lease ends (with the same `Message-ID`).
    pub outbox_lease: std::time::Duration,
    /// Hosts on private networks that identity providers may be called at (by name, or as an
    /// address written in the URL); every other call goes to public addresses only.
    pub allowed_private_hosts: Vec<String>,
}

pub const DEFAULT_API_REQUESTS_PER_MINUTE: u32 = 600;

impl ServiceConfig {
    pub fn new(base_domain: impl Into<String>, public_scheme: impl Into<String>) -> Self {
        let public_scheme = public_scheme.into();
        Self {
            base_domain: base_domain.into().to_ascii_lowercase(),
            secure_cookies: public_scheme == "https",
            smtp_configured: false,
            api_requests_per_minute: DEFAULT_API_REQUESTS_PER_MINUTE,
            outbox_lease: std::time::Duration::from_secs(300),
            allowed_private_hosts: Vec::new(),
            public_scheme,
        }
    }

    /// The address a workspace signs in at, e.g. `http://acme.localhost:3000`.
    pub fn workspace_url(&self, label: &str) -> String {
        format!("{}://{}.{}", self.public_scheme, label, self.base_domain)
    }
}

/// Everything a request needs, shared by the server functions, the REST handlers and the CLI.
#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<ServiceConfig>,
    pub clock: Arc<dyn Clock>,
    pub hasher: PasswordHasher,
    /// Signs the device cookie; its key is shared through the database so that several server
    /// processes accept each other's cookies.
    pub signer: Signer,
    /// Seals data kept at rest (mail bodies, TOTP secrets).
    pub cipher: Cipher,
    /// Sends MFA codes by text message; `None` when no provider is configured.
    pub sms: Option<Arc<dyn SmsProvider>>,
    /// Identity providers: the guarded HTTP client and their discovery documents, cached.
    pub providers: Arc<super::services::sso::Providers>,
}
