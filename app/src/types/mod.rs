//! Data shared by the browser, the server functions and the REST API. No database types here.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[macro_use]
mod text_enum;
mod admin;

pub use admin::*;

/// A stored or received enum value that this build does not know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownValue {
    /// Name of the Rust enum, e.g. `"MembershipStatus"`.
    pub kind: &'static str,
    pub value: String,
}

impl std::fmt::Display for UnknownValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "unknown {} value {:?}", self.kind, self.value)
    }
}

impl std::error::Error for UnknownValue {}

text_enum! {
    /// `tenants.kind`: the operator organisation is itself a tenant row (slug `admin`).
    pub enum TenantKind {
        Operator = "operator",
        Customer = "customer",
    }
}

text_enum! {
    /// `tenants.sign_in_mode`: an `sso` tenant signs in through its own identity provider.
    pub enum SignInMode {
        Password = "password",
        Sso = "sso",
    }
}

text_enum! {
    /// `tenants.status`
    pub enum TenantStatus {
        Active = "active",
        Suspended = "suspended",
    }
}

text_enum! {
    /// Membership status as the user lists show it (DESIGN.md, "Membership").
    pub enum MembershipStatus {
        /// Invited, not set up yet.
        Pending = "pending",
        Active = "active",
        /// Locked by an admin or automatically (`locked_reason`, `locked_until`).
        Locked = "locked",
        /// MFA verification cooldown running (`cooldown_until`).
        Cooldown = "cooldown",
        /// Access turned off.
        Disabled = "disabled",
    }
}

impl MembershipStatus {
    pub fn label(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Active => "Active",
            Self::Locked => "Locked",
            Self::Cooldown => "Cooldown",
            Self::Disabled => "Disabled",
        }
    }
}

text_enum! {
    /// Kinds of security event (DESIGN.md, "Security events"). The column is plain text, so a
    /// new type only needs a new variant here.
    pub enum SecurityEventType {
        SignIn = "sign_in",
        LoginFailed = "login_failed",
        AccountLock = "account_lock",
        SessionExpired = "session_expired",
        CooldownActivated = "cooldown_activated",
        MfaProviderFailure = "mfa_provider_failure",
        NotMyNumber = "not_my_number",
        SmsFailure = "sms_failure",
        InvalidCode = "invalid_code",
        TotpReplay = "totp_replay",
        PasswordReset = "password_reset",
        PasswordChange = "password_change",
        MfaReset = "mfa_reset",
        InviteAccepted = "invite_accepted",
        MfaEnrolled = "mfa_enrolled",
        MfaRemoved = "mfa_removed",
        RecoveryCodeUsed = "recovery_code_used",
        RecoveryCodesRegenerated = "recovery_codes_regenerated",
        EmailChanged = "email_changed",
        ImpersonationStarted = "impersonation_started",
        SsoSignIn = "sso_sign_in",
        SsoFailure = "sso_failure",
    }
}

impl SecurityEventType {
    /// The name the console shows.
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
            Self::PasswordChange => "Password Change",
            Self::MfaReset => "MFA Reset",
            Self::InviteAccepted => "Invite Accepted",
            Self::MfaEnrolled => "MFA Enrolled",
            Self::MfaRemoved => "MFA Removed",
            Self::RecoveryCodeUsed => "Recovery Code Used",
            Self::RecoveryCodesRegenerated => "Recovery Codes Regenerated",
            Self::EmailChanged => "Email Changed",
            Self::ImpersonationStarted => "Impersonation Started",
            Self::SsoSignIn => "SSO Sign-in",
            Self::SsoFailure => "SSO Failure",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RealmKind {
    /// `admin.<base>`: the operator organisation, whose members are admin users.
    Operator,
    /// `<slug>.<base>`: one customer tenant.
    Tenant,
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
    /// The account has a password (an SSO account has none): changes to its sign-in methods
    /// ask for it again.
    pub has_password: bool,
    /// What this browser must still do before it reaches anything: prove a second factor, or
    /// set one up where the workspace enforces MFA.
    pub mfa_step: Option<MfaStep>,
    /// Set while an admin sees the workspace as this user.
    pub impersonation: Option<Impersonation>,
}

/// An admin seeing a workspace as one of its users: the banner on every page says so.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Impersonation {
    pub admin_email: String,
    /// The session ends by itself then.
    pub ends_at: chrono::DateTime<chrono::Utc>,
    /// Where "End impersonation" takes the admin back to.
    pub console_url: String,
}

