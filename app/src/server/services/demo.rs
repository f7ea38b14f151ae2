//! `latchkey demo`: an operator, two tenants and users in every status, for trying Latchkey out.

use super::db_error;
use super::setup::{builtin_role, ensure_defaults, operator, rename_operator};
use crate::AppError;
use crate::server::AppState;
use crate::server::entities::{memberships, tenants, users};
use crate::types::{TenantKind, TenantStatus};
use chrono::Duration;
use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, QueryFilter, Set};
use uuid::Uuid;

/// Every demo account that can sign in uses this password.
pub const DEMO_PASSWORD: &str = "Latchkey-demo-2026";

struct DemoUser {
    email: &'static str,
    username: Option<&'static str>,
    name: &'static str,
    /// (workspace, role key, status)
    access: &'static [(&'static str, &'static str, &'static str)],
}

const DEMO_USERS: &[DemoUser] = &[
    DemoUser {
        email: "admin@demo-msp.test",
        username: Some("ada"),
        name: "Ada Administrator",
        access: &[("admin", "administrator", "active")],
    },
    DemoUser {
        email: "support@demo-msp.test",
        username: Some("sam"),
        name: "Sam Support",
        access: &[("admin", "support", "active")],
    },
    DemoUser {
        email: "readonly@demo-msp.test",
        username: None,
        name: "Rita Readonly",
        access: &[("admin", "read_only", "active")],
    },
    DemoUser {
        email: "owner@acme.test",
        username: Some("alice"),
        name: "Alice Owner",
        access: &[("acme", "administrator", "active")],
    },
    DemoUser {
        email: "bob@acme.test",
        username: Some("bob"),
        name: "Bob Builder",
        access: &[("acme", "member", "active")],
    },
    DemoUser {
        email: "carol@acme.test",
        username: None,
        name: "Carol Pending",
        access: &[("acme", "member", "pending")],
    },
    DemoUser {
        email: "dave@acme.test",
        username: None,
        name: "Dave Locked",
        access: &[("acme", "member", "locked")],
    },
    DemoUser {
        email: "erin@acme.test",
        username: None,
        name: "Erin Cooldown",
        access: &[("acme", "member", "cooldown")],
    },
    DemoUser {
        email: "frank@acme.test",
        username: None,
        name: "Frank Disabled",
        access: &[("acme", "member", "disabled")],
    },
    DemoUser {
        email: "pat@partner.test",
        username: Some("pat"),
        name: "Pat Partner",
        access: &[("acme", "member", "active"), ("globex", "member", "active")],
    },
    DemoUser {
        email: "admin@globex.test",
        username: None,
        name: "Gina Globex",
        access: &[("globex", "administrator", "active")],
    },
    DemoUser {
        email: "ivy@initech.test",
        username: Some("ivy"),
        name: "Ivy Initech",
        access: &[("initech", "member", "active")],
    },
];

pub struct DemoSummary {
    pub created: bool,
    pub lines: Vec<String>,
}

