//! Forgot password → Verify code → Set new password, on the tenant (or admin) host.

use crate::AppError;
use crate::api::{CompletePasswordReset, RequestPasswordReset, VerifyResetCode, get_account_words};
use crate::components::ErrorNotice;
use crate::types::{HostInfo, PasswordStrength, RealmKind, SignInMode};
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

pub const PASSWORD_CHANGED: &str = "Your password was changed. Sign in with your new password.";

/// What the three pages hand each other. Kept in memory only: the ticket never touches storage.
#[derive(Clone, Copy)]
pub struct RecoveryState {
    pub identifier: RwSignal<String>,
    pub resend_after_secs: RwSignal<u64>,
    pub ticket: RwSignal<Option<String>>,
    /// What the sign-in page says first, e.g. that a new password was saved.
    pub notice: RwSignal<Option<&'static str>>,
    /// The token of an Accept invite link, read once from the address bar.
    pub invite: RwSignal<Option<String>>,
}

impl RecoveryState {
    pub fn new() -> Self {
        Self {
            identifier: RwSignal::new(String::new()),
            resend_after_secs: RwSignal::new(0),
            ticket: RwSignal::new(None),
            notice: RwSignal::new(None),
            invite: RwSignal::new(None),
        }
    }
}

impl Default for RecoveryState {
    fn default() -> Self {
        Self::new()
    }
}

fn sso_only(host: &HostInfo) -> bool {
    host.realm.kind == RealmKind::Tenant && host.realm.sign_in_mode == SignInMode::Sso
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let host = expect_context::<HostInfo>();
    let state = expect_context::<RecoveryState>();
    if sso_only(&host) {
        return view! {
            <main class="card auth-card" data-testid="forgot-password">
                <h1>"Forgot your password?"</h1>
                <p class="notice">"Password recovery is not available: this workspace signs in with SSO. Reset your password with your identity provider, or ask your administrator."</p>
                <p><a href="/sign-in">"Back to sign in"</a></p>
            </main>
        }
        .into_any();
    }
    let request = ServerAction::<RequestPasswordReset>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(answer)) = request.value().get() {
            state.resend_after_secs.set(answer.resend_after_secs);
            navigate("/verify-code", Default::default());
        }
    });
    let pending = request.pending();
    view! {
        <main class="card auth-card" data-testid="forgot-password">
            <h1>"Forgot your password?"</h1>
            <p>"Enter the email or username you sign in with. We will email you a 6-digit code."</p>
            {move || request.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
            <form class="form" on:submit=move |ev| {
                ev.prevent_default();
                request.dispatch(RequestPasswordReset { identifier: state.identifier.get_untracked() });
            }>
                <label>"Email or username"
                    <input type="text" name="identifier" autocomplete="username" required maxlength="254" autofocus
                        bind:value=state.identifier/>
                </label>
                <button type="submit" class="button" disabled=pending>"Email me a code"</button>
            </form>
            <p><a href="/sign-in">"Back to sign in"</a></p>
        </main>
    }
    .into_any()
}

/// Counts `seconds` down to zero, once a second, while the page is shown.
fn countdown(seconds: RwSignal<u64>) {
    let interval = gloo_timers::callback::Interval::new(1_000, move || {
        seconds.update(|s| *s = s.saturating_sub(1));
    });
    let interval = StoredValue::new_local(Some(interval));
    on_cleanup(move || {
        interval.update_value(|i| drop(i.take()));
    });
}

