//! Multi-factor authentication screens: the code after the password, "Set up MFA" with a QR
//! code and the secret as text, recovery codes shown once, and My account's factor list.

use super::HostContext;
use crate::api::{
    ConfirmSmsEnrollment, ConfirmTotpEnrollment, RegenerateRecoveryCodes, RemoveMfaFactor, ReportNotMyNumber,
    SendSmsCode, StartSmsEnrollment, StartTotpEnrollment, VerifyMfa, get_mfa_options, get_my_mfa,
};
use crate::components::{ErrorNotice, Spinner};
use crate::types::{MyMfa, RecoveryCodes, TotpEnrollment};
use leptos::prelude::*;

/// After the password, on a session that has not passed MFA.
#[component]
pub fn MfaVerifyPage() -> impl IntoView {
    let host = expect_context::<HostContext>();
    let code = RwSignal::new(String::new());
    let verify = ServerAction::<VerifyMfa>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = verify.value().get() {
            host.reload();
        }
    });
    view! {
        <main class="card auth-card" data-testid="mfa-verify">
            <h1>"Two-step verification"</h1>
            <p>"Enter the 6-digit code from your authenticator app or from a text message."</p>
            {move || verify.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
            <form class="form" on:submit=move |ev| {
                ev.prevent_default();
                verify.dispatch(VerifyMfa { code: code.get_untracked() });
            }>
                <label>"Code"
                    <input type="text" name="code" inputmode="text" autocomplete="one-time-code" required maxlength="20"
                        class="code-input" autofocus bind:value=code/>
                </label>
                <button type="submit" class="button" disabled=verify.pending()>"Verify"</button>
            </form>
            <SmsOption/>
            <p class="hint">"Lost your phone? Enter one of your recovery codes (like ABCD-EFGH) instead. No codes left? Ask your administrator to reset your MFA."</p>
        </main>
    }
}