/// Seeds the demo data once; a second run changes nothing and prints the same summary.
pub async fn seed(state: &AppState) -> Result<DemoSummary, AppError> {
    let now = state.clock.now();
    ensure_defaults(&state.db, now).await?;
    let already = tenants::Entity::find()
        .filter(tenants::Column::Slug.eq("acme"))
        .one(&state.db)
        .await
        .map_err(db_error)?
        .is_some();
    if !already {
        // Hash outside the transaction: SQLite allows one writer, and hashing takes a while.
        let mut hashes = Vec::new();
        for user in DEMO_USERS {
            let pending = user.access.iter().all(|(_, _, status)| *status == "pending");
            hashes.push(if pending {
                None
            } else {
                Some(state.hasher.hash(DEMO_PASSWORD).await?)
            });
        }
        let txn = super::begin(&state.db).await?;
        rename_operator(&txn, "Demo MSP", now).await?;
        let operator = operator(&txn).await?;
        let mut workspaces = vec![operator];
        for (slug, name, mode, mfa) in [
            ("acme", "Acme Corp", "password", false),
            ("globex", "Globex Inc", "sso", false),
            ("initech", "Initech", "password", true),
        ] {
            let tenant = tenants::ActiveModel {
                id: Set(Uuid::now_v7()),
                slug: Set(slug.into()),
                name: Set(name.into()),
                kind: Set(TenantKind::Customer.into()),
                sign_in_mode: Set(mode.into()),
                is_mfa_enforced: Set(mfa),
                policy_overrides: Set(serde_json::json!({})),
                status: Set(TenantStatus::Active.into()),
                sso_issuer: Set(None),
                sso_client_id: Set(None),
                sso_client_secret_enc: Set(None),
                sso_allowed_domains: Set(None),
                sso_jit_provisioning: Set(false),
                sso_requires_mfa: Set(true),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await
            .map_err(db_error)?;
            workspaces.push(tenant);
        }
        for (demo, hash) in DEMO_USERS.iter().zip(hashes) {
            let user = users::ActiveModel {
                id: Set(Uuid::now_v7()),
                email: Set(demo.email.into()),
                username: Set(demo.username.map(Into::into)),
                display_name: Set(demo.name.into()),
                secondary_email: Set(None),
                phone: Set(None),
                // As if set a while ago, so the 3-hour minimum age does not block trying recovery.
                password_changed_at: Set(hash.as_ref().map(|_| now - Duration::days(30))),
                password_hash: Set(hash),
                must_change_password: Set(false),
                created_at: Set(now),
                updated_at: Set(now),
            }
            .insert(&txn)
            .await
            .map_err(db_error)?;
            for (slug, role_key, status) in demo.access {
                let tenant = workspaces
                    .iter()
                    .find(|t| t.slug == *slug)
                    .ok_or_else(AppError::internal)?;
                let role = builtin_role(&txn, role_key).await?;
                memberships::ActiveModel {
                    id: Set(Uuid::now_v7()),
                    user_id: Set(user.id),
                    user_email: Set(user.email.clone()),
                    tenant_id: Set(tenant.id),
                    role_id: Set(role.id),
                    status: Set((*status).into()),
                    locked_reason: Set((*status == "locked").then(|| "Reported a lost laptop".into())),
                    locked_until: Set(None),
                    cooldown_until: Set((*status == "cooldown").then(|| now + Duration::hours(1))),
                    mfa_failed_attempts: Set(if *status == "cooldown" { 5 } else { 0 }),
                    mfa_enrollment_required: Set(false),
                    created_at: Set(now),
                    updated_at: Set(now),
                }
                .insert(&txn)
                .await
                .map_err(db_error)?;
            }
        }
        txn.commit().await.map_err(db_error)?;
    }
    Ok(DemoSummary {
        created: !already,
        lines: summary_lines(state),
    })
}

fn summary_lines(state: &AppState) -> Vec<String> {
    let url = |label: &str| state.config.workspace_url(label);
    let mut lines = vec![
        format!("Admin console   {}   (operator \"Demo MSP\")", url("admin")),
        format!("Acme Corp       {}   (password sign-in, MFA optional)", url("acme")),
        format!("Globex Inc      {}   (single sign-on)", url("globex")),
        format!(
            "Initech         {}   (password sign-in, MFA enforced: set up an authenticator at first sign-in)",
            url("initech")
        ),
        String::new(),
        format!("Demo sign-ins (password for all: {DEMO_PASSWORD}):"),
    ];
    for user in DEMO_USERS {
        let access: Vec<String> = user
            .access
            .iter()
            .map(|(slug, role, status)| format!("{slug}: {role}, {status}"))
            .collect();
        lines.push(format!("  {:<24} {}", user.email, access.join("; ")));
    }
    lines
}
