//! Server functions for multi-factor authentication: the second step of signing in, setting up
//! an authenticator, and managing one's own factors.

use crate::AppError;
use crate::types::{MfaOptions, MyMfa, RecoveryCodes, SmsSent, TotpEnrollment};
use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
async fn before_mfa() -> Result<(super::ssr::FnContext, crate::server::Actor), AppError> {
    let ctx = super::ssr::context()?;
    let actor = crate::server::services::auth::require_session_before_mfa(
        &ctx.state,
        &ctx.realm,
        &ctx.meta,
        ctx.session_token(),
    )
    .await?;
    Ok((ctx, actor))
}

#[cfg(feature = "ssr")]
async fn signed_in() -> Result<(super::ssr::FnContext, crate::server::Actor), AppError> {
    let ctx = super::ssr::context()?;
    let actor =
        crate::server::services::auth::require_session(&ctx.state, &ctx.realm, &ctx.meta, ctx.session_token()).await?;
    Ok((ctx, actor))
}

/// The code from the authenticator app, or a recovery code, after the password.
#[server]
pub async fn verify_mfa(code: String) -> Result<(), AppError> {
    let (ctx, actor) = before_mfa().await?;
    let renewed = crate::server::services::mfa::verify(&ctx.state, &actor, &ctx.meta, &code).await?;
    renewed.iter().for_each(|cookie| super::ssr::set_cookie(cookie));
    Ok(())
}

/// "Set up authenticator app"; `password` is asked again (see `mfa::may_add_factor`).
#[server]
pub async fn start_totp_enrollment(password: String) -> Result<TotpEnrollment, AppError> {
    let (ctx, actor) = before_mfa().await?;
    crate::server::services::mfa::start_totp(&ctx.state, &actor, &ctx.meta, password).await
}

#[server]
pub async fn confirm_totp_enrollment(factor_id: Uuid, code: String) -> Result<RecoveryCodes, AppError> {
    let (ctx, actor) = before_mfa().await?;
    let (codes, renewed) =
        crate::server::services::mfa::confirm_totp(&ctx.state, &ctx.realm, &actor, &ctx.meta, factor_id, &code).await?;
    renewed.iter().for_each(|cookie| super::ssr::set_cookie(cookie));
    Ok(codes)
}

#[server]
pub async fn get_my_mfa() -> Result<MyMfa, AppError> {
    let (ctx, actor) = signed_in().await?;
    crate::server::services::mfa::my_mfa(&ctx.state, &actor).await
}

#[server]
pub async fn remove_mfa_factor(factor_id: Uuid, password: String) -> Result<(), AppError> {
    let (ctx, actor) = signed_in().await?;
    crate::server::services::mfa::remove_factor(&ctx.state, &ctx.realm, &actor, &ctx.meta, factor_id, password).await
}

#[server]
pub async fn regenerate_recovery_codes(password: String) -> Result<RecoveryCodes, AppError> {
    let (ctx, actor) = signed_in().await?;
    crate::server::services::mfa::regenerate_recovery_codes(&ctx.state, &ctx.realm, &actor, &ctx.meta, password).await
}

/// Which factors the MFA step offers (an authenticator, a text message to a masked number).
#[server]
pub async fn get_mfa_options() -> Result<MfaOptions, AppError> {
    let (ctx, actor) = before_mfa().await?;
    crate::server::services::sms_factor::options(&ctx.state, &actor).await
}

/// "Text me a code" on the MFA step.
#[server]
pub async fn send_sms_code() -> Result<SmsSent, AppError> {
    let (ctx, actor) = before_mfa().await?;
    crate::server::services::sms_factor::send_sign_in_code(&ctx.state, &ctx.realm, &actor, &ctx.meta).await
}

/// "It's not my phone number": returns the support reference to quote.
#[server]
pub async fn report_not_my_number() -> Result<String, AppError> {
    let (ctx, actor) = before_mfa().await?;
    crate::server::services::sms_factor::not_my_number(&ctx.state, &ctx.realm, &actor, &ctx.meta).await
}

/// "Add phone": sends a code to the new number; `password` as for an authenticator.
#[server]
pub async fn start_sms_enrollment(phone: String, password: String) -> Result<SmsSent, AppError> {
    let (ctx, actor) = before_mfa().await?;
    crate::server::services::sms_factor::start(&ctx.state, &ctx.realm, &actor, &ctx.meta, (&phone, password)).await
}

#[server]
pub async fn confirm_sms_enrollment(factor_id: Uuid, code: String) -> Result<RecoveryCodes, AppError> {
    let (ctx, actor) = before_mfa().await?;
    let (codes, renewed) =
        crate::server::services::sms_factor::confirm(&ctx.state, &ctx.realm, &actor, &ctx.meta, factor_id, &code)
            .await?;
    renewed.iter().for_each(|cookie| super::ssr::set_cookie(cookie));
    Ok(codes)
}
