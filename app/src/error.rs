//! One error type for the whole product. The server maps it once to an HTTP status and the JSON
//! body `{"error": {"code", "message"}}`; the browser shows its message as it is.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Why a request was refused as unauthenticated. The wording of each is policy (DESIGN.md,
/// "sign-in failures", "lock message", "other sign-in errors").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthFailure {
    InvalidCredentials,
    Locked,
    Disabled,
    SsoRequired,
    WrongHost,
    SessionExpired,
    NotSignedIn,
    /// Signed in with a temporary password: nothing else until a new one is chosen.
    PasswordChangeRequired,
    TemporaryPasswordExpired,
    /// Signed in with a password; the second factor is still to come.
    MfaRequired,
    /// The workspace enforces MFA and the user has no factor yet.
    MfaEnrollmentRequired,
    /// Single sign-on through the identity provider did not end in a session.
    SsoFailed,
}

impl AuthFailure {
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid_credentials",
            Self::Locked => "account_locked",
            Self::Disabled => "account_disabled",
            Self::SsoRequired => "sso_required",
            Self::WrongHost => "wrong_host",
            Self::SessionExpired => "session_expired",
            Self::NotSignedIn => "not_signed_in",
            Self::PasswordChangeRequired => "password_change_required",
            Self::TemporaryPasswordExpired => "temporary_password_expired",
            Self::MfaRequired => "mfa_required",
            Self::MfaEnrollmentRequired => "mfa_enrollment_required",
            Self::SsoFailed => "sso_failed",
        }
    }

    pub fn default_message(self) -> &'static str {
        match self {
            Self::InvalidCredentials => "Invalid username or password",
            Self::Locked => "Your account is locked. Contact your administrator.",
            Self::Disabled => "This account is disabled",
            Self::SsoRequired => "This account signs in with SSO",
            Self::WrongHost => "This account does not sign in here.",
            Self::SessionExpired => "Your session expired. Please sign in again.",
            Self::NotSignedIn => "Please sign in.",
            Self::PasswordChangeRequired => "Choose a new password before you continue.",
            Self::TemporaryPasswordExpired => {
                "Your temporary password has expired. Ask your administrator for a new one."
            }
            Self::MfaRequired => "Enter the code from your authenticator app to continue.",
            Self::MfaEnrollmentRequired => "Set up multi-factor authentication to continue.",
            Self::SsoFailed => "Single sign-on did not sign you in.",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            Self::InvalidCredentials
            | Self::SessionExpired
            | Self::NotSignedIn
            | Self::TemporaryPasswordExpired
            | Self::SsoFailed => 401,
            Self::Locked => 423,
            Self::Disabled
            | Self::SsoRequired
            | Self::WrongHost
            | Self::PasswordChangeRequired
            | Self::MfaRequired
            | Self::MfaEnrollmentRequired => 403,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AppError {
    /// The request itself is malformed (bad Host, bad encoding, unparseable body).
    #[error("{message}")]
    BadRequest { message: String },
    /// Sign-in or session failure. `reference` is the support reference of the security event
    /// that the failure wrote, shown to the user so an admin can find it.
    #[error("{message}")]
    Unauthenticated {
        reason: AuthFailure,
        message: String,
        reference: Option<String>,
        /// Where to sign in instead (wrong-host help), only ever set after a correct password.
        sign_in_url: Option<String>,
    },
    #[error("{message}")]
    Forbidden { message: String },
    #[error("{message}")]
    NotFound { message: String },
    #[error("{message}")]
    Conflict { message: String },
    /// Input that parsed but breaks a rule; `fields` maps a field name to its messages.
    #[error("{message}")]
    Validation {
        message: String,
        fields: BTreeMap<String, Vec<String>>,
    },
    #[error("{message}")]
    RateLimited { message: String, retry_after_secs: u64 },
    /// Details are logged on the server under `reference`; the client only sees a generic text.
    #[error("{message}")]
    Internal { message: String, reference: Option<String> },
    /// The database cannot be reached for the moment (restarting, network); retrying helps.
    #[error("{message}")]
    Unavailable { message: String },
}

impl AppError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest {
            message: message.into(),
        }
    }

    pub fn auth(reason: AuthFailure) -> Self {
        Self::Unauthenticated {
            reason,
            message: reason.default_message().to_owned(),
            reference: None,
            sign_in_url: None,
        }
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::Forbidden {
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::NotFound {
            message: message.into(),
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
        }
    }

    /// A validation failure of one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        Self::Validation {
            fields: BTreeMap::from([(field.to_owned(), vec![message.clone()])]),
            message,
        }
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        Self::RateLimited {
            message: "Too many requests. Please try again shortly.".into(),
            retry_after_secs,
        }
    }

    pub fn internal() -> Self {
        Self::Internal {
            message: "Something went wrong on our side. Please try again.".into(),
            reference: None,
        }
    }

    pub fn unavailable() -> Self {
        Self::Unavailable {
            message: "The service cannot reach its database at the moment. Please try again in a few seconds.".into(),
        }
    }

    /// The HTTP status this error answers with, everywhere.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest { .. } => 400,
            Self::Unauthenticated { reason, .. } => reason.status(),
            Self::Forbidden { .. } => 403,
            Self::NotFound { .. } => 404,
            Self::Conflict { .. } => 409,
            Self::Validation { .. } => 422,
            Self::RateLimited { .. } => 429,
            Self::Internal { .. } => 500,
            Self::Unavailable { .. } => 503,
        }
    }

    /// Seconds a client should wait before trying again (the `Retry-After` header).
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::RateLimited { retry_after_secs, .. } => Some(*retry_after_secs),
            Self::Unavailable { .. } => Some(5),
            _ => None,
        }
    }

    /// The stable machine code in the JSON error body.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { .. } => "bad_request",
            Self::Unauthenticated { reason, .. } => reason.code(),
            Self::Forbidden { .. } => "forbidden",
            Self::NotFound { .. } => "not_found",
            Self::Conflict { .. } => "conflict",
            Self::Validation { .. } => "validation_failed",
            Self::RateLimited { .. } => "rate_limited",
            Self::Internal { .. } => "internal",
            Self::Unavailable { .. } => "unavailable",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::BadRequest { message }
            | Self::Unauthenticated { message, .. }
            | Self::Forbidden { message }
            | Self::NotFound { message }
            | Self::Conflict { message }
            | Self::Validation { message, .. }
            | Self::RateLimited { message, .. }
            | Self::Internal { message, .. }
            | Self::Unavailable { message } => message,
        }
    }

    pub fn reference(&self) -> Option<&str> {
        match self {
            Self::Unauthenticated { reference, .. } | Self::Internal { reference, .. } => reference.as_deref(),
            _ => None,
        }
    }

    pub fn with_reference(mut self, value: String) -> Self {
        if let Self::Unauthenticated { reference, .. } | Self::Internal { reference, .. } = &mut self {
            *reference = Some(value);
        }
        self
    }

    /// The messages for one form field, for showing under that input.
    pub fn field_messages(&self, field: &str) -> Vec<String> {
        match self {
            Self::Validation { fields, .. } => fields.get(field).cloned().unwrap_or_default(),
            _ => Vec::new(),
        }
    }
}

