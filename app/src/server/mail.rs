//! Sending email. The service layer never sends directly: it writes an outbox row in the same
//! transaction as the change, and the delivery worker hands it to a [`Mailer`].

use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

#[async_trait]
pub trait Mailer: Send + Sync + 'static {
    /// Delivers one message; the error text is kept as the outbox row's last error.
    async fn send(&self, email: &OutgoingEmail) -> Result<(), String>;
}

/// SMTP through lettre, from a URL such as `smtp://127.0.0.1:2525` or
/// `smtps://user:pass@mail.example.com` (lettre's URL format).
pub struct SmtpMailer {
    transport: lettre::AsyncSmtpTransport<lettre::Tokio1Executor>,
    from: lettre::message::Mailbox,
}

impl SmtpMailer {
    pub fn from_url(url: &str, from: &str) -> Result<Self, String> {
        let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
            .map_err(|e| format!("SMTP URL: {e}"))?
            .build();
        let from = from.parse().map_err(|e| format!("sender address {from:?}: {e}"))?;
        Ok(Self { transport, from })
    }
}

#[async_trait]
impl Mailer for SmtpMailer {
    async fn send(&self, email: &OutgoingEmail) -> Result<(), String> {
        use lettre::AsyncTransport;
        use lettre::message::{MultiPart, SinglePart, header::ContentType};
        let to = email.to.parse().map_err(|e| format!("recipient: {e}"))?;
        let builder = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject);
        let message = match &email.html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(email.text.clone(), html.clone())),
            None => builder.singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .body(email.text.clone()),
            ),
        }
        .map_err(|e| format!("message: {e}"))?;
        self.transport
            .send(message)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
