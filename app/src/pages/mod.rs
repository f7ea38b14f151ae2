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
use leptos_router::{Lazy, LazyRoute, path};

/// Screens split out of the main WASM: each is fetched the first time it is shown (see
/// `scripts/wasm-bindgen`), so the first load carries the shell and the screen it opens on, not
/// all twenty. Code that several screens share goes into chunks loaded with any of them.
macro_rules! lazy_screens {
    ($($group:ident { $($view:ident => $page:path;)* })*) => {$($(
        #[leptos::lazy($group)]
        fn $view() -> AnyView {
            view! { <$page/> }.into_any()
        }
    )*)*};
}

/// Routes that show a lazy screen.
macro_rules! lazy_routes {
    ($($route:ident => $view:ident;)*) => {$(
        struct $route;

        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            async fn view(_this: Self) -> AnyView {
                $view().await
            }
        }
    )*};
}

lazy_screens! {
    users {
        users_view => users::UsersPage;
    }
    person {
        edit_user_view => edit_user::EditUserPage;
    }
    workspaces {
        roles_view => tenants::RolesPage;
        tenants_view => tenants::TenantsPage;
        tenant_settings_view => tenants::TenantSettingsPage;
    }
    settings {
        outbox_view => outbox::OutboxPage;
        api_tokens_view => api_tokens::ApiTokensPage;
    }
    logs {
        events_view => logs::EventsPage;
        audit_view => logs::AuditPage;
    }
    account {
        home_view => home::HomePage;
        account_view => account::AccountPage;
        mfa_verify_view => mfa::MfaVerifyPage;
        mfa_enroll_view => mfa::MfaEnrollPage;
        replace_password_view => invites::ReplaceTemporaryPasswordPage;
    }
    entry {
        sign_in_view => sign_in::SignInPage;
        forgot_password_view => recovery::ForgotPasswordPage;
        verify_code_view => recovery::VerifyCodePage;
        set_password_view => recovery::SetPasswordPage;
        accept_invite_view => invites::AcceptInvitePage;
        confirm_email_view => handover::ConfirmEmailPage;
        impersonate_view => handover::ImpersonatePage;
    }
}

lazy_routes! {
    HomeRoute => home_view;
    SignInRoute => sign_in_view;
    AccountRoute => account_view;
    ForgotPasswordRoute => forgot_password_view;
    VerifyCodeRoute => verify_code_view;
    SetPasswordRoute => set_password_view;
    AcceptInviteRoute => accept_invite_view;
    OutboxRoute => outbox_view;
    ApiTokensRoute => api_tokens_view;
    UsersRoute => users_view;
    EditUserRoute => edit_user_view;
    RolesRoute => roles_view;
    TenantsRoute => tenants_view;
    TenantSettingsRoute => tenant_settings_view;
    ConfirmEmailRoute => confirm_email_view;
    ImpersonateRoute => impersonate_view;
    EventsRoute => events_view;
    AuditRoute => audit_view;
}

/// A step the browser must finish before any page: its screen, once fetched.
fn gate(screen: impl std::future::Future<Output = AnyView> + Send + 'static) -> AnyView {
    view! { <Suspense fallback=|| view! { <Spinner/> }>{Suspend::new(screen)}</Suspense> }.into_any()
}

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
            Some(MfaStep::Verify) => Some(gate(mfa_verify_view())),
            Some(MfaStep::Enroll) => Some(gate(mfa_enroll_view())),
            None => must_change_password.then(|| gate(replace_password_view())),
        }}
        <Show when=move || !gated>
        <Routes fallback=|| view! { <main class="card"><h1>"Page not found"</h1><p><a href="/">"Back to the start"</a></p></main> }>
            <Route path=path!("/") view={Lazy::<HomeRoute>::new()}/>
            <Route path=path!("/sign-in") view={Lazy::<SignInRoute>::new()}/>
            <Route path=path!("/account") view={Lazy::<AccountRoute>::new()}/>
            <Route path=path!("/forgot-password") view={Lazy::<ForgotPasswordRoute>::new()}/>
            <Route path=path!("/verify-code") view={Lazy::<VerifyCodeRoute>::new()}/>
            <Route path=path!("/set-password") view={Lazy::<SetPasswordRoute>::new()}/>
            <Route path=path!("/accept-invite") view={Lazy::<AcceptInviteRoute>::new()}/>
            <Route path=path!("/settings/outbox") view={Lazy::<OutboxRoute>::new()}/>
            <Route path=path!("/settings/api-tokens") view={Lazy::<ApiTokensRoute>::new()}/>
            <Route path=path!("/users") view={Lazy::<UsersRoute>::new()}/>
            <Route path=path!("/users/:id") view={Lazy::<EditUserRoute>::new()}/>
            <Route path=path!("/roles") view={Lazy::<RolesRoute>::new()}/>
            <Route path=path!("/tenants") view={Lazy::<TenantsRoute>::new()}/>
            <Route path=path!("/tenants/:id") view={Lazy::<TenantSettingsRoute>::new()}/>
            <Route path=path!("/confirm-email") view={Lazy::<ConfirmEmailRoute>::new()}/>
            <Route path=path!("/impersonate") view={Lazy::<ImpersonateRoute>::new()}/>
            <Route path=path!("/security/mfa-error-logs") view={Lazy::<EventsRoute>::new()}/>
            <Route path=path!("/security/audit") view={Lazy::<AuditRoute>::new()}/>
        </Routes>
        </Show>
    }
}
