//! Tenant › Settings › Single sign-on: the workspace's OpenID Connect provider, "Test
//! connection", and the SSO policy (accounts on first sign-in, Latchkey's MFA after SSO).

use crate::AppError;
use crate::api::{UpdateTenantSso, get_tenant_sso, test_tenant_sso};
use crate::components::{CopyValue, ErrorNotice};
use crate::types::{SsoConfig, SsoConnectionReport};
use leptos::prelude::*;
use uuid::Uuid;

/// Shown for customer workspaces only (the admin console always signs in with passwords);
/// `saved` is bumped after each save so the page can show the sign-in mode's new choices.
#[component]
pub fn SsoSettings(tenant_id: Uuid, saved: RwSignal<u32>) -> impl IntoView {
    let config = LocalResource::new(move || get_tenant_sso(tenant_id));
    view! {
        <Suspense fallback=|| ()>
            {move || config.get().map(|result| match result {
                Ok(config) => view! { <SsoForm tenant_id config saved/> }.into_any(),
                // The operator's own row has no SSO: nothing to show.
                Err(AppError::Conflict { .. }) => ().into_any(),
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn SsoForm(tenant_id: Uuid, config: SsoConfig, saved: RwSignal<u32>) -> impl IntoView {
    let save = ServerAction::<UpdateTenantSso>::new();
    let issuer = RwSignal::new(config.issuer.clone().unwrap_or_default());
    let report = RwSignal::new(None::<Result<SsoConnectionReport, AppError>>);
    let testing = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            saved.update(|n| *n += 1);
        }
    });
    let test = move |_| {
        testing.set(true);
        report.set(None);
        let issuer = issuer.get_untracked();
        leptos::task::spawn_local(async move {
            report.set(Some(test_tenant_sso(tenant_id, issuer).await));
            testing.set(false);
        });
    };
    let secret_hint = if config.has_client_secret {
        "Saved. Leave empty to keep it; it is never shown again."
    } else {
        "Given by the identity provider; stored encrypted."
    };
    view! {
        <section class="panel" aria-labelledby="sso-title" data-testid="sso-settings">
            <h2 id="sso-title">"Single sign-on"</h2>
            <p class="hint">"Register Latchkey at the identity provider as a web application using the authorization code flow, with this redirect URI:"</p>
            <CopyValue value=config.redirect_uri.clone() label="Redirect URI"/>
            {move || save.value().get().map(|result| match result {
                Ok(_) => view! { <div class="notice toast" role="status" data-testid="toast"><p class="notice-message">"The single sign-on settings were saved."</p></div> }.into_any(),
                Err(error) => view! { <div class="toast"><ErrorNotice error/></div> }.into_any(),
            })}
            <ActionForm action=save attr:class="settings-form" attr:novalidate=true>
                <input type="hidden" name="tenant_id" value=tenant_id.to_string()/>
                <label>"Issuer URL"
                    <input name="issuer" type="url" required maxlength="512" autocomplete="off" placeholder="https://login.example.com"
                        prop:value=move || issuer.get() on:input=move |ev| issuer.set(event_target_value(&ev))/>
                </label>
                <label>"Client ID"
                    <input name="client_id" required maxlength="255" autocomplete="off" value=config.client_id.clone().unwrap_or_default()/>
                </label>
                <label>"Client secret"
                    <input name="client_secret" type="password" maxlength="512" autocomplete="new-password"/>
                    <span class="hint">{secret_hint}</span>
                </label>
                <label>"Allowed email domains"
                    <textarea name="allowed_domains" rows="2" placeholder="example.com">{config.allowed_domains.join("\n")}</textarea>
                    <span class="hint">"One per line. Leave empty to accept any address the provider has verified."</span>
                </label>
                <label class="check"><input type="checkbox" name="jit_provisioning" checked=config.jit_provisioning/>
                    " Create a Member account for an allowed address at its first sign-in"</label>
                <label class="check"><input type="checkbox" name="requires_mfa" checked=config.requires_mfa/>
                    " Ask for Latchkey's own MFA after single sign-on too"</label>
                <div class="form-row">
                    <button type="button" class="button button-secondary" on:click=test disabled=move || testing.get()>
                        {move || if testing.get() { "Testing…" } else { "Test connection" }}
                    </button>
                    <button type="submit" class="button" disabled=move || save.pending().get()>"Save single sign-on"</button>
                </div>
            </ActionForm>
            {move || report.get().map(|result| match result {
                Ok(report) if report.ok => view! {
                    <div class="notice" role="status" data-testid="sso-test-result">
                        <p class="notice-message">{format!("The connection works: {} publishes its discovery document and {} signing key{}.",
                            report.issuer, report.signing_keys, if report.signing_keys == 1 { "" } else { "s" })}</p>
                        <p class="hint">{format!("Authorization: {}", report.authorization_endpoint.unwrap_or_default())}<br/>
                            {format!("Token: {}", report.token_endpoint.unwrap_or_default())}</p>
                    </div>
                }.into_any(),
                Ok(report) => view! {
                    <div class="notice notice-error" role="alert" data-testid="sso-test-result">
                        <p class="notice-message">"The connection does not work yet:"</p>
                        <ul>{report.problems.into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
                    </div>
                }.into_any(),
                Err(error) => view! { <ErrorNotice error/> }.into_any(),
            })}
        </section>
    }
}
