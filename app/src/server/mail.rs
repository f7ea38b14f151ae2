//! Sending email. The service layer never sends directly: it writes an outbox row in the same
//! transaction as the change, and the delivery worker hands it to a [`Mailer`].

use async_trait::async_trait;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
    /// Stays the same on every retry of one outbox message (its id), and goes out as the
    /// `Message-ID`, so a receiver can drop a copy sent again after a crash.
    pub idempotency_key: Option<String>,
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
        Self::with_timeout(url, from, std::time::Duration::from_secs(60))
    }

    /// `timeout` bounds each SMTP command; keep it under the outbox lease, or a slow send could
    /// outlive its claim and another process would send the message again.
    pub fn with_timeout(url: &str, from: &str, timeout: std::time::Duration) -> Result<Self, String> {
        let transport = lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
            .map_err(|e| format!("SMTP URL: {e}"))?
            .timeout(Some(timeout))
            .build();
        let from = from.parse().map_err(|e| format!("sender address {from:?}: {e}"))?;
        Ok(Self { transport, from })
    }

    fn message_id(&self, key: &str) -> String {
        format!("<{key}@{}>", self.from.email.domain())
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
            .message_id(email.idempotency_key.as_deref().map(|key| self.message_id(key)))
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

/// One block of a message: the same words go into the plain-text and the HTML part.
pub enum Block<'a> {
    Text(String),
    /// A code to type, shown large in HTML.
    Code(&'a str),
    /// A button-like link in HTML, the bare URL in plain text.
    Link {
        label: &'a str,
        url: &'a str,
    },
}

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Builds a message with a plain-text and an HTML part from the same blocks, so the two never
/// say different things.
pub fn compose(to: &str, subject: String, blocks: &[Block<'_>]) -> OutgoingEmail {
    let mut text = String::new();
    let mut html = String::new();
    for block in blocks {
        match block {
            Block::Text(words) => {
                text.push_str(words);
                html.push_str(&format!("<p>{}</p>", escape_html(words)));
            }
            Block::Code(code) => {
                text.push_str(code);
                html.push_str(&format!(
                    "<p style=\"font-size:24px;letter-spacing:4px\"><b>{}</b></p>",
                    escape_html(code)
                ));
            }
            Block::Link { label, url } => {
                text.push_str(url);
                html.push_str(&format!(
                    "<p><a href=\"{}\">{}</a></p>",
                    escape_html(url),
                    escape_html(label)
                ));
            }
        }
        text.push_str("\n\n");
    }
    OutgoingEmail {
        to: to.to_owned(),
        subject,
        text,
        html: Some(html),
        idempotency_key: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parts_carry_the_same_words_and_html_is_escaped() {
        let email = compose(
            "a@b.test",
            "Hi".into(),
            &[
                Block::Text("Tom & <Jerry>".into()),
                Block::Code("123456"),
                Block::Link {
                    label: "Open",
                    url: "http://x.test/a?b=1&c=2",
                },
            ],
        );
        assert_eq!(email.text, "Tom & <Jerry>\n\n123456\n\nhttp://x.test/a?b=1&c=2\n\n");
        let html = email.html.unwrap();
        assert!(html.contains("Tom &amp; &lt;Jerry&gt;") && html.contains("<b>123456</b>"));
        assert!(html.contains("href=\"http://x.test/a?b=1&amp;c=2\""));
    }
}
