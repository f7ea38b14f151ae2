use crate::api::{ChangeMyPassword, RevokeMySession, get_my_account};
use crate::components::{ErrorNotice, Spinner};
use crate::types::{HostInfo, MyAccount};
use leptos::prelude::*;
use leptos_router::components::Redirect;

#[component]
pub fn AccountPage() -> impl IntoView {
    let host = expect_context::<HostInfo>();
    if host.viewer.is_none() {
        return view! { <Redirect path="/sign-in"/> }.into_any();
    }
    let revoke = ServerAction::<RevokeMySession>::new();
    let account = LocalResource::new(move || {
        revoke.version().get();
        get_my_account()
    });
    view! {
        <main class="card" data-testid="account">
            <h1>"My account"</h1>
            {move || revoke.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
            <Suspense fallback=|| view! { <Spinner/> }>
                {move || account.get().map(|result| match result {
                    Ok(account) => view! { <AccountDetails account revoke/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })}
            </Suspense>
        </main>
    }
    .into_any()
}

#[component]
fn AccountDetails(account: MyAccount, revoke: ServerAction<RevokeMySession>) -> impl IntoView {
    let profile = account.profile;
    let or_dash = |v: Option<String>| v.unwrap_or_else(|| "—".into());
    view! {
        <section>
            <h2>"Profile"</h2>
            <dl class="facts">
                <dt>"Name"</dt><dd data-testid="profile-name">{profile.display_name}</dd>
                <dt>"Email"</dt><dd data-testid="profile-email">{profile.email}</dd>
                <dt>"Username"</dt><dd>{or_dash(profile.username)}</dd>
                <dt>"Secondary email"</dt><dd>{or_dash(profile.secondary_email)}</dd>
                <dt>"Phone"</dt><dd>{or_dash(profile.phone)}</dd>
                <dt>"Password changed"</dt>
                <dd>{profile.password_changed_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| "never".into())}</dd>
            </dl>
        </section>
        <ChangePassword/>
        <super::mfa::MyMfaSection/>
        <section>
            <h2>"Workspaces"</h2>
            <table class="table">
                <thead><tr><th>"Workspace"</th><th>"Role"</th><th>"Status"</th><th>"Sign in at"</th></tr></thead>
                <tbody>
                    {profile.memberships.into_iter().map(|m| view! {
                        <tr>
                            <td>{m.tenant_name}</td>
                            <td>{m.role_name}</td>
                            <td>
                                <span class=format!("badge badge-{}", m.status.as_str())>{m.status.label()}</span>
                                {m.cooldown_until.map(|until| view! { <span class="muted">{format!(" until {}", until.format("%H:%M UTC"))}</span> })}
                            </td>
                            <td><a href=m.sign_in_url.clone()>{m.sign_in_url.clone()}</a></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
        <section>
            <h2>"Sessions"</h2>
            <table class="table" data-testid="sessions">
                <thead><tr><th>"Started"</th><th>"Last active"</th><th>"Browser"</th><th>"IP"</th><th></th></tr></thead>
                <tbody>
                    {account.sessions.into_iter().map(|s| view! {
                        <tr>
                            <td>{s.created_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                            <td>{s.last_seen_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                            <td class="truncate">{s.user_agent.unwrap_or_default()}</td>
                            <td>{s.ip.unwrap_or_default()}</td>
                            <td>{if s.current {
                                view! { <span class="badge badge-active">"This browser"</span> }.into_any()
                            } else {
                                view! {
                                    <ActionForm action=revoke>
                                        <input type="hidden" name="session_id" value=s.id.to_string()/>
                                        <button type="submit" class="button-link">"Sign out"</button>
                                    </ActionForm>
                                }.into_any()
                            }}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn ChangePassword() -> impl IntoView {
    let host = expect_context::<super::HostContext>();
    let recovery = expect_context::<super::recovery::RecoveryState>();
    let current = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let change = ServerAction::<ChangeMyPassword>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = change.value().get() {
            // Every session ended, this one too: back to sign-in, with a word on why.
            recovery.notice.set(Some(super::recovery::PASSWORD_CHANGED));
            host.reload();
        }
    });
    view! {
        <section data-testid="change-password">
            <h2>"Change password"</h2>
            {move || change.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
            <form class="form narrow" on:submit=move |ev| {
                ev.prevent_default();
                change.dispatch(ChangeMyPassword {
                    current: current.get_untracked(),
                    password: password.get_untracked(),
                    confirm: confirm.get_untracked(),
                });
            }>
                <label>"Current password"
                    <input type="password" name="current" autocomplete="current-password" required maxlength="128" bind:value=current/>
                </label>
                <super::recovery::NewPasswordFields password confirm token=String::new() label="New password"/>
                <p class="hint">"Changing your password signs you out everywhere, this browser included."</p>
                <button type="submit" class="button" disabled=change.pending()>"Change password"</button>
            </form>
        </section>
    }
}
