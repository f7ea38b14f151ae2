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
    /// Key that seals secrets at rest (TOTP secrets, queued mail): 32 bytes as 64 hex
    /// characters or base64. Unset, a key generated once and kept in the database is used.
    /// Parsed by [`parse_encryption_key`], not by clap, whose errors would echo the value.
    #[arg(long, env = "LATCHKEY_ENCRYPTION_KEY", hide_env_values = true, value_parser = |t: &str| Ok::<_, String>(KeyText(t.to_owned())), global = true)]
    pub encryption_key: Option<KeyText>,
}

/// A secret as configured (a key, a token). Its `Debug` never shows it.
#[derive(Clone)]
pub struct KeyText(pub String);

impl std::fmt::Debug for KeyText {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyText(<redacted>)")
    }
}

/// The data encryption key from configuration. Its `Debug` never shows it.
#[derive(Clone)]
pub struct EncryptionKey(pub [u8; 32]);

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptionKey(<redacted>)")
    }
}

pub fn parse_encryption_key(text: &str) -> Result<EncryptionKey, String> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    let text = text.trim();
    let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .ok()
    } else {
        STANDARD.decode(text).or_else(|_| URL_SAFE_NO_PAD.decode(text)).ok()
    };
    bytes
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .map(EncryptionKey)
        .ok_or_else(|| "the encryption key must be 32 bytes, as 64 hex characters or base64".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encryption_keys_are_32_bytes_of_hex_or_base64() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        assert_eq!(parse_encryption_key(hex).unwrap().0[1], 0x11);
        assert_eq!(
            parse_encryption_key("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
                .unwrap()
                .0,
            [0; 32]
        );
        for bad in [
            "",
            "short",
            &hex[..62],
            &format!("{hex}00"),
            "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        ] {
            assert!(parse_encryption_key(bad).is_err(), "{bad:?}");
        }
        assert!(!format!("{:?}", parse_encryption_key(hex).unwrap()).contains("0011"));
    }
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
    /// SMS provider's Twilio-compatible Messages endpoint, e.g.
    /// `https://api.twilio.com/2010-04-01/Accounts/ACxxx/Messages.json`; unset, no SMS factor.
    #[arg(long, env = "LATCHKEY_SMS_URL")]
    pub sms_url: Option<String>,
    /// Account (basic-auth user) for the SMS provider.
    #[arg(long, env = "LATCHKEY_SMS_ACCOUNT", default_value = "")]
    pub sms_account: String,
    /// Auth token (basic-auth password) for the SMS provider.
    #[arg(long, env = "LATCHKEY_SMS_TOKEN", hide_env_values = true, value_parser = |t: &str| Ok::<_, String>(KeyText(t.to_owned())))]
    pub sms_token: Option<KeyText>,
    /// Sender number or name for text messages.
    #[arg(long, env = "LATCHKEY_SMS_FROM", default_value = "Latchkey")]
    pub sms_from: String,
    /// Folder with the built single-page app (index.html, WASM, JS, CSS).
    #[arg(long, env = "LATCHKEY_SITE_DIR", default_value = "dist")]
    pub site_dir: PathBuf,
    /// Seconds a message being sent stays claimed by one server process. After a crash, what that
    /// process was sending goes out again when its claim ends (same Message-ID, so receivers can
    /// drop the copy). SMTP commands time out at half of it.
    #[arg(long, env = "LATCHKEY_OUTBOX_LEASE_SECS", default_value_t = 300, value_parser = clap::value_parser!(u64).range(2..=3600))]
    pub outbox_lease_secs: u64,
    /// REST API requests one token may make per minute; more answer 429 with Retry-After.
    #[arg(long, env = "LATCHKEY_API_RATE_LIMIT", default_value_t = app::server::DEFAULT_API_REQUESTS_PER_MINUTE, value_parser = clap::value_parser!(u32).range(1..))]
    pub api_rate_limit: u32,
    /// Hosts on private or local networks that identity providers may be called at, comma
    /// separated (`idp.corp.internal,10.0.0.5`). Otherwise SSO discovery, signing keys, token
    /// exchange and "Test connection" call public internet addresses only.
    #[arg(long, env = "LATCHKEY_ALLOW_PRIVATE_HOSTS", value_delimiter = ',')]
    pub allow_private_hosts: Vec<String>,
}
