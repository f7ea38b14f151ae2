//! Tenants (list and create), Tenant › Settings (sign-in mode, MFA enforcement, policy
//! overrides) and the Roles tab of Settings › Users and Roles.

use crate::AppError;
use crate::api::{CreateTenant, create_role, get_tenant, list_roles, list_tenants, update_tenant_settings};
use crate::components::{ErrorNotice, Spinner};
use crate::types::{
    DEFAULT_INVITE_LINK_DAYS, DEFAULT_TEMPORARY_PASSWORD_HOURS, HostInfo, PERMISSIONS, RoleSummary, SignInMode,
    TenantKind, TenantSummary,
};
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

#[component]
pub fn TenantsPage() -> impl IntoView {
    let host = expect_context::<HostInfo>();
    if host.viewer.is_none() {
        return view! { <Redirect path="/sign-in"/> }.into_any();
    }
    let create = ServerAction::<CreateTenant>::new();
    let tenants = LocalResource::new(move || {
        create.version().get();
        list_tenants()
    });
    let name = RwSignal::new(String::new());
    let slug = RwSignal::new(String::new());
    let slug_edited = RwSignal::new(false);
    // The subdomain follows the name until the admin types one.
    let suggested = move |name: &str| {
        name.to_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
            .split('-')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-")
    };
    Effect::new(move |_| {
        if let Some(Ok(_)) = create.value().get() {
            name.set(String::new());
            slug.set(String::new());
            slug_edited.set(false);
        }
    });
    view! {
        <main class="card wide" data-testid="tenants">
            <p class="crumbs">"Tenants"</p>
            <h1>"Tenants"</h1>
            {move || create.value().get().map(|result| match result {
                Ok(tenant) => view! {
                    <div class="notice toast" role="status" data-testid="toast">
                        <p class="notice-message">{format!("{} was created. Its users sign in at {}.", tenant.name, tenant.sign_in_url)}</p>
                    </div>
                }.into_any(),
                Err(error) => view! { <div class="toast"><ErrorNotice error/></div> }.into_any(),
            })}
            <Suspense fallback=|| view! { <Spinner/> }>
                {move || tenants.get().map(|result| match result {
                    Ok(list) => view! { <TenantTable list/> }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })}
            </Suspense>
            <section class="panel" aria-labelledby="create-title">
                <h2 id="create-title">"Create tenant"</h2>
                <ActionForm action=create attr:class="form-row">
                    <label>"Name"
                        <input name="name" required maxlength="100" autocomplete="off" prop:value=move || name.get()
                            on:input=move |ev| {
                                let value = event_target_value(&ev);
                                if !slug_edited.get_untracked() { slug.set(suggested(&value)); }
                                name.set(value);
                            }/>
                    </label>
                    <label>"Subdomain"
                        <input name="slug" required maxlength="63" autocomplete="off" prop:value=move || slug.get()
                            on:input=move |ev| { slug_edited.set(true); slug.set(event_target_value(&ev)); }/>
                    </label>
                    <label class="check"><input type="checkbox" name="is_mfa_enforced" value="true"/>" Enforce MFA"</label>
                    <button type="submit" class="button" disabled=move || create.pending().get()>"Create tenant"</button>
                </ActionForm>
                <p class="hint">{move || {
                    let base = expect_context::<HostInfo>().base_domain;
                    format!("Users will sign in at {}.{base}", if slug.get().is_empty() { "<subdomain>".to_owned() } else { slug.get() })
                }}</p>
            </section>
        </main>
    }
    .into_any()
}