impl leptos::server_fn::error::FromServerFnError for AppError {
    type Encoder = leptos::server_fn::codec::JsonEncoding;

    fn from_server_fn_error(value: leptos::server_fn::error::ServerFnErrorErr) -> Self {
        use leptos::server_fn::error::ServerFnErrorErr as E;
        match value {
            E::Args(m) | E::Deserialization(m) | E::MissingArg(m) | E::UnsupportedRequestMethod(m) => {
                Self::bad_request(format!("The request could not be read: {m}"))
            }
            E::Request(_) | E::Response(_) => Self::Internal {
                message: "Could not reach the server. Check your connection and try again.".into(),
                reference: None,
            },
            _ => Self::internal(),
        }
    }
}

/// The JSON error body of the REST API and of every refused request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetail {
    /// Stable machine-readable code, e.g. `not_found`, `validation_failed`, `rate_limited`.
    pub code: String,
    /// A sentence a person can act on.
    pub message: String,
    /// Support reference of the security event the failure wrote.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub fields: BTreeMap<String, Vec<String>>,
}

impl ErrorBody {
    pub fn from_error(error: &AppError, request_id: Option<String>) -> Self {
        let fields = match error {
            AppError::Validation { fields, .. } => fields.clone(),
            _ => BTreeMap::new(),
        };
        Self {
            error: ErrorDetail {
                code: error.code().to_owned(),
                message: error.message().to_owned(),
                reference: error.reference().map(str::to_owned),
                request_id,
                fields,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_policy() {
        assert_eq!(AppError::auth(AuthFailure::InvalidCredentials).status(), 401);
        assert_eq!(AppError::auth(AuthFailure::Locked).status(), 423);
        assert_eq!(AppError::invalid("email", "x").status(), 422);
        assert_eq!(AppError::rate_limited(3).status(), 429);
    }

    #[test]
    fn lock_message_is_the_designed_text() {
        assert_eq!(
            AppError::auth(AuthFailure::Locked).message(),
            "Your account is locked. Contact your administrator."
        );
    }

    #[test]
    fn error_round_trips_through_json() {
        let error = AppError::auth(AuthFailure::Locked).with_reference("7F3K-Q2M9".into());
        let json = serde_json::to_string(&error).unwrap();
        assert_eq!(serde_json::from_str::<AppError>(&json).unwrap(), error);
    }
}
