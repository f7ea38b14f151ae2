//! Edit User: the access diagnosis ("why can't this user sign in?") with each fix in place, the
//! Account Status panel of each workspace, the profile with email change by confirmation,
//! memberships, sessions with Revoke, and recent security events. `?ref=` (from the console
//! search) shows that event first.

use super::user_actions::{Outcome, RowAction, Subject, Toast, action_runner};
use crate::AppError;
use crate::api::{get_user, list_events, request_email_change, resend_email_change, revoke_user_session};
use crate::components::{CopyValue, ErrorNotice, Spinner};
use crate::types::{
    AccessFix, AccessProblem, EventQuery, HostInfo, MembershipDetail, MembershipStatus, RealmKind, SecurityEventRow,
    UserDetail,
};
use leptos::prelude::*;
use leptos_router::components::Redirect;
use leptos_router::hooks::{use_params_map, use_query_map};
use uuid::Uuid;

fn when(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Runs an action of this page: its outcome goes to the toast and the user is read again.
fn report(
    outcome: RwSignal<Option<Result<Outcome, AppError>>>,
    changed: RwSignal<u32>,
    action: impl std::future::Future<Output = Result<Outcome, AppError>> + 'static,
) {
    leptos::task::spawn_local(async move {
        outcome.set(Some(action.await));
        changed.update(|n| *n += 1);
    });
}

fn fix_action(fix: AccessFix) -> Option<RowAction> {
    Some(match fix {
        AccessFix::UnlockAccount => RowAction::Unlock,
        AccessFix::ResetCooldown => RowAction::ResetCooldown,
        AccessFix::ResendInvite => RowAction::ResendInvite,
        AccessFix::EnableAccess => RowAction::EnableAccess,
        AccessFix::SendResetLink => RowAction::SendResetLink,
        AccessFix::GenerateTemporaryPassword => RowAction::TemporaryPassword,
        AccessFix::CopySignInUrl => return None,
    })
}

/// What the page needs to run an action on one of the user's memberships.
#[derive(Clone)]
struct Page {
    user: UserDetail,
    operator_viewer: bool,
    operator_slug: String,
}

impl Page {
    fn subject(&self, membership: &MembershipDetail) -> Subject {
        Subject {
            user_id: self.user.id,
            tenant_id: membership.tenant_id,
            display_name: self.user.display_name.clone(),
            email: self.user.email.clone(),
            role_id: membership.role_id,
            sso: membership.sso,
            mfa_enrolled: !self.user.factors.is_empty(),
            reach: self.user.reach,
            operator_member: membership.tenant_slug == self.operator_slug,
            operator_viewer: self.operator_viewer,
        }
    }

    fn subject_in(&self, tenant_id: Uuid) -> Option<Subject> {
        self.user
            .memberships
            .iter()
            .find(|m| m.tenant_id == tenant_id)
            .map(|m| self.subject(m))
    }
}

#[component]
pub fn EditUserPage() -> impl IntoView {
    let host = expect_context::<HostInfo>();
    if host.viewer.is_none() {
        return view! { <Redirect path="/sign-in"/> }.into_any();
    }
    let params = use_params_map();
    let reference = use_query_map().get_untracked().get("ref");
    let user_id = move || params.with(|p| p.get("id").and_then(|id| id.parse::<Uuid>().ok()));
    let changed = RwSignal::new(0u32);
    let outcome = RwSignal::new(None::<Result<Outcome, AppError>>);
    let user = LocalResource::new(move || {
        changed.get();
        let id = user_id();
        async move {
            match id {
                Some(id) => get_user(id).await,
                None => Err(AppError::not_found("No such user.")),
            }
        }
    });
    let (choose, dialogs) = action_runner(outcome, changed);
    let operator_viewer = host.realm.kind == RealmKind::Operator;
    let operator_slug = host.realm.slug.clone();
    view! {
        <main class="card wide" data-testid="edit-user">
            <p class="crumbs"><a href="/users">"Users"</a>" › Edit user"</p>
            <Toast outcome/>
            <Suspense fallback=|| view! { <Spinner/> }>
                {move || user.get().map(|result| match result {
                    Ok(user) => {
                        let page = Page { user, operator_viewer, operator_slug: operator_slug.clone() };
                        view! { <UserSections page choose changed outcome reference=reference.clone()/> }.into_any()
                    }
                    Err(error) => view! { <h1>"Edit user"</h1><ErrorNotice error/> }.into_any(),
                })}
            </Suspense>
            {dialogs}
        </main>
    }
    .into_any()
}

#[component]
fn UserSections(
    page: Page,
    choose: Callback<(RowAction, Subject)>,
    changed: RwSignal<u32>,
    outcome: RwSignal<Option<Result<Outcome, AppError>>>,
    reference: Option<String>,
) -> impl IntoView {
    let user = page.user.clone();
    let subtitle = match &user.username {
        Some(username) => format!("{} · {username}", user.email),
        None => user.email.clone(),
    };
    view! {
        <h1>{user.display_name.clone()}</h1>
        <p class="muted">{subtitle}</p>
        <Diagnosis page=page.clone() choose/>
        <AccountStatus page=page.clone() choose/>
        <Profile user=user.clone() changed outcome/>
        <Memberships user=user.clone()/>
        <Sessions user=user.clone() changed outcome/>
        <RecentEvents user_id=user.id reference/>
    }
}

#[component]
fn Diagnosis(page: Page, choose: Callback<(RowAction, Subject)>) -> impl IntoView {
    let problems = page.user.access.clone();
    let name = page.user.display_name.clone();
    let empty = problems.is_empty();
    view! {
        <section class="panel" data-testid="access-diagnosis" aria-labelledby="diagnosis-title">
            <h2 id="diagnosis-title">{format!("Can {name} sign in?")}</h2>
            {empty.then(|| view! { <p class="diagnosis-ok">"Yes: nothing stops the next sign-in."</p> })}
            <ul class="diagnosis">
                {problems.into_iter().map(|problem| view! { <ProblemItem problem page=page.clone() choose/> }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
fn ProblemItem(problem: AccessProblem, page: Page, choose: Callback<(RowAction, Subject)>) -> impl IntoView {
    let class = if problem.blocks_sign_in {
        "problem problem-blocks"
    } else {
        "problem"
    };
    let verdict = if problem.blocks_sign_in {
        "Stops sign-in"
    } else {
        "A step at sign-in"
    };
    let fix = problem
        .fix
        .map(|fix| match (fix_action(fix), page.subject_in(problem.tenant_id)) {
            (Some(action), Some(subject)) => {
                let reason = action.unavailable(&subject);
                view! {
                    <button type="button" class="button" data-testid="fix" disabled=reason.is_some()
                        title=reason.unwrap_or_default()
                        on:click=move |_| choose.run((action, subject.clone()))>{action.label()}</button>
                }
                .into_any()
            }
            _ => view! { <CopyValue value=problem.sign_in_url.clone() label="Sign-in address"/> }.into_any(),
        });
    view! {
        <li class=class data-testid="problem" data-kind=problem.kind.as_str()>
            <p><span class="badge">{verdict}</span>" "<strong>{problem.tenant_name.clone()}</strong>": "{problem.message.clone()}</p>
            {fix}
        </li>
    }
}

#[component]
fn AccountStatus(page: Page, choose: Callback<(RowAction, Subject)>) -> impl IntoView {
    let user = page.user.clone();
    let factors = if user.factors.is_empty() {
        "None".to_owned()
    } else {
        user.factors
            .iter()
            .map(|f| format!("{} ({})", f.label, f.kind))
            .collect::<Vec<_>>()
            .join(", ")
    };
    view! {
        <section class="panel" data-testid="account-status" aria-labelledby="status-title">
            <h2 id="status-title">"Account status"</h2>
            {user.memberships.clone().into_iter().map(|m| {
                let subject = page.subject(&m);
                let button = |action: RowAction, enabled: Option<&'static str>| {
                    let reason = enabled.or_else(|| action.unavailable(&subject));
                    let picked = subject.clone();
                    view! {
                        <button type="button" class="button-secondary" disabled=reason.is_some()
                            title=reason.unwrap_or_default()
                            on:click=move |_| choose.run((action, picked.clone()))>{action.label()}</button>
                    }
                };
                let disabled = m.status == MembershipStatus::Disabled;
                let pending = m.status == MembershipStatus::Pending;
                let impersonable = page.operator_viewer && m.tenant_slug != page.operator_slug;
                let active = m.status == MembershipStatus::Active;
                view! {
                    <div class="status-block" data-testid="status-block" data-workspace=m.tenant_slug.clone()>
                        <h3>{m.tenant_name.clone()}</h3>
                        <dl class="facts">
                            <dt>"Access"</dt><dd><span class=super::users::badge(m.status)>{m.status.label()}</span></dd>
                            <dt>"Role"</dt><dd>{m.role_name.clone()}</dd>
                            <dt>"Lock"</dt><dd>{match (m.status, &m.locked_reason, m.locked_until) {
                                (MembershipStatus::Locked, reason, until) => format!(
                                    "Locked {}: {}",
                                    until.map_or_else(|| "until unlocked".to_owned(), |u| format!("until {}", when(u))),
                                    reason.clone().filter(|r| !r.is_empty()).unwrap_or_else(|| "no reason given".into())
                                ),
                                _ => "Not locked".to_owned(),
                            }}</dd>
                            <dt>"Cooldown"</dt><dd>{m.cooldown_until.map_or_else(|| "None".to_owned(), |u| format!("Until {}", when(u)))}</dd>
                            <dt>"Wrong MFA codes"</dt><dd>{m.mfa_failed_attempts.to_string()}</dd>
                            <dt>"MFA factors"</dt><dd>{factors.clone()}</dd>
                            <dt>"Recovery codes left"</dt><dd>{user.recovery_codes_left.map_or_else(|| "—".to_owned(), |n| n.to_string())}</dd>
                            <dt>"Enforcement"</dt><dd>{if m.is_mfa_enforced { "MFA enforced by the workspace" } else { "MFA optional" }}</dd>
                            <dt>"Sign-in"</dt><dd>{if m.sso { "SSO" } else { "Password" }}</dd>
                        </dl>
                        <div class="actions">
                            {if disabled {
                                button(RowAction::EnableAccess, None)
                            } else {
                                button(RowAction::DisableAccess, pending.then_some("The invite is still pending: revoke it instead"))
                            }}
                            {button(RowAction::ResetMfa, None)}
                            {button(RowAction::ResetOrgMfa, None)}
                            {impersonable.then(|| button(RowAction::Impersonate, (!active).then_some("Only active accounts can be impersonated")))}
                        </div>
                    </div>
                }
            }).collect_view()}
        </section>
    }
}

#[component]
fn Profile(
    user: UserDetail,
    changed: RwSignal<u32>,
    outcome: RwSignal<Option<Result<Outcome, AppError>>>,
) -> impl IntoView {
    let new_email = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let user_id = user.id;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        let email = new_email.get_untracked();
        report(outcome, changed, async move {
            let result = request_email_change(user_id, email).await.map(|pending| Outcome {
                message: format!(
                    "A confirmation link was sent to {}. The email changes when it is used, before {}.",
                    pending.new_email,
                    when(pending.expires_at)
                ),
                value: None,
            });
            if result.is_ok() {
                new_email.set(String::new());
            }
            busy.set(false);
            result
        });
    };
    let resend = move |_| {
        report(outcome, changed, async move {
            resend_email_change(user_id).await.map(|pending| Outcome {
                message: format!(
                    "The confirmation link was sent again to {}. The older link no longer works.",
                    pending.new_email
                ),
                value: None,
            })
        });
    };
    view! {
        <section class="panel" data-testid="profile" aria-labelledby="profile-title">
            <h2 id="profile-title">"Profile"</h2>
            <dl class="facts">
                <dt>"Name"</dt><dd>{user.display_name.clone()}</dd>
                <dt>"Email"</dt><dd data-testid="email">{user.email.clone()}</dd>
                <dt>"Username"</dt><dd>{user.username.clone().unwrap_or_else(|| "—".into())}</dd>
                <dt>"Secondary email"</dt><dd>{user.secondary_email.clone().unwrap_or_else(|| "—".into())}</dd>
                <dt>"Phone"</dt><dd>{user.phone.clone().unwrap_or_else(|| "—".into())}</dd>
                <dt>"Password"</dt><dd>{match (user.has_password, user.password_changed_at) {
                    (false, _) => "Not set".to_owned(),
                    (true, Some(at)) => format!("Changed {}", when(at)),
                    (true, None) => "Set".to_owned(),
                }}</dd>
                <dt>"Created"</dt><dd>{when(user.created_at)}</dd>
            </dl>
            {user.pending_email.clone().map(|pending| view! {
                <p class="notice" data-testid="pending-email">
                    {format!("Waiting for {} to confirm, until {}. ", pending.new_email, when(pending.expires_at))}
                    <button type="button" class="button-secondary" on:click=resend>"Resend confirmation"</button>
                </p>
            })}
            {match user.reach.refusal() {
                Some(reason) => view! {
                    <p class="hint" data-testid="email-change-unavailable">{format!("Change email: {reason}.")}</p>
                }.into_any(),
                None => view! {
                    <form class="form-row" on:submit=submit>
                        <label>"New email"
                            <input type="email" required maxlength="254" autocomplete="off" data-testid="new-email"
                                prop:value=move || new_email.get() on:input=move |ev| new_email.set(event_target_value(&ev))/>
                        </label>
                        <button type="submit" class="button" disabled=move || busy.get()>"Change email"</button>
                    </form>
                    <p class="hint">"The new address gets a confirmation link; the email changes only when it is used, and the old address is told."</p>
                }.into_any(),
            }}
        </section>
    }
}

#[component]
fn Memberships(user: UserDetail) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="memberships-title">
            <h2 id="memberships-title">"Memberships"</h2>
            <table class="table">
                <thead><tr><th>"Workspace"</th><th>"Role"</th><th>"Status"</th><th class="col-optional">"Member since"</th><th class="col-optional">"Invite expires"</th></tr></thead>
                <tbody>
                    {user.memberships.into_iter().map(|m| view! {
                        <tr>
                            <td>{m.tenant_name}<br/><span class="muted">{m.tenant_slug}</span></td>
                            <td>{m.role_name}</td>
                            <td><span class=super::users::badge(m.status)>{m.status.label()}</span></td>
                            <td class="col-optional">{when(m.created_at)}</td>
                            <td class="col-optional">{m.invite_expires_at.map_or_else(|| "—".to_owned(), when)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </section>
    }
}

#[component]
fn Sessions(
    user: UserDetail,
    changed: RwSignal<u32>,
    outcome: RwSignal<Option<Result<Outcome, AppError>>>,
) -> impl IntoView {
    let empty = user.sessions.is_empty();
    let user_id = user.id;
    view! {
        <section class="panel" data-testid="sessions" aria-labelledby="sessions-title">
            <h2 id="sessions-title">"Sessions"</h2>
            {empty.then(|| view! { <p class="empty">"No live session."</p> })}
            {(!empty).then(|| view! {
                <table class="table">
                    <thead><tr><th>"Workspace"</th><th>"Started"</th><th class="col-optional">"Last seen"</th><th class="col-optional">"IP address"</th><th class="col-optional">"Browser"</th><th><span class="sr-only">"Actions"</span></th></tr></thead>
                    <tbody>
                        {user.sessions.into_iter().map(|s| {
                            let id = s.id;
                            view! {
                                <tr data-testid="session-row">
                                    <td>{s.tenant_name}{s.impersonated_by.map(|admin| view! { <br/><span class="badge badge-pending">{format!("Impersonated by {admin}")}</span> })}</td>
                                    <td>{when(s.created_at)}</td>
                                    <td class="col-optional">{when(s.last_seen_at)}</td>
                                    <td class="col-optional">{s.ip.unwrap_or_else(|| "—".into())}</td>
                                    <td class="col-optional ua">{s.user_agent.unwrap_or_else(|| "—".into())}</td>
                                    <td><button type="button" class="button-secondary" on:click=move |_| {
                                        report(outcome, changed, async move {
                                            revoke_user_session(user_id, id).await.map(|()| Outcome {
                                                message: "The session was ended.".into(),
                                                value: None,
                                            })
                                        });
                                    }>"Revoke"</button></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            })}
        </section>
    }
}

fn event_row(event: SecurityEventRow, highlighted: bool) -> impl IntoView {
    let reference = event.reference.clone();
    view! {
        <tr class=if highlighted { "highlight" } else { "" } data-testid="event-row" data-reference=reference>
            <td>{when(event.occurred_at)}</td>
            <td>{event.type_label}</td>
            <td><code>{event.reference}</code></td>
            <td class="col-optional">{event.tenant_slug.unwrap_or_else(|| "—".into())}</td>
            <td class="col-optional">{event.ip.unwrap_or_else(|| "—".into())}</td>
        </tr>
    }
}

#[component]
fn RecentEvents(user_id: Uuid, reference: Option<String>) -> impl IntoView {
    let query = EventQuery {
        user_id: Some(user_id),
        limit: Some(10),
        ..Default::default()
    };
    let recent = LocalResource::new(move || list_events(query.clone()));
    // The event a pasted support reference named, however old.
    let named = LocalResource::new({
        let reference = reference.clone();
        move || {
            let reference = reference.clone();
            async move {
                match reference {
                    Some(q) => list_events(EventQuery {
                        q: Some(q),
                        user_id: Some(user_id),
                        ..Default::default()
                    })
                    .await
                    .ok(),
                    None => None,
                }
            }
        }
    });
    view! {
        <section class="panel" data-testid="user-events" aria-labelledby="events-title">
            <h2 id="events-title">"Recent security events"</h2>
            <Suspense fallback=|| view! { <Spinner/> }>
                {move || named.get().flatten().and_then(|page| page.events.into_iter().next()).map(|event| view! {
                    <p class="notice" data-testid="referenced-event">{format!("Support reference {}: {} on {}", event.reference, event.type_label, when(event.occurred_at))}</p>
                })}
                {move || recent.get().map(|result| match result {
                    Ok(page) if page.events.is_empty() => view! { <p class="empty">"No security events yet."</p> }.into_any(),
                    Ok(page) => view! {
                        <table class="table">
                            <thead><tr><th>"When"</th><th>"Event"</th><th>"Reference"</th><th class="col-optional">"Workspace"</th><th class="col-optional">"IP address"</th></tr></thead>
                            <tbody>{page.events.into_iter().map(|e| {
                                let highlighted = reference.as_deref().is_some_and(|r| crate::domain::SupportReference::parse(r).is_some_and(|r| r.as_str() == e.reference));
                                event_row(e, highlighted)
                            }).collect_view()}</tbody>
                        </table>
                    }.into_any(),
                    Err(error) => view! { <ErrorNotice error/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
