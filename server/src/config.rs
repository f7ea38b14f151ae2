use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://latchkey.db?mode=rwc";

/// Settings every command needs.
#[derive(Debug, Clone, Args)]
pub struct CommonConfig {
    /// Database URL: `sqlite://FILE?mode=rwc` (default) or `postgres://USER@HOST/DB`.
    #[arg(long, env = "LATCHKEY_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    pub database_url: String,
    /// Tenants are served at `<slug>.<base-domain>`, admin users at `admin.<base-domain>`.
    #[arg(long, env = "LATCHKEY_BASE_DOMAIN", default_value = "localhost:3000", global = true)]
    pub base_domain: String,
    /// Scheme of the public URLs (links in mail, cookie `Secure` flag): http or https.
    #[arg(long, env = "LATCHKEY_PUBLIC_SCHEME", default_value = "http", value_parser = ["http", "https"], global = true)]
    pub public_scheme: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "LATCHKEY_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// SMTP server for outgoing mail (`smtp://host:port`); unset, mail stays in the outbox.
    #[arg(long, env = "LATCHKEY_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// Sender of outgoing mail (default `Latchkey <no-reply@BASE-DOMAIN-HOST>`).
    #[arg(long, env = "LATCHKEY_SMTP_FROM")]
    pub smtp_from: Option<String>,
    /// Folder with the built single-page app (index.html, WASM, JS, CSS).
    #[arg(long, env = "LATCHKEY_SITE_DIR", default_value = "dist")]
    pub site_dir: PathBuf,
}
