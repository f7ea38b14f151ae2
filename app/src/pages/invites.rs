//! Accept invite (from an emailed invite or a copied access link), and the forced change after
//! signing in with a temporary password.

use super::HostContext;
use super::recovery::{NewPasswordFields, PASSWORD_CHANGED, RecoveryState, take_link_token};
use crate::api::{AcceptInvite, ReplaceTemporaryPassword, get_invite};
use crate::components::{ErrorNotice, Spinner};
use crate::types::InviteInfo;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

pub const ACCOUNT_READY: &str = "Your account is ready. Sign in with your new password.";
const ACCESS_ADDED: &str = "The workspace was added to your account. Sign in with your password.";

#[component]
pub fn AcceptInvitePage() -> impl IntoView {
    let state = expect_context::<RecoveryState>();
    if let Some(token) = take_link_token("/accept-invite") {
        state.invite.set(Some(token));
    }
    let Some(token) = state.invite.get_untracked() else {
        return view! {
            <main class="card auth-card" data-testid="accept-invite">
                <h1>"Accept your invite"</h1>
                <p>"Open the link from your invite email. If it does not work, ask your administrator to resend the invite."</p>
                <p><a href="/sign-in">"Go to sign in"</a></p>
            </main>
        }
        .into_any();
    };
    let lookup = token.clone();
    let invite = LocalResource::new(move || get_invite(lookup.clone()));
    view! {
        <main class="card auth-card" data-testid="accept-invite">
            <Suspense fallback=|| view! { <Spinner/> }>
                {move || invite.get().map(|result| match result {
                    Ok(info) => view! { <AcceptInviteForm info token=token.clone()/> }.into_any(),
                    Err(error) => view! {
                        <h1>"Accept your invite"</h1>
                        <ErrorNotice error/>
                        <p><a href="/sign-in">"Go to sign in"</a></p>
                    }.into_any(),
                })}
            </Suspense>
        </main>
    }
    .into_any()
}

#[component]
fn AcceptInviteForm(info: InviteInfo, token: String) -> impl IntoView {
    let state = expect_context::<RecoveryState>();
    let heading = format!("Join {}", info.tenant_name);
    let expires = info.expires_at.format("%Y-%m-%d %H:%M UTC").to_string();
    if info.sso {
        return view! {
            <h1>{heading}</h1>
            <p class="notice">{format!("{} signs in with single sign-on: there is no password to choose. Sign in with your organisation's account.", info.tenant_name)}</p>
            <p><a class="button" href="/sign-in">"Go to sign in"</a></p>
        }
        .into_any();
    }
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let accept = ServerAction::<AcceptInvite>::new();
    let navigate = use_navigate();
    let has_password = info.has_password;
    let needs_code = info.needs_code;
    Effect::new(move |_| {
        if let Some(Ok(())) = accept.value().get() {
            state.invite.set(None);
            state
                .notice
                .set(Some(if has_password { ACCESS_ADDED } else { ACCOUNT_READY }));
            navigate("/sign-in", Default::default());
        }
    });
    let submit_token = token.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let password = password.get_untracked();
        accept.dispatch(AcceptInvite {
            token: submit_token.clone(),
            confirm: if has_password {
                password.clone()
            } else {
                confirm.get_untracked()
            },
            password,
            code: needs_code.then(|| code.get_untracked()),
        });
    };
    let fields = if has_password {
        view! {
            <p>"You already have an account for " <strong>{info.email.clone()}</strong> ". Prove it is yours to accept: enter its password"
                {if needs_code { " and a code from your authenticator app (or a recovery code)" } else { "" }} "."</p>
            <label>"Your password"
                <input type="password" name="password" autocomplete="current-password" required maxlength="128" autofocus
                    bind:value=password/>
            </label>
            {needs_code.then(|| view! {
                <label>"Code"
                    <input type="text" name="code" autocomplete="one-time-code" inputmode="text" required maxlength="20"
                        data-testid="invite-code" bind:value=code/>
                </label>
            })}
            <p class="hint">"Lost the password? Use \"Forgot password?\" on " <a href="/sign-in">"the sign-in page"</a> ", then come back to this link."</p>
        }
        .into_any()
    } else {
        view! {
            <label>"Email"
                <input type="email" name="email" autocomplete="username" readonly value=info.email.clone()/>
            </label>
            <NewPasswordFields password confirm token=token label="Choose a password" autofocus=true/>
        }
        .into_any()
    };
    view! {
        <h1>{heading}</h1>
        <p>"Welcome, " {info.display_name.clone()} ". This invite works until " {expires} "."</p>
        {move || accept.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
        <form class="form" on:submit=on_submit>
            {fields}
            <button type="submit" class="button" disabled=accept.pending()>
                {if has_password { "Accept invite" } else { "Accept invite and set password" }}
            </button>
        </form>
    }
    .into_any()
}

/// Shown instead of every page while the signed-in user holds a temporary password.
#[component]
pub fn ReplaceTemporaryPasswordPage() -> impl IntoView {
    let host = expect_context::<HostContext>();
    let recovery = expect_context::<RecoveryState>();
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let replace = ServerAction::<ReplaceTemporaryPassword>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = replace.value().get() {
            recovery.notice.set(Some(PASSWORD_CHANGED));
            host.reload();
        }
    });
    view! {
        <main class="card auth-card" data-testid="replace-temporary-password">
            <h1>"Choose your own password"</h1>
            <p>"You signed in with a temporary password from your administrator. Choose a password of your own to continue."</p>
            {move || replace.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
            <form class="form" on:submit=move |ev| {
                ev.prevent_default();
                replace.dispatch(ReplaceTemporaryPassword {
                    password: password.get_untracked(),
                    confirm: confirm.get_untracked(),
                });
            }>
                <NewPasswordFields password confirm token=String::new() label="New password" autofocus=true/>
                <p class="hint">"You will sign in again with the new password."</p>
                <button type="submit" class="button" disabled=replace.pending()>"Save password"</button>
            </form>
        </main>
    }
}