/// The second step of signing in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MfaStep {
    Verify,
    Enroll,
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MembershipSummary {
    pub tenant_name: String,
    pub tenant_slug: String,
    pub kind: RealmKind,
    pub role_name: String,
    pub status: MembershipStatus,
    pub sign_in_url: String,
    /// When a running MFA cooldown ends.
    pub cooldown_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
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

/// What the "Forgot password" form answers, whether or not the account exists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeRequested {
    pub resend_after_secs: u64,
}

/// Proof that the emailed code was right: lets the browser set a new password once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResetTicket {
    pub token: String,
}

/// How strong a candidate password is, as the meter shows it and the server decides it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordStrength {
    /// zxcvbn's score, 0 (guessable in a thousand tries) to 4 (over 10^10 guesses).
    pub score: u8,
    pub label: String,
    /// Why the password is refused, in words a person can act on; `None` when it is accepted.
    pub problem: Option<String>,
    pub suggestions: Vec<String>,
}

/// "Invite user": who to invite, to which workspace, with which role. Also the body of
/// `POST /api/v1/users`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InviteRequest {
    pub email: String,
    pub display_name: String,
    #[serde(default)]
    pub username: Option<String>,
    /// The workspace; a tenant-scoped caller may leave it out for their own.
    #[serde(default)]
    pub tenant_id: Option<Uuid>,
    /// A built-in role key (`member`, `administrator`, `support`, `read_only`); `member` in a
    /// tenant and `read_only` in the operator org when left out.
    #[serde(default)]
    pub role: Option<String>,
}

/// What an invite did: a new user with a pending membership and an emailed link, or an
/// existing user who was given a membership of one more workspace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct InviteOutcome {
    pub user_id: Uuid,
    pub tenant_id: Uuid,
    /// Always Pending: the invitee sets up or proves their account from the emailed link.
    pub status: MembershipStatus,
    /// When the emailed link stops working.
    pub invite_expires_at: Option<DateTime<Utc>>,
}

/// "Generate Access Link": a URL the admin copies and sends the invitee by other means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AccessLink {
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// "Generate Temporary Password": shown once to the admin, never stored in clear.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TemporaryPassword {
    pub temporary_password: String,
    pub expires_at: DateTime<Utc>,
}

/// What the Accept invite page shows before the invitee chooses a password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteInfo {
    pub tenant_name: String,
    pub email: String,
    pub display_name: String,
    pub expires_at: DateTime<Utc>,
    /// The workspace signs in with SSO: there is no password to choose.
    pub sso: bool,
    /// The invitee already has an account (from another workspace): they prove it is theirs
    /// with its password, and `needs_code`, instead of choosing a password.
    pub has_password: bool,
    /// The account has a second factor: a code from it (or a recovery code) is asked too.
    pub needs_code: bool,
}

/// One row of Settings > Outbox. The body stays sealed until an admin opens the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub id: Uuid,
    pub channel: String,
    pub recipient: String,
    pub subject: Option<String>,
    pub tenant_name: Option<String>,
    /// `pending`, `sent` or `failed`.
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub next_attempt_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxPage {
    pub messages: Vec<OutboxMessage>,
    /// Pass back as `before` for the next (older) page; `None` on the last page.
    pub next_cursor: Option<String>,
    pub pending: u64,
    pub sent: u64,
    pub failed: u64,
    /// Whether mail leaves by SMTP; without it, this page is where messages are read.
    pub smtp_configured: bool,
}

/// An outbox message opened for reading (it may hold a live code or link).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessageBody {
    pub id: Uuid,
    pub recipient: String,
    pub subject: String,
    pub text: String,
}

