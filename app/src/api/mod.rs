//! Server functions: each parses its input, builds the request context and calls one service.

pub mod admin;
pub mod mfa;

pub use admin::*;
pub use mfa::*;

use crate::AppError;
use crate::types::{CodeRequested, HostInfo, InviteInfo, MyAccount, ResetTicket, Viewer};
use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
pub mod ssr {
    use crate::AppError;
    use crate::server::services::auth::device_cookie_name;
    use crate::server::services::sessions::{cookie_value, session_cookie_name};
    use crate::server::{AppState, Realm, RequestMeta};
    use http::header::SET_COOKIE;
    use leptos::prelude::*;

    /// What a server function knows about its request. The server's host middleware has
    /// already resolved the workspace; a request for no workspace never gets this far.
    pub struct FnContext {
        pub state: AppState,
        pub realm: Realm,
        pub meta: RequestMeta,
        cookies: String,
    }

    impl FnContext {
        pub fn session_token(&self) -> Option<&str> {
            cookie_value(&self.cookies, session_cookie_name(self.state.config.secure_cookies))
        }

        pub fn device_cookie(&self) -> Option<String> {
            cookie_value(&self.cookies, device_cookie_name(self.state.config.secure_cookies)).map(str::to_owned)
        }
    }

    pub fn context() -> Result<FnContext, AppError> {
        let state = use_context::<AppState>().ok_or_else(AppError::internal)?;
        let parts = use_context::<http::request::Parts>().ok_or_else(AppError::internal)?;
        let realm = parts
            .extensions
            .get::<Realm>()
            .cloned()
            .ok_or_else(|| AppError::not_found("No such workspace."))?;
        let meta = parts.extensions.get::<RequestMeta>().cloned().unwrap_or_default();
        let cookies = crate::server::services::sessions::cookie_header(&parts.headers);
        Ok(FnContext {
            state,
            realm,
            meta,
            cookies,
        })
    }

    pub fn set_cookie(value: &str) {
        if let (Some(options), Ok(value)) = (
            use_context::<leptos_axum::ResponseOptions>(),
            http::HeaderValue::from_str(value),
        ) {
            options.append_header(SET_COOKIE, value);
        }
    }
}

/// Where the browser is and who is signed in there.
#[server]
pub async fn get_host_info() -> Result<HostInfo, AppError> {
    use crate::server::services::{auth, sessions};
    let ctx = ssr::context()?;
    let info = auth::host_info(&ctx.state, &ctx.realm, &ctx.meta, ctx.session_token()).await?;
    if info.viewer.is_none() && ctx.session_token().is_some() {
        ssr::set_cookie(&sessions::clear_cookie(ctx.state.config.secure_cookies));
    }
    Ok(info)
}

#[server]
pub async fn sign_in(identifier: String, password: String) -> Result<Viewer, AppError> {
    use crate::server::services::auth::{self, SignInInput};
    let ctx = ssr::context()?;
    let input = SignInInput {
        identifier,
        password,
        device_cookie: ctx.device_cookie(),
    };
    let signed_in = auth::sign_in(&ctx.state, &ctx.realm, &ctx.meta, input).await?;
    ssr::set_cookie(&signed_in.session_cookie);
    ssr::set_cookie(&signed_in.device_cookie);
    Ok(signed_in.viewer)
}

#[server]
pub async fn sign_out() -> Result<(), AppError> {
    use crate::server::services::{auth, sessions};
    let ctx = ssr::context()?;
    if let auth::CurrentSession::SignedIn(actor) =
        auth::current_session(&ctx.state, &ctx.realm, &ctx.meta, ctx.session_token()).await?
    {
        auth::sign_out(&ctx.state, &actor).await?;
    }
    ssr::set_cookie(&sessions::clear_cookie(ctx.state.config.secure_cookies));
    Ok(())
}

#[server]
pub async fn get_my_account() -> Result<MyAccount, AppError> {
    use crate::server::services::{auth, users};
    let ctx = ssr::context()?;
    let actor = auth::require_session(&ctx.state, &ctx.realm, &ctx.meta, ctx.session_token()).await?;
    users::my_account(&ctx.state, &actor).await
}

