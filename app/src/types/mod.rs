//! Data shared by the browser, the server functions and the REST API. No database types here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RealmKind {
    /// `admin.<base>`: the operator organisation, whose members are admin users.
    Operator,
    /// `<slug>.<base>`: one customer tenant.
    Tenant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInMode {
    Password,
    Sso,
}

impl SignInMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::Sso => "sso",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "password" => Some(Self::Password),
            "sso" => Some(Self::Sso),
            _ => None,
        }
    }
}

/// Membership status as the user lists show it (DESIGN.md, "Membership").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MembershipStatus {
    Pending,
    Active,
    Locked,
    Cooldown,
    Disabled,
}

impl MembershipStatus {
    pub const ALL: [Self; 5] = [
        Self::Pending,
        Self::Active,
        Self::Locked,
        Self::Cooldown,
        Self::Disabled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Locked => "locked",
            Self::Cooldown => "cooldown",
            Self::Disabled => "disabled",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Active => "Active",
            Self::Locked => "Locked",
            Self::Cooldown => "Cooldown",
            Self::Disabled => "Disabled",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }
}

/// The workspace the browser is on, resolved by the server from the Host header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RealmInfo {
    pub kind: RealmKind,
    pub name: String,
    pub slug: String,
    pub sign_in_mode: SignInMode,
}

/// The signed-in person on this host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Viewer {
    pub user_id: Uuid,
    pub email: String,
    pub username: Option<String>,
    pub display_name: String,
    pub role_name: String,
    pub must_change_password: bool,
}

/// What the single-page app asks first: where am I, and who am I here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    pub realm: RealmInfo,
    pub base_domain: String,
    pub viewer: Option<Viewer>,
    /// A message for the sign-in page, e.g. "Your session expired. Please sign in again."
    pub notice: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MembershipSummary {
    pub tenant_name: String,
    pub tenant_slug: String,
    pub kind: RealmKind,
    pub role_name: String,
    pub status: MembershipStatus,
    pub sign_in_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionSummary {
    pub id: Uuid,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub user_agent: Option<String>,
    pub ip: Option<String>,
    pub current: bool,
}

/// A user as the API and the My account page show them. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserProfile {
    pub id: Uuid,
    pub email: String,
    pub username: Option<String>,
    pub display_name: String,
    pub secondary_email: Option<String>,
    pub phone: Option<String>,
    pub password_changed_at: Option<DateTime<Utc>>,
    pub must_change_password: bool,
    pub memberships: Vec<MembershipSummary>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MyAccount {
    pub profile: UserProfile,
    pub sessions: Vec<SessionSummary>,
}

/// Kinds of security event (DESIGN.md, "Security events"). The label is what the console shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecurityEventType {
    SignIn,
    LoginFailed,
    AccountLock,
    SessionExpired,
    CooldownActivated,
    MfaProviderFailure,
    NotMyNumber,
    SmsFailure,
    InvalidCode,
    TotpReplay,
    PasswordReset,
    MfaReset,
}

impl SecurityEventType {
    pub const ALL: [Self; 12] = [
        Self::SignIn,
        Self::LoginFailed,
        Self::AccountLock,
        Self::SessionExpired,
        Self::CooldownActivated,
        Self::MfaProviderFailure,
        Self::NotMyNumber,
        Self::SmsFailure,
        Self::InvalidCode,
        Self::TotpReplay,
        Self::PasswordReset,
        Self::MfaReset,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::LoginFailed => "login_failed",
            Self::AccountLock => "account_lock",
            Self::SessionExpired => "session_expired",
            Self::CooldownActivated => "cooldown_activated",
            Self::MfaProviderFailure => "mfa_provider_failure",
            Self::NotMyNumber => "not_my_number",
            Self::SmsFailure => "sms_failure",
            Self::InvalidCode => "invalid_code",
            Self::TotpReplay => "totp_replay",
            Self::PasswordReset => "password_reset",
            Self::MfaReset => "mfa_reset",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::SignIn => "Sign-in",
            Self::LoginFailed => "Login Failed",
            Self::AccountLock => "Account Lock",
            Self::SessionExpired => "Session Expired",
            Self::CooldownActivated => "Cooldown Activated",
            Self::MfaProviderFailure => "MFA Provider Failure",
            Self::NotMyNumber => "Not My Number",
            Self::SmsFailure => "SMS Failure",
            Self::InvalidCode => "Invalid Code",
            Self::TotpReplay => "TOTP Replay",
            Self::PasswordReset => "Password Reset",
            Self::MfaReset => "MFA Reset",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == value)
    }
}