#[component]
pub fn VerifyCodePage() -> impl IntoView {
    let state = expect_context::<RecoveryState>();
    if state.identifier.get_untracked().is_empty() {
        return view! {
            <main class="card auth-card">
                <h1>"Enter your code"</h1>
                <p>"Start by telling us who you are."</p>
                <p><a class="button" href="/forgot-password">"Forgot password"</a></p>
            </main>
        }
        .into_any();
    }
    countdown(state.resend_after_secs);
    let code = RwSignal::new(String::new());
    let verify = ServerAction::<VerifyResetCode>::new();
    let resend = ServerAction::<RequestPasswordReset>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(ticket)) = verify.value().get() {
            state.ticket.set(Some(ticket.token));
            navigate("/set-password", Default::default());
        }
    });
    Effect::new(move |_| match resend.value().get() {
        Some(Ok(answer)) => state.resend_after_secs.set(answer.resend_after_secs),
        Some(Err(AppError::RateLimited { retry_after_secs, .. })) => state.resend_after_secs.set(retry_after_secs),
        _ => {}
    });
    let resent = move || matches!(resend.value().get(), Some(Ok(_)));
    let wait = state.resend_after_secs;
    // Named outside `view!`: a `>` inside an attribute closure there would end the tag.
    let resend_disabled = move || wait.get() != 0 || resend.pending().get();
    let on_resend = move |_| {
        resend.dispatch(RequestPasswordReset {
            identifier: state.identifier.get_untracked(),
        });
    };
    view! {
        <main class="card auth-card" data-testid="verify-code">
            <h1>"Check your email"</h1>
            <p>"If an account exists for " <strong>{state.identifier.get_untracked()}</strong>
               ", we sent a 6-digit code to its email address. It works for 10 minutes."</p>
            {move || resent().then(|| view! { <p class="notice" data-testid="resent">"We sent a new code. Use the one in the newest email."</p> })}
            {move || verify.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
            {move || resend.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
            <form class="form" on:submit=move |ev| {
                ev.prevent_default();
                verify.dispatch(VerifyResetCode { identifier: state.identifier.get_untracked(), code: code.get_untracked() });
            }>
                <label>"Code"
                    <input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="7"
                        class="code-input" autofocus bind:value=code/>
                </label>
                <button type="submit" class="button" disabled=verify.pending()>"Verify"</button>
            </form>
            <p class="resend">
                <button type="button" class="button-link" data-testid="resend" disabled=resend_disabled on:click=on_resend>
                    {move || match wait.get() {
                        0 => "Resend code".to_owned(),
                        s => format!("Resend code in {s} s"),
                    }}
                </button>
            </p>
            <p><a href="/forgot-password">"Use another email or username"</a></p>
        </main>
    }
    .into_any()
}

/// The password check in a web worker (`strength-worker`, built by Trunk from the same
/// `password_strength` the server runs). The worker says "ready" once it listens; a request made
/// before that waits, and only the newest one is kept.
struct StrengthWorker {
    worker: web_sys::Worker,
    ready: Rc<Cell<bool>>,
    waiting: Rc<RefCell<Option<String>>>,
    _on_message: Closure<dyn Fn(web_sys::MessageEvent)>,
}

impl StrengthWorker {
    fn start(answers: RwSignal<Option<PasswordStrength>>) -> Option<Self> {
        let worker = web_sys::Worker::new("/strength-worker_loader.js").ok()?;
        let ready = Rc::new(Cell::new(false));
        let waiting = Rc::new(RefCell::new(None::<String>));
        let (is_ready, queued, sender) = (ready.clone(), waiting.clone(), worker.clone());
        let on_message = Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let Some(data) = event.data().as_string() else {
                return;
            };
            if data == "ready" {
                is_ready.set(true);
                if let Some(request) = queued.borrow_mut().take() {
                    let _ = sender.post_message(&JsValue::from_str(&request));
                }
            } else if let Ok(strength) = serde_json::from_str::<PasswordStrength>(&data) {
                answers.set(Some(strength));
            }
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Some(Self {
            worker,
            ready,
            waiting,
            _on_message: on_message,
        })
    }

    fn judge(&self, password: &str, words: &[String]) {
        let Ok(request) = serde_json::to_string(&(password, words)) else {
            return;
        };
        if self.ready.get() {
            let _ = self.worker.post_message(&JsValue::from_str(&request));
        } else {
            *self.waiting.borrow_mut() = Some(request);
        }
    }
}

impl Drop for StrengthWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// The strength meter: the server's own check, run in the browser as the user types. `token`
/// names the account (a reset ticket or an invite link), or is empty for the signed-in user;
/// the account's own words make a password weak, so the meter asks the server for them once.
#[component]
pub fn StrengthMeter(password: RwSignal<String>, token: String) -> impl IntoView {
    let answer = RwSignal::new(None::<PasswordStrength>);
    let words = LocalResource::new(move || get_account_words(token.clone()));
    let worker = StoredValue::new_local(StrengthWorker::start(answer));
    Effect::new(move |_| {
        let candidate = password.get();
        let words = words.get().and_then(Result::ok).unwrap_or_default();
        if candidate.is_empty() {
            answer.set(None);
            return;
        }
        worker.with_value(|w| {
            if let Some(w) = w {
                w.judge(&candidate, &words);
            }
        });
    });
    on_cleanup(move || worker.update_value(|w| drop(w.take())));
    let strength = move || answer.get();
    view! {
        <div class="meter" data-testid="strength" aria-live="polite">
            <div class="meter-bar">
                <div class=move || format!("meter-fill meter-{}", strength().map_or(0, |s| s.score))
                     style:width=move || format!("{}%", strength().map_or(0, |s| (s.score as u32 + 1) * 20))></div>
            </div>
            <p class="meter-text">
                {move || match strength() {
                    Some(s) => view! { <strong>{s.label}</strong>{s.problem.map(|p| format!(" · {p}"))} }.into_any(),
                    None => view! { <span>"Type a password to see how strong it is."</span> }.into_any(),
                }}
            </p>
        </div>
    }
}

/// The new password twice with the strength meter between, for every page that sets one.
#[component]
pub fn NewPasswordFields(
    password: RwSignal<String>,
    confirm: RwSignal<String>,
    /// As for [`StrengthMeter`].
    token: String,
    label: &'static str,
    #[prop(optional)] autofocus: bool,
) -> impl IntoView {
    view! {
        <label>{label}
            <input type="password" name="password" autocomplete="new-password" required maxlength="128"
                autofocus=autofocus bind:value=password/>
        </label>
        <StrengthMeter password token/>
        <label>"Type it again"
            <input type="password" name="confirm" autocomplete="new-password" required maxlength="128"
                bind:value=confirm/>
        </label>
    }
}

/// An admin's reset link carries its ticket in the URL fragment (`#token=...`), which browsers
/// never send to servers or put in Referer headers. It is read once and removed from the
/// address bar and history.
pub(super) fn take_link_token(page: &str) -> Option<String> {
    let window = web_sys::window()?;
    let hash = window.location().hash().ok()?;
    let token = hash.strip_prefix("#token=")?.to_owned();
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(page));
    }
    (!token.is_empty()).then_some(token)
}