/// "Set up MFA": the new authenticator's secret, as a QR code and as text. Shown to its owner
/// only, while the factor is unconfirmed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpEnrollment {
    pub factor_id: Uuid,
    /// Base32, for typing into an authenticator by hand.
    pub secret: String,
    pub otpauth_url: String,
    /// A PNG of the `otpauth://` URL, base64.
    pub qr_png_base64: String,
    /// What the authenticator app will show, naming the workspace and its host.
    pub issuer: String,
    pub account: String,
}

/// Recovery codes, shown once: at enrollment and when regenerated.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryCodes {
    pub codes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct MfaFactorSummary {
    pub id: Uuid,
    pub kind: String,
    pub label: String,
    pub created_at: DateTime<Utc>,
}

/// My account > Multi-factor authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MyMfa {
    pub factors: Vec<MfaFactorSummary>,
    pub recovery_codes_left: u64,
    /// This workspace requires a factor: the last one cannot be removed.
    pub enforced: bool,
}

/// A code was sent by text message to the number shown (only its last digits).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsSent {
    pub factor_id: Uuid,
    pub masked_phone: String,
    pub resend_after_secs: u64,
}

/// Which second factors the MFA step offers this user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MfaOptions {
    pub totp: bool,
    /// The SMS factor's number, masked, when the user has one and texts can be sent.
    pub sms_phone: Option<String>,
}

/// "Continue with SSO": a plain navigation to the server, which redirects to the provider.
pub const SSO_START_PATH: &str = "/sso/start";
/// Where the identity provider sends the browser back.
pub const SSO_CALLBACK_PATH: &str = "/sso/callback";

text_enum! {
    /// Why a single sign-on attempt ended without a session: the callback sends the browser to
    /// the sign-in page with `?sso_error=<this>`, and the page says what it means.
    pub enum SsoFailureReason {
        /// The workspace has no identity provider set up, or does not sign in with SSO.
        NotConfigured = "not_configured",
        /// The sign-in took longer than ten minutes, or started in another browser.
        FlowExpired = "flow_expired",
        /// The identity provider refused or the user cancelled there.
        ProviderError = "provider_error",
        /// The identity provider could not be reached, or answered something unusable.
        ProviderUnavailable = "provider_unavailable",
        /// The ID token failed verification (signature, issuer, audience, expiry or nonce).
        InvalidToken = "invalid_token",
        /// The provider did not vouch for the email address.
        EmailUnverified = "email_unverified",
        /// The email is outside the workspace's allowed domains.
        DomainNotAllowed = "domain_not_allowed",
        /// No account of this workspace has that email, and accounts are not made on first sign-in.
        UnknownAccount = "unknown_account",
        /// The email belongs to an account of another workspace (or one with a password): the
        /// provider speaks for this workspace only, so the person accepts an emailed invite and
        /// proves the account is theirs first.
        AccountNeedsProof = "account_needs_proof",
        Disabled = "disabled",
        Locked = "locked",
    }
}

impl SsoFailureReason {
    /// What the sign-in page tells the person.
    pub fn message(self) -> &'static str {
        match self {
            Self::NotConfigured => "Single sign-on is not set up for this workspace. Ask your administrator.",
            Self::FlowExpired => "The single sign-on took too long or started in another browser. Please try again.",
            Self::ProviderError => "Your identity provider did not sign you in.",
            Self::ProviderUnavailable => {
                "Your identity provider could not be reached. Please try again in a few minutes."
            }
            Self::InvalidToken => {
                "Your identity provider's answer could not be verified, so you were not signed in. Your administrator can see the details in the security log."
            }
            Self::EmailUnverified => {
                "Your identity provider has not verified your email address, so you were not signed in."
            }
            Self::DomainNotAllowed => "Your email address is not one this workspace accepts for single sign-on.",
            Self::UnknownAccount => {
                "Your identity provider signed you in, but no account in this workspace has your email address. Ask your administrator to invite you."
            }
            Self::AccountNeedsProof => {
                "Your identity provider signed you in, but your account must first be linked to this workspace. Ask your administrator to invite you, then accept the invite from the email."
            }
            Self::Disabled => "This account is disabled",
            Self::Locked => "Your account is locked. Contact your administrator.",
        }
    }
}