/// "Text me a code" and "It's not my phone number", for users with an SMS factor.
#[component]
fn SmsOption() -> impl IntoView {
    let options = LocalResource::new(get_mfa_options);
    let send = ServerAction::<SendSmsCode>::new();
    let report = ServerAction::<ReportNotMyNumber>::new();
    let phone = move || options.get().and_then(Result::ok).and_then(|o| o.sms_phone);
    view! {
        {move || phone().map(|phone| view! {
            <div class="sms-option" data-testid="sms-option">
                {move || send.value().get().map(|result| match result {
                    Ok(sent) => view! { <p class="notice" role="status">{format!("We sent a code to {}. It works for 10 minutes.", sent.masked_phone)}</p> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })}
                {move || report.value().get().map(|result| match result {
                    Ok(reference) => view! {
                        <p class="notice" role="status" data-testid="not-my-number">
                            "Thank you. Your administrator can see this report: contact them to correct the number or reset your MFA, quoting "
                            <code>{format!("Ref {reference}")}</code>". Until then, use your authenticator app or a recovery code."
                        </p>
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })}
                <p class="actions">
                    <button type="button" class="button-secondary" disabled=send.pending()
                        on:click=move |_| { send.dispatch(SendSmsCode {}); }>{format!("Text me a code at {phone}")}</button>
                    <button type="button" class="button-link" on:click=move |_| { report.dispatch(ReportNotMyNumber {}); }>
                        "It's not my phone number"</button>
                </p>
            </div>
        })}
    }
}

/// "Add phone": number → code by text message → recovery codes (for a first factor).
#[component]
pub fn SetUpSms(on_done: Callback<()>, password: RwSignal<String>) -> impl IntoView {
    let start = ServerAction::<StartSmsEnrollment>::new();
    let confirm = ServerAction::<ConfirmSmsEnrollment>::new();
    let phone = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    view! {
        <div class="setup" data-testid="setup-sms">
            {move || match (start.value().get(), confirm.value().get()) {
                (_, Some(Ok(codes))) => view! { <RecoveryCodesPanel codes on_done/> }.into_any(),
                (Some(Ok(sent)), _) => {
                    let factor_id = sent.factor_id;
                    view! {
                        <p>{format!("We sent a code to {}.", sent.masked_phone)}</p>
                        {move || confirm.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
                        <form class="form narrow" on:submit=move |ev| {
                            ev.prevent_default();
                            confirm.dispatch(ConfirmSmsEnrollment { factor_id, code: code.get_untracked() });
                        }>
                            <label>"Code from the text message"
                                <input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="7" bind:value=code/>
                            </label>
                            <button type="submit" class="button" disabled=confirm.pending()>"Confirm"</button>
                        </form>
                    }.into_any()
                }
                (result, _) => view! {
                    {result.and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
                    <form class="form narrow" on:submit=move |ev| {
                        ev.prevent_default();
                        start.dispatch(StartSmsEnrollment { phone: phone.get_untracked(), password: password.get_untracked() });
                    }>
                        <label>"Mobile number, with country code"
                            <input type="tel" name="phone" autocomplete="tel" required maxlength="32" placeholder="+1 415 555 0100" bind:value=phone/>
                        </label>
                        <button type="submit" class="button" disabled=start.pending()>"Text me a code"</button>
                    </form>
                }.into_any(),
            }}
        </div>
    }
}

/// On a workspace that enforces MFA, for a user without a factor: nothing else until one is set up.
#[component]
pub fn MfaEnrollPage() -> impl IntoView {
    let host = expect_context::<HostContext>();
    let info = expect_context::<crate::types::HostInfo>();
    let password = RwSignal::new(String::new());
    view! {
        <main class="card auth-card wide-auth" data-testid="mfa-enroll">
            <h1>"Set up multi-factor authentication"</h1>
            <p>{format!("{} requires a second step at sign-in. Set up an authenticator app (such as Google Authenticator, Microsoft Authenticator or 1Password) to continue.", info.realm.name)}</p>
            <PasswordAgain password/>
            <SetUpAuthenticator password on_done=Callback::new(move |_| host.reload())/>
        </main>
    }
}

/// The account's password again, asked before any change to its sign-in methods (an account
/// that signs in with SSO has none: a recent SSO sign-in stands for it).
#[component]
fn PasswordAgain(password: RwSignal<String>) -> impl IntoView {
    let has_password = expect_context::<crate::types::HostInfo>()
        .viewer
        .is_some_and(|v| v.has_password);
    has_password.then(|| view! {
        <div class="form narrow">
            <label>"Your password (asked again to add or remove a sign-in method, or make new recovery codes)"
                <input type="password" name="mfa-password" autocomplete="current-password" maxlength="128" bind:value=password/>
            </label>
        </div>
    })
}

/// Start → scan the QR code (or type the secret) → confirm with the first code → recovery codes.
#[component]
pub fn SetUpAuthenticator(
    on_done: Callback<()>,
    /// The account's password, asked again (see [`PasswordAgain`]).
    password: RwSignal<String>,
) -> impl IntoView {
    let start = ServerAction::<StartTotpEnrollment>::new();
    let confirm = ServerAction::<ConfirmTotpEnrollment>::new();
    let code = RwSignal::new(String::new());
    let enrollment = move || start.value().get().and_then(Result::ok);
    view! {
        <div class="setup" data-testid="setup-authenticator">
            {move || start.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
            {move || match (enrollment(), confirm.value().get()) {
                (_, Some(Ok(codes))) => view! { <RecoveryCodesPanel codes on_done/> }.into_any(),
                (Some(enrollment), _) => view! { <ScanAndConfirm enrollment code confirm/> }.into_any(),
                (None, _) => view! {
                    <button type="button" class="button" disabled=start.pending()
                        on:click=move |_| { start.dispatch(StartTotpEnrollment { password: password.get_untracked() }); }>"Set up authenticator app"</button>
                }.into_any(),
            }}
        </div>
    }
}

#[component]
fn ScanAndConfirm(
    enrollment: TotpEnrollment,
    code: RwSignal<String>,
    confirm: ServerAction<ConfirmTotpEnrollment>,
) -> impl IntoView {
    let factor_id = enrollment.factor_id;
    view! {
        <ol class="steps">
            <li>
                <p>"Scan this QR code with your authenticator app."</p>
                <img class="qr" data-testid="totp-qr" alt="QR code for your authenticator app" width="200" height="200"
                    src=format!("data:image/png;base64,{}", enrollment.qr_png_base64)/>
                <p class="hint">"It appears in the app as " <strong>{enrollment.issuer.clone()}</strong> " · " {enrollment.account.clone()} "."</p>
                <p class="hint">"Can't scan it? Type this key instead:"</p>
                <p><code class="secret" data-testid="totp-secret">{enrollment.secret.clone()}</code></p>
            </li>
            <li>
                <p>"Enter the 6-digit code the app shows."</p>
                {move || confirm.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
                <form class="form" on:submit=move |ev| {
                    ev.prevent_default();
                    confirm.dispatch(ConfirmTotpEnrollment { factor_id, code: code.get_untracked() });
                }>
                    <label>"Code from the app"
                        <input type="text" name="code" inputmode="numeric" autocomplete="one-time-code" required maxlength="7"
                            class="code-input" bind:value=code/>
                    </label>
                    <button type="submit" class="button" disabled=confirm.pending()>"Confirm"</button>
                </form>
            </li>
        </ol>
    }
}

/// New recovery codes, shown once, with copy and download.
#[component]
pub fn RecoveryCodesPanel(codes: RecoveryCodes, on_done: Callback<()>) -> impl IntoView {
    let text = codes.codes.join("\n");
    let download = format!(
        "data:text/plain;charset=utf-8,{}",
        String::from(js_sys::encode_uri_component(&format!(
            "Latchkey recovery codes (each works once)\n\n{text}\n"
        )))
    );
    let copied = RwSignal::new(false);
    let copy_text = text.clone();
    let copy = move |_| {
        if let Some(window) = web_sys::window() {
            let _ = window.navigator().clipboard().write_text(&copy_text);
            copied.set(true);
        }
    };
    if codes.codes.is_empty() {
        return view! {
            <p class="notice" data-testid="mfa-added">"Your authenticator app is set up. Your recovery codes stay as they were."</p>
            <button type="button" class="button" on:click=move |_| on_done.run(())>"Continue"</button>
        }
        .into_any();
    }
    view! {
        <section class="recovery-codes" data-testid="recovery-codes">
            <h2>"Save your recovery codes"</h2>
            <p>"If you lose your phone, each of these codes signs you in once. Keep them somewhere safe: they are shown only now."</p>
            <ul class="codes">{codes.codes.into_iter().map(|c| view! { <li><code>{c}</code></li> }).collect_view()}</ul>
            <div class="actions">
                <button type="button" class="button-secondary" on:click=copy>
                    {move || if copied.get() { "Copied" } else { "Copy" }}
                </button>
                <a class="button-secondary" href=download download="latchkey-recovery-codes.txt">"Download"</a>
                <button type="button" class="button" on:click=move |_| on_done.run(())>"I saved my codes"</button>
            </div>
        </section>
    }
    .into_any()
}

/// My account > Multi-factor authentication.
#[component]
pub fn MyMfaSection() -> impl IntoView {
    let remove = ServerAction::<RemoveMfaFactor>::new();
    let regenerate = ServerAction::<RegenerateRecoveryCodes>::new();
    let refresh = RwSignal::new(0u32);
    let mfa = LocalResource::new(move || {
        refresh.get();
        remove.version().get();
        get_my_mfa()
    });
    view! {
        <section data-testid="my-mfa">
            <h2>"Multi-factor authentication"</h2>
            {move || remove.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error/> })}
            {move || remove.value().get().and_then(Result::ok).map(|_| view! { <p class="notice" role="status">"The factor was removed."</p> })}
            <Suspense fallback=|| view! { <Spinner/> }>
                {move || mfa.get().map(|result| match result {
                    Ok(mfa) => view! { <FactorList mfa remove regenerate refresh/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Adding {
    Authenticator,
    Phone,
}

#[component]
fn FactorList(
    mfa: MyMfa,
    remove: ServerAction<RemoveMfaFactor>,
    regenerate: ServerAction<RegenerateRecoveryCodes>,
    refresh: RwSignal<u32>,
) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let adding = RwSignal::new(None::<Adding>);
    let has_factor = !mfa.factors.is_empty();
    let enforced_note = mfa
        .enforced
        .then(|| view! { <p class="hint">"This workspace requires multi-factor authentication."</p> });
    view! {
        {enforced_note}
        <PasswordAgain password/>
        {if has_factor {
            view! {
                <table class="table" data-testid="factors">
                    <thead><tr><th>"Method"</th><th>"Added"</th><th></th></tr></thead>
                    <tbody>
                        {mfa.factors.into_iter().map(|f| {
                            let id = f.id;
                            view! {
                                <tr>
                                    <td>{f.label}</td>
                                    <td>{f.created_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                                    <td><button type="button" class="button-link" on:click=move |_| {
                                        remove.dispatch(RemoveMfaFactor { factor_id: id, password: password.get_untracked() });
                                    }>"Remove"</button></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <p data-testid="codes-left">{format!("Recovery codes left: {} of 10.", mfa.recovery_codes_left)}</p>
                <div class="form narrow">
                    <button type="button" class="button-secondary" disabled=regenerate.pending()
                        on:click=move |_| { regenerate.dispatch(RegenerateRecoveryCodes { password: password.get_untracked() }); }>
                        "Make new recovery codes"
                    </button>
                </div>
                {move || regenerate.value().get().map(|result| match result {
                    Ok(codes) => view! { <RecoveryCodesPanel codes on_done=Callback::new(move |_| { regenerate.value().set(None); refresh.update(|n| *n += 1); })/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })}
            }.into_any()
        } else {
            view! { <p>"No second factor yet. Add an authenticator app so a stolen password alone cannot open your account."</p> }.into_any()
        }}
        {move || match adding.get() {
            Some(Adding::Authenticator) => view! { <SetUpAuthenticator password on_done=Callback::new(move |_| { adding.set(None); refresh.update(|n| *n += 1); })/> }.into_any(),
            Some(Adding::Phone) => view! { <SetUpSms password on_done=Callback::new(move |_| { adding.set(None); refresh.update(|n| *n += 1); })/> }.into_any(),
            None => view! {
                <p class="actions">
                    <button type="button" class="button-secondary" on:click=move |_| adding.set(Some(Adding::Authenticator))>"Add authenticator app"</button>
                    <button type="button" class="button-secondary" on:click=move |_| adding.set(Some(Adding::Phone))>"Add phone for text messages"</button>
                </p>
            }.into_any(),
        }}
    }
}