#[server]
pub async fn revoke_my_session(session_id: Uuid) -> Result<(), AppError> {
    use crate::server::services::{auth, users};
    let ctx = ssr::context()?;
    let actor = auth::require_session(&ctx.state, &ctx.realm, &ctx.meta, ctx.session_token()).await?;
    users::revoke_own_session(&ctx.state, &actor, session_id).await
}

/// "Forgot password?": emails a 6-digit code if the identifier names an account here. The answer
/// is the same whether or not it does.
#[server]
pub async fn request_password_reset(identifier: String) -> Result<CodeRequested, AppError> {
    let ctx = ssr::context()?;
    crate::server::services::recovery::request_code(&ctx.state, &ctx.realm, &identifier).await
}

/// Exchanges a right code for a one-time ticket to set the new password.
#[server]
pub async fn verify_reset_code(identifier: String, code: String) -> Result<ResetTicket, AppError> {
    let ctx = ssr::context()?;
    crate::server::services::recovery::verify_code(&ctx.state, &ctx.realm, &ctx.meta, &identifier, &code).await
}

#[server]
pub async fn complete_password_reset(token: String, password: String, confirm: String) -> Result<(), AppError> {
    let ctx = ssr::context()?;
    crate::server::services::recovery::complete(&ctx.state, &ctx.realm, &ctx.meta, &token, password, confirm).await
}

/// The account's own words (email, name, username) that the strength meter, running the same
/// check as the server in a web worker, must weigh: for the holder of a reset ticket or invite
/// link, or (with an empty token) the signed-in user.
#[server]
pub async fn get_account_words(token: String) -> Result<Vec<String>, AppError> {
    use crate::server::services::{auth, recovery};
    let ctx = ssr::context()?;
    if token.is_empty() {
        let actor =
            auth::require_session_allowing_password_change(&ctx.state, &ctx.realm, &ctx.meta, ctx.session_token())
                .await?;
        return Ok(recovery::words_for_user(&actor.user, &actor.tenant));
    }
    recovery::words_for_ticket(&ctx.state, &ctx.realm, &token).await
}

/// My account > Change password. Every session ends, so the page signs in again afterwards.
#[server]
pub async fn change_my_password(current: String, password: String, confirm: String) -> Result<(), AppError> {
    use crate::server::services::{auth, recovery, sessions};
    let ctx = ssr::context()?;
    let actor = auth::require_session(&ctx.state, &ctx.realm, &ctx.meta, ctx.session_token()).await?;
    recovery::change_password(&ctx.state, &ctx.realm, &actor, &ctx.meta, current, password, confirm).await?;
    ssr::set_cookie(&sessions::clear_cookie(ctx.state.config.secure_cookies));
    Ok(())
}

/// The invite behind an Accept invite link, if it is live on this workspace.
#[server]
pub async fn get_invite(token: String) -> Result<InviteInfo, AppError> {
    let ctx = ssr::context()?;
    crate::server::services::invites::info(&ctx.state, &ctx.realm, &token).await
}

/// Accepts an invite with a new password, or by proving an account the invitee already has
/// (its password, and `code` where it has a second factor); then they sign in.
#[server]
pub async fn accept_invite(
    token: String,
    password: String,
    confirm: String,
    #[server(default)] code: Option<String>,
) -> Result<(), AppError> {
    use crate::server::services::invites;
    let ctx = ssr::context()?;
    let answer = invites::Answer {
        password,
        confirm,
        code,
    };
    invites::accept(&ctx.state, &ctx.realm, &ctx.meta, &token, answer).await
}

/// After signing in with a temporary password: the user's own new password. Every session
/// ends, so the page signs in again afterwards.
#[server]
pub async fn replace_temporary_password(password: String, confirm: String) -> Result<(), AppError> {
    use crate::server::services::{auth, sessions, temporary_passwords};
    let ctx = ssr::context()?;
    let actor =
        auth::require_session_allowing_password_change(&ctx.state, &ctx.realm, &ctx.meta, ctx.session_token()).await?;
    temporary_passwords::replace(&ctx.state, &ctx.realm, &actor, &ctx.meta, password, confirm).await?;
    ssr::set_cookie(&sessions::clear_cookie(ctx.state.config.secure_cookies));
    Ok(())
}

/// The link an admin sent to confirm a new email: the change applies now. Answers the address.
#[server]
pub async fn confirm_email_change(token: String) -> Result<String, AppError> {
    let ctx = ssr::context()?;
    crate::server::services::email_change::confirm(&ctx.state, &ctx.realm, &ctx.meta, &token).await
}

