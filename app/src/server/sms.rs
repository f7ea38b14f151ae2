//! Sending text messages. The service layer asks an [`SmsProvider`]; the real one speaks the
//! Twilio Messages API (form POST with basic auth), which many providers also accept.

use async_trait::async_trait;

/// Why a text message was not sent: the provider's status code (if it answered) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsError {
    pub status: Option<u16>,
    pub message: String,
}

impl SmsError {
    /// A refusal of this message (4xx: bad number, unverified recipient): an SMS Failure. Any
    /// other failure is the provider's own: an MFA Provider Failure.
    pub fn is_refusal(&self) -> bool {
        self.status.is_some_and(|s| (400..500).contains(&s))
    }
}

#[async_trait]
pub trait SmsProvider: Send + Sync + 'static {
    async fn send(&self, to: &str, body: &str) -> Result<(), SmsError>;
}

/// A Twilio-compatible provider: `POST {url}` with `To`, `From`, `Body`, basic auth.
pub struct TwilioSms {
    client: reqwest::Client,
    url: String,
    account: String,
    token: String,
    from: String,
}

impl TwilioSms {
    pub fn new(url: String, account: String, token: String, from: String) -> Self {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            client,
            url,
            account,
            token,
            from,
        }
    }
}

#[async_trait]
impl SmsProvider for TwilioSms {
    async fn send(&self, to: &str, body: &str) -> Result<(), SmsError> {
        let response = self
            .client
            .post(&self.url)
            .basic_auth(&self.account, Some(&self.token))
            .form(&[("To", to), ("From", self.from.as_str()), ("Body", body)])
            .send()
            .await
            .map_err(|e| SmsError {
                status: None,
                message: format!("the SMS provider could not be reached: {}", e.without_url()),
            })?;
        let status = response.status().as_u16();
        if response.status().is_success() {
            return Ok(());
        }
        let text = response.text().await.unwrap_or_default();
        // Twilio answers errors as {"code", "message", "status"}.
        let message = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_else(|| text.chars().take(200).collect());
        Err(SmsError {
            status: Some(status),
            message,
        })
    }
}