#[component]
pub fn SetPasswordPage() -> impl IntoView {
    let state = expect_context::<RecoveryState>();
    if let Some(token) = take_link_token("/set-password") {
        state.ticket.set(Some(token));
    }
    let Some(token) = state.ticket.get_untracked() else {
        return view! {
            <main class="card auth-card">
                <h1>"Set a new password"</h1>
                <p>"This page needs a code from a password reset first."</p>
                <p><a class="button" href="/forgot-password">"Forgot password"</a></p>
            </main>
        }
        .into_any();
    };
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let complete = ServerAction::<CompletePasswordReset>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = complete.value().get() {
            state.ticket.set(None);
            state.notice.set(Some(PASSWORD_CHANGED));
            navigate("/sign-in", Default::default());
        }
    });
    let meter_token = token.clone();
    view! {
        <main class="card auth-card" data-testid="set-password">
            <h1>"Set a new password"</h1>
            <p>"At least 12 characters. Several unusual words are easier to remember and harder to guess than symbols."</p>
            {move || complete.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
            <form class="form" on:submit=move |ev| {
                ev.prevent_default();
                complete.dispatch(CompletePasswordReset {
                    token: token.clone(),
                    password: password.get_untracked(),
                    confirm: confirm.get_untracked(),
                });
            }>
                <NewPasswordFields password confirm token=meter_token label="New password" autofocus=true/>
                <button type="submit" class="button" disabled=complete.pending()>"Set new password"</button>
            </form>
        </main>
    }
    .into_any()
}
