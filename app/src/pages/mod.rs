//! The single-page app. The server has already checked the Host; the app asks it which
//! workspace this is and who is signed in, and shows the matching screens.

mod account;
mod api_tokens;
mod edit_user;
mod handover;
mod home;
mod invites;
mod logs;
mod mfa;
mod outbox;
mod recovery;
mod search;
mod sign_in;
mod sso_settings;
mod tenants;
mod user_actions;
mod users;

use crate::api::get_host_info;
use crate::components::{ErrorNotice, Spinner};
use crate::types::{HostInfo, MfaStep, RealmKind};
use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

/// The host facts every page reads; `reload` asks the server again (after sign-in or sign-out).
#[derive(Clone, Copy)]
pub struct HostContext {
    pub info: LocalResource<Result<HostInfo, crate::AppError>>,
}

impl HostContext {
    pub fn reload(&self) {
        self.info.refetch();
    }
}

#[component]
pub fn App() -> impl IntoView {
    let info = LocalResource::new(get_host_info);
    provide_context(HostContext { info });
    // Outside the shell, which is rebuilt whenever the host info is reloaded.
    provide_context(recovery::RecoveryState::new());
    view! {
        <Router>
            <Suspense fallback=|| view! { <Spinner/> }>
                {move || info.get().map(|result| match result {
                    Ok(host) => view! { <Shell host/> }.into_any(),
                    Err(error) => view! { <main class="card"><ErrorNotice error/></main> }.into_any(),
                })}
            </Suspense>
        </Router>
    }
}

#[component]
fn Shell(host: HostInfo) -> impl IntoView {
    let title = match host.realm.kind {
        RealmKind::Operator => format!("{} · Admin console", host.realm.name),
        RealmKind::Tenant => host.realm.name.clone(),
    };
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(&format!("{title} · Latchkey"));
    }
    provide_context(host.clone());
    // A browser that has a step left (MFA, then a temporary password to replace) sees only
    // the page for that step.
    let mfa_step = host.viewer.as_ref().and_then(|v| v.mfa_step);
    let must_change_password = mfa_step.is_none() && host.viewer.as_ref().is_some_and(|v| v.must_change_password);
    let gated = mfa_step.is_some() || must_change_password;
    let console_nav = host.realm.kind == RealmKind::Operator && host.viewer.is_some() && !gated;
    // Tenant administrators manage their workspace's users on their own host.
    let tenant_admin_nav =
        host.realm.kind == RealmKind::Tenant && !gated && host.viewer.as_ref().is_some_and(|v| v.role_name != "Member");
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                <svg class="brand-mark" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true">
                    <circle cx="8" cy="12" r="4.5" fill="none" stroke="currentColor" stroke-width="2.2"/>
                    <path d="M12.5 12H21M18 12v3.5M21 12v2.5" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round"/>
                </svg>
                <span class="brand-name">{title}</span>
            </a>
            {host.viewer.clone().map(|viewer| view! { <home::UserMenu viewer/> })}
        </header>
        {host.viewer.clone().and_then(|v| v.impersonation.map(|impersonation| view! {
            <handover::ImpersonationBanner impersonation who=v.email.clone()/>
        }))}
        {console_nav.then(|| view! {
            <nav class="console-nav" aria-label="Admin console">
                <a href="/">"Overview"</a>
                <a href="/tenants">"Tenants"</a>
                <a href="/users">"Settings › Users and Roles"</a>
                <a href="/security/mfa-error-logs">"Security › MFA error logs"</a>
                <a href="/security/audit">"Security › Audit trail"</a>
                <a href="/settings/api-tokens">"Settings › API tokens"</a>
                <a href="/settings/outbox">"Settings › Outbox"</a>
                <a href="/account">"My account"</a>
                <search::ConsoleSearch/>
            </nav>
        })}
        {tenant_admin_nav.then(|| view! {
            <nav class="console-nav" aria-label="Workspace administration">
                <a href="/">"Home"</a>
                <a href="/users">"Users"</a>
            </nav>
        })}
        {match mfa_step {
            Some(MfaStep::Verify) => Some(view! { <mfa::MfaVerifyPage/> }.into_any()),
            Some(MfaStep::Enroll) => Some(view! { <mfa::MfaEnrollPage/> }.into_any()),
            None => must_change_password.then(|| view! { <invites::ReplaceTemporaryPasswordPage/> }.into_any()),
        }}
        <Show when=move || !gated>
        <Routes fallback=|| view! { <main class="card"><h1>"Page not found"</h1><p><a href="/">"Back to the start"</a></p></main> }>
            <Route path=path!("/") view=home::HomePage/>
            <Route path=path!("/sign-in") view=sign_in::SignInPage/>
            <Route path=path!("/account") view=account::AccountPage/>
            <Route path=path!("/forgot-password") view=recovery::ForgotPasswordPage/>
            <Route path=path!("/verify-code") view=recovery::VerifyCodePage/>
            <Route path=path!("/set-password") view=recovery::SetPasswordPage/>
            <Route path=path!("/accept-invite") view=invites::AcceptInvitePage/>
            <Route path=path!("/settings/outbox") view=outbox::OutboxPage/>
            <Route path=path!("/settings/api-tokens") view=api_tokens::ApiTokensPage/>
            <Route path=path!("/users") view=users::UsersPage/>
            <Route path=path!("/users/:id") view=edit_user::EditUserPage/>
            <Route path=path!("/roles") view=tenants::RolesPage/>
            <Route path=path!("/tenants") view=tenants::TenantsPage/>
            <Route path=path!("/tenants/:id") view=tenants::TenantSettingsPage/>
            <Route path=path!("/confirm-email") view=handover::ConfirmEmailPage/>
            <Route path=path!("/impersonate") view=handover::ImpersonatePage/>
            <Route path=path!("/security/mfa-error-logs") view=logs::EventsPage/>
            <Route path=path!("/security/audit") view=logs::AuditPage/>
        </Routes>
        </Show>
    }
}