/// The impersonation link from the console: this host's session, as the user.
#[server]
pub async fn begin_impersonation(token: String) -> Result<(), AppError> {
    let ctx = ssr::context()?;
    let cookie = crate::server::services::impersonation::begin(&ctx.state, &ctx.realm, &ctx.meta, &token).await?;
    ssr::set_cookie(&cookie);
    Ok(())
}

/// The banner's "End impersonation": answers the console's address to go back to.
#[server]
pub async fn end_impersonation() -> Result<String, AppError> {
    use crate::server::services::{auth, impersonation, sessions};
    let ctx = ssr::context()?;
    let actor = auth::require_session(&ctx.state, &ctx.realm, &ctx.meta, ctx.session_token()).await?;
    let console = impersonation::end(&ctx.state, &actor, &ctx.meta).await?;
    ssr::set_cookie(&sessions::clear_cookie(ctx.state.config.secure_cookies));
    Ok(console)
}

/// Registers every server function with the server (a binary that never names one would drop
/// it, see TOOLCHAIN.md); the integration tests call each of these over HTTP.
#[cfg(feature = "ssr")]
pub fn register_server_functions() {
    use leptos::server_fn::axum::register_explicit;
    register_explicit::<GetHostInfo>();
    register_explicit::<SignIn>();
    register_explicit::<SignOut>();
    register_explicit::<GetMyAccount>();
    register_explicit::<RevokeMySession>();
    register_explicit::<RequestPasswordReset>();
    register_explicit::<VerifyResetCode>();
    register_explicit::<CompletePasswordReset>();
    register_explicit::<GetAccountWords>();
    register_explicit::<ChangeMyPassword>();
    register_explicit::<GetInvite>();
    register_explicit::<AcceptInvite>();
    register_explicit::<ReplaceTemporaryPassword>();
    register_explicit::<ConfirmEmailChange>();
    register_explicit::<BeginImpersonation>();
    register_explicit::<EndImpersonation>();
    register_explicit::<RevokeUserSession>();
    register_explicit::<RequestEmailChange>();
    register_explicit::<ResendEmailChange>();
    register_explicit::<ImpersonateUser>();
    register_explicit::<GetTenant>();
    register_explicit::<CreateRole>();
    register_explicit::<UpdateTenantSettings>();
    register_explicit::<GetTenantSso>();
    register_explicit::<UpdateTenantSso>();
    register_explicit::<TestTenantSso>();
    register_explicit::<InviteUser>();
    register_explicit::<ResendInvite>();
    register_explicit::<GenerateAccessLink>();
    register_explicit::<RevokeInvite>();
    register_explicit::<GenerateTemporaryPassword>();
    register_explicit::<SendPasswordResetLink>();
    register_explicit::<ListOutbox>();
    register_explicit::<ReadOutboxMessage>();
    register_explicit::<RetryOutboxMessage>();
    register_explicit::<ListApiTokens>();
    register_explicit::<CreateApiToken>();
    register_explicit::<RevokeApiToken>();
    register_explicit::<ListUsers>();
    register_explicit::<GetUser>();
    register_explicit::<ListRoles>();
    register_explicit::<LockAccount>();
    register_explicit::<UnlockAccount>();
    register_explicit::<ResetCooldown>();
    register_explicit::<EnableAccess>();
    register_explicit::<DisableAccess>();
    register_explicit::<ChangeRole>();
    register_explicit::<ResetMfa>();
    register_explicit::<ListTenants>();
    register_explicit::<CreateTenant>();
    register_explicit::<SetTenantMfa>();
    register_explicit::<ListEvents>();
    register_explicit::<ListAudit>();
    register_explicit::<VerifyMfa>();
    register_explicit::<StartTotpEnrollment>();
    register_explicit::<ConfirmTotpEnrollment>();
    register_explicit::<GetMyMfa>();
    register_explicit::<RemoveMfaFactor>();
    register_explicit::<RegenerateRecoveryCodes>();
    register_explicit::<GetMfaOptions>();
    register_explicit::<SendSmsCode>();
    register_explicit::<ReportNotMyNumber>();
    register_explicit::<StartSmsEnrollment>();
    register_explicit::<ConfirmSmsEnrollment>();
}