#[component]
fn TenantTable(list: Vec<TenantSummary>) -> impl IntoView {
    view! {
        <table class="table" data-testid="tenant-table">
            <thead><tr><th>"Name"</th><th>"Sign-in address"</th><th class="col-optional">"Sign-in"</th><th class="col-optional">"MFA"</th><th>"Members"</th><th><span class="sr-only">"Actions"</span></th></tr></thead>
            <tbody>
                {list.into_iter().map(|t| {
                    let operator = t.kind == TenantKind::Operator;
                    view! {
                        <tr data-testid="tenant-row" data-slug=t.slug.clone()>
                            <td>{t.name.clone()}{operator.then(|| view! { <br/><span class="muted">"The operator (admin console)"</span> })}</td>
                            <td><a href=t.sign_in_url.clone()>{t.sign_in_url.clone()}</a></td>
                            <td class="col-optional">{if t.sign_in_mode == SignInMode::Sso { "SSO" } else { "Password" }}</td>
                            <td class="col-optional">{if t.is_mfa_enforced { "Enforced" } else { "Optional" }}</td>
                            <td>{t.member_count.to_string()}</td>
                            <td class="row-links">
                                <a href=format!("/users?tenant={}", t.id)>"Users"</a>" · "
                                <a href=format!("/tenants/{}", t.id)>"Settings"</a>
                            </td>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn TenantSettingsPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").and_then(|id| id.parse::<Uuid>().ok()));
    // Saving the identity provider changes which sign-in modes the form above offers.
    let sso_saved = RwSignal::new(0u32);
    let tenant = LocalResource::new(move || {
        let id = id();
        sso_saved.get();
        async move {
            match id {
                Some(id) => get_tenant(id).await,
                None => Err(AppError::not_found("No such workspace.")),
            }
        }
    });
    view! {
        <main class="card wide" data-testid="tenant-settings">
            <Suspense fallback=|| view! { <Spinner/> }>
                {move || tenant.get().map(|result| match result {
                    Ok(tenant) => view! { <SettingsForm tenant/> }.into_any(),
                    Err(error) => view! { <h1>"Tenant settings"</h1><ErrorNotice error/> }.into_any(),
                })}
            </Suspense>
            {move || id().map(|tenant_id| view! { <super::sso_settings::SsoSettings tenant_id saved=sso_saved/> })}
        </main>
    }
}

#[component]
fn SettingsForm(tenant: TenantSummary) -> impl IntoView {
    let operator = tenant.kind == TenantKind::Operator;
    let sso_reason =
        (!tenant.sso_configured).then_some("set up the identity provider under Single sign-on below first");
    let mode = RwSignal::new(tenant.sign_in_mode);
    let enforced = RwSignal::new(tenant.is_mfa_enforced);
    let days = RwSignal::new(
        tenant
            .policy
            .invite_link_days
            .map(|d| d.to_string())
            .unwrap_or_default(),
    );
    let hours = RwSignal::new(
        tenant
            .policy
            .temporary_password_hours
            .map(|h| h.to_string())
            .unwrap_or_default(),
    );
    let saved = RwSignal::new(None::<Result<TenantSummary, AppError>>);
    let busy = RwSignal::new(false);
    let tenant_id = tenant.id;
    // An empty field keeps the default; anything else goes to the server, which checks it.
    let number = |text: String| -> Result<Option<u32>, AppError> {
        let text = text.trim().to_owned();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse()
            .map(Some)
            .map_err(|_| AppError::invalid("policy", "Enter a whole number, or leave the field empty."))
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (d, h) = match (number(days.get_untracked()), number(hours.get_untracked())) {
            (Ok(d), Ok(h)) => (d, h),
            (Err(e), _) | (_, Err(e)) => return saved.set(Some(Err(e))),
        };
        busy.set(true);
        let (m, e) = (mode.get_untracked(), enforced.get_untracked());
        leptos::task::spawn_local(async move {
            saved.set(Some(update_tenant_settings(tenant_id, m, e, d, h).await));
            busy.set(false);
        });
    };
    view! {
        <p class="crumbs"><a href="/tenants">"Tenants"</a>{format!(" › {} › Settings", tenant.name)}</p>
        <h1>{format!("{} settings", tenant.name)}</h1>
        <p><a href=format!("/users?tenant={}", tenant.id)>{format!("Users of {}", tenant.name)}</a></p>
        {move || saved.get().map(|result| match result {
            Ok(_) => view! { <div class="notice toast" role="status" data-testid="toast"><p class="notice-message">"The settings were saved."</p></div> }.into_any(),
            Err(error) => view! { <div class="toast"><ErrorNotice error/></div> }.into_any(),
        })}
        <form class="settings-form" novalidate on:submit=submit>
            <fieldset>
                <legend>"Sign-in mode"</legend>
                <label class="check"><input type="radio" name="sign_in_mode" checked=move || mode.get() == SignInMode::Password
                    on:change=move |_| mode.set(SignInMode::Password)/>" Password, with MFA"</label>
                <label class="check">
                    <input type="radio" name="sign_in_mode" checked=move || mode.get() == SignInMode::Sso
                        disabled=operator || (sso_reason.is_some() && tenant.sign_in_mode != SignInMode::Sso)
                        on:change=move |_| mode.set(SignInMode::Sso)/>
                    " Single sign-on through the workspace's identity provider"
                    <span class="muted">{if operator { " (the admin console always uses passwords)".to_owned() } else { sso_reason.map(|r| format!(" ({r})")).unwrap_or_default() }}</span>
                </label>
            </fieldset>
            <fieldset>
                <legend>"MFA enforcement"</legend>
                <label class="check"><input type="checkbox" prop:checked=move || enforced.get()
                    on:change=move |ev| enforced.set(event_target_checked(&ev))/>
                    " Enforce MFA: users without a factor set one up at their next sign-in"</label>
            </fieldset>
            <fieldset>
                <legend>"Policy overrides"</legend>
                <label>{format!("Invite and access links work for (days, 1 to 30; default {DEFAULT_INVITE_LINK_DAYS})")}
                    <input type="number" min="1" max="30" data-testid="invite-link-days" placeholder=DEFAULT_INVITE_LINK_DAYS.to_string()
                        prop:value=move || days.get() on:input=move |ev| days.set(event_target_value(&ev))/>
                </label>
                <label>{format!("Temporary passwords work for (hours, 1 to 72; default {DEFAULT_TEMPORARY_PASSWORD_HOURS})")}
                    <input type="number" min="1" max="72" data-testid="temporary-password-hours" placeholder=DEFAULT_TEMPORARY_PASSWORD_HOURS.to_string()
                        prop:value=move || hours.get() on:input=move |ev| hours.set(event_target_value(&ev))/>
                </label>
                <p class="hint">"Leave a field empty to keep the deployment's default. New links and passwords follow the new values."</p>
            </fieldset>
            <button type="submit" class="button" disabled=move || busy.get()>"Save settings"</button>
        </form>
    }
}

#[component]
pub fn RolesPage() -> impl IntoView {
    let host = expect_context::<HostInfo>();
    if host.viewer.is_none() {
        return view! { <Redirect path="/sign-in"/> }.into_any();
    }
    let operator = host.realm.kind == crate::types::RealmKind::Operator;
    let created = RwSignal::new(None::<Result<RoleSummary, AppError>>);
    let roles = LocalResource::new(move || {
        created.get();
        list_roles(None, None)
    });
    let workspaces = LocalResource::new(move || async move { if operator { list_tenants().await.ok() } else { None } });
    let name = RwSignal::new(String::new());
    let workspace = RwSignal::new(None::<Uuid>);
    let chosen = RwSignal::new(Vec::<&'static str>::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (tenant_id, role_name) = (workspace.get_untracked(), name.get_untracked());
        let permissions = chosen.get_untracked().into_iter().map(str::to_owned).collect();
        leptos::task::spawn_local(async move {
            let result = create_role(tenant_id, role_name, permissions).await;
            if result.is_ok() {
                name.set(String::new());
                chosen.set(Vec::new());
            }
            created.set(Some(result));
        });
    };
    view! {
        <main class="card wide" data-testid="roles">
            <p class="crumbs">"Settings › Users and Roles"</p>
            <h1>"Roles"</h1>
            <div class="tabs" role="tablist" aria-label="Users and Roles">
                <a class="tab" role="tab" aria-selected="false" href="/users">"Users"</a>
                <a class="tab tab-current" role="tab" aria-selected="true" href="/roles">"Roles"</a>
            </div>
            <Suspense fallback=|| view! { <Spinner/> }>
                {move || roles.get().map(|result| match result {
                    Ok(list) => view! {
                        <table class="table" data-testid="role-table">
                            <thead><tr><th>"Role"</th><th>"Permissions"</th><th>"Members"</th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|role| view! {
                                    <tr data-testid="role-row">
                                        <td>{role.name.clone()}<br/><span class="muted">{match (&role.workspace, role.builtin) {
                                            (_, true) => "Built-in".to_owned(),
                                            (Some(w), false) => format!("Custom · {w}"),
                                            (None, false) => "Custom".to_owned(),
                                        }}</span></td>
                                        <td>{if role.permissions.is_empty() { "Signs in and manages their own account".to_owned() } else { role.permissions.join(", ") }}</td>
                                        <td>{role.member_count.unwrap_or_default().to_string()}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })}
            </Suspense>
            <p class="hint">"Change a user's role from the Users tab (the row menu's Change Role). Every change is in the audit trail."</p>
            {move || created.get().map(|result| match result {
                Ok(role) => view! { <div class="notice toast" role="status" data-testid="toast"><p class="notice-message">{format!("The role {} was created.", role.name)}</p></div> }.into_any(),
                Err(error) => view! { <div class="toast"><ErrorNotice error/></div> }.into_any(),
            })}
            <section class="panel" aria-labelledby="new-role-title">
                <h2 id="new-role-title">"New role"</h2>
                <form class="settings-form" on:submit=submit>
                    <div class="form-row">
                        <label>"Role name"
                            <input required maxlength="60" autocomplete="off" prop:value=move || name.get()
                                on:input=move |ev| name.set(event_target_value(&ev))/>
                        </label>
                        {operator.then(|| view! {
                            <label>"Workspace"
                                <select on:change=move |ev| workspace.set(event_target_value(&ev).parse().ok())>
                                    <option value="">"The operator (admin console)"</option>
                                    <Suspense fallback=|| ()>
                                        {move || workspaces.get().flatten().map(|list| list.into_iter().filter(|t| t.kind != TenantKind::Operator).map(|t| view! {
                                            <option value=t.id.to_string()>{t.name}</option>
                                        }).collect_view())}
                                    </Suspense>
                                </select>
                            </label>
                        })}
                    </div>
                    <fieldset>
                        <legend>"Permissions"</legend>
                        {PERMISSIONS.iter().map(|&(permission, meaning)| view! {
                            <label class="check">
                                <input type="checkbox" prop:checked=move || chosen.with(|c| c.contains(&permission))
                                    on:change=move |ev| {
                                        let on = event_target_checked(&ev);
                                        chosen.update(|c| { c.retain(|p| *p != permission); if on { c.push(permission) } });
                                    }/>
                                " "<code>{permission}</code>" "{meaning}
                            </label>
                        }).collect_view()}
                        <p class="hint">"A role grants at most what your own role holds."</p>
                    </fieldset>
                    <button type="submit" class="button">"Create role"</button>
                </form>
            </section>
        </main>
    }
    .into_any()
}
