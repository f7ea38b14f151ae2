//! The admin console's server functions over HTTP: lists, one user, roles, the row actions,
//! tenants and logs, each with the permission check of its service.

use crate::helpers::*;
use app::api::*;
use app::types::{
    AuditPage, BulkResults, EventPage, MembershipStatus, RoleSummary, TenantSummary, UserDetail, UserPage,
};

async fn console(app: &TestApp, email: &str) -> Browser {
    let browser = app.browser("admin");
    browser.sign_in(email, DEMO_PASSWORD).await.unwrap();
    browser
}

#[tokio::test]
async fn lists_one_user_and_roles() {
    let app = spawn_app().await;
    let admin = console(&app, "admin@demo-msp.test").await;
    let acme = app.tenant_id("acme").await.to_string();
    let page: UserPage = admin
        .call::<ListUsers, _>(&[
            ("query[tenantId]", &acme),
            ("query[q]", "acme.test"),
            ("query[status]", "active"),
        ])
        .await
        .unwrap();
    let emails: Vec<_> = page.users.iter().map(|u| u.email.as_str()).collect();
    assert_eq!(emails, ["bob@acme.test", "owner@acme.test"]);
    assert_eq!(page.counts.total(), 6, "pat matches on neither: partner.test");
    let (status, _) = admin
        .call::<ListUsers, UserPage>(&[("query[limit]", "0")])
        .await
        .unwrap_err();
    assert_eq!(status, 422);

    let bob = app.user_id("bob@acme.test").await.to_string();
    let detail: UserDetail = admin.call::<GetUser, _>(&[("user_id", &bob)]).await.unwrap();
    assert_eq!(detail.memberships[0].status, MembershipStatus::Active);
    assert_eq!(detail.memberships[0].role_name, "Member");

    let roles: Vec<RoleSummary> = admin.call::<ListRoles, _>(&[("tenant_id", &acme)]).await.unwrap();
    let names: Vec<_> = roles.iter().map(|r| r.name.as_str()).collect();
    assert!(names.contains(&"Member") && names.contains(&"Administrator"));
    let member = roles.iter().find(|r| r.name == "Member").unwrap();
    assert_eq!(member.member_count, Some(6));
    // The role filter and the Change Role dialog ask for the names alone.
    let named: Vec<RoleSummary> = admin
        .call::<ListRoles, _>(&[("tenant_id", acme.as_str()), ("member_counts", "false")])
        .await
        .unwrap();
    assert_eq!(
        named.iter().map(|r| (r.id, r.member_count)).collect::<Vec<_>>(),
        roles.iter().map(|r| (r.id, None)).collect::<Vec<_>>()
    );

    // A tenant admin on their own host sees their tenant only.
    let owner = app.browser("acme");
    owner.sign_in("owner@acme.test", DEMO_PASSWORD).await.unwrap();
    let own: UserPage = owner.call::<ListUsers, _>(&[]).await.unwrap();
    assert!(own.users.iter().all(|u| u.tenant_slug == "acme"));
    let globex = app.tenant_id("globex").await.to_string();
    let (status, _) = owner
        .call::<ListUsers, UserPage>(&[("query[tenantId]", &globex)])
        .await
        .unwrap_err();
    assert_eq!(status, 404);
    let (status, _) = app.browser("acme").call::<ListUsers, UserPage>(&[]).await.unwrap_err();
    assert_eq!(status, 401);
}

#[tokio::test]
async fn row_actions_check_permissions_and_write_audit_rows() {
    let app = spawn_app().await;
    let acme = app.tenant_id("acme").await.to_string();
    let id = |email: &'static str| {
        let app = &app;
        async move { app.user_id(email).await.to_string() }
    };
    let (bob, dave, erin, frank) = (
        id("bob@acme.test").await,
        id("dave@acme.test").await,
        id("erin@acme.test").await,
        id("frank@acme.test").await,
    );
    let support = console(&app, "support@demo-msp.test").await;
    let readonly = console(&app, "readonly@demo-msp.test").await;

    let (status, _) = readonly
        .call::<LockAccount, ()>(&[("user_id", &bob), ("tenant_id", &acme), ("reason", "x")])
        .await
        .unwrap_err();
    assert_eq!(status, 403);
    let () = support
        .call::<LockAccount, _>(&[("user_id", &bob), ("tenant_id", &acme), ("reason", "phishing report")])
        .await
        .unwrap();
    let () = support
        .call::<UnlockAccount, _>(&[("user_id", &dave), ("tenant_id", &acme)])
        .await
        .unwrap();
    let () = support
        .call::<ResetCooldown, _>(&[("user_id", &erin), ("tenant_id", &acme)])
        .await
        .unwrap();
    let () = support
        .call::<EnableAccess, _>(&[("user_id", &frank), ("tenant_id", &acme)])
        .await
        .unwrap();
    let (status, again) = support
        .call::<EnableAccess, ()>(&[("user_id", &frank), ("tenant_id", &acme)])
        .await
        .unwrap_err();
    assert_eq!(status, 409, "{again:?}");
    let (status, _) = support
        .call::<DisableAccess, ()>(&[("user_id", &frank), ("tenant_id", &acme)])
        .await
        .unwrap_err();
    assert_eq!(status, 403, "support may not disable access");
    let () = console(&app, "admin@demo-msp.test")
        .await
        .call::<DisableAccess, _>(&[("user_id", &frank), ("tenant_id", &acme)])
        .await
        .unwrap();
    for action in [
        "user.locked",
        "user.unlocked",
        "user.cooldown_reset",
        "user.access_enabled",
        "user.access_disabled",
    ] {
        assert_eq!(audited(&app, action).await, 1, "{action}");
    }

    let results: BulkResults = support
        .call::<ResetMfa, _>(&[
            ("user_ids[0]", &bob),
            ("user_ids[1]", &dave),
            ("tenant_id", &acme),
            ("level", "user"),
        ])
        .await
        .unwrap();
    // Support may reset; with no factor to reset, each row says so and nothing happens.
    assert!(
        results
            .results
            .iter()
            .all(|r| r.result == "skipped" && r.message.contains("nothing to reset")),
        "{results:?}"
    );
    let (status, _) = support
        .call::<ResetMfa, BulkResults>(&[("tenant_id", &acme), ("level", "user")])
        .await
        .unwrap_err();
    assert!(matches!(status, 400 | 422));

    // Change Role: Support may not; an Administrator may, to a role the workspace allows.
    let roles: Vec<RoleSummary> = support.call::<ListRoles, _>(&[("tenant_id", &acme)]).await.unwrap();
    let admin_role = roles.iter().find(|r| r.name == "Administrator").unwrap().id.to_string();
    let (status, _) = support
        .call::<ChangeRole, ()>(&[("user_id", &bob), ("tenant_id", &acme), ("role_id", &admin_role)])
        .await
        .unwrap_err();
    assert_eq!(status, 403, "Support cannot change roles");
    let admin = console(&app, "admin@demo-msp.test").await;
    let () = admin
        .call::<ChangeRole, _>(&[("user_id", &bob), ("tenant_id", &acme), ("role_id", &admin_role)])
        .await
        .unwrap();
    assert_eq!(audited(&app, "user.role_changed").await, 1);
    let all: Vec<RoleSummary> = admin.call::<ListRoles, _>(&[]).await.unwrap();
    let member_id = all.iter().find(|r| r.name == "Member").unwrap().id.to_string();
    let me = app.user_id("support@demo-msp.test").await.to_string();
    let operator = app.tenant_id("admin").await.to_string();
    let (status, _) = admin
        .call::<ChangeRole, ()>(&[("user_id", &me), ("tenant_id", &operator), ("role_id", &member_id)])
        .await
        .unwrap_err();
    assert_eq!(status, 422, "Member is a tenant role");
    let own = app.user_id("admin@demo-msp.test").await.to_string();
    let (status, _) = admin
        .call::<ChangeRole, ()>(&[("user_id", &own), ("tenant_id", &operator), ("role_id", &admin_role)])
        .await
        .unwrap_err();
    assert_eq!(status, 409, "not your own role");
}

#[tokio::test]
async fn tenants_and_logs_from_the_console() {
    let app = spawn_app().await;
    let admin = console(&app, "admin@demo-msp.test").await;
    let created: TenantSummary = admin
        .call::<CreateTenant, _>(&[("name", "Hooli"), ("slug", "hooli"), ("is_mfa_enforced", "true")])
        .await
        .unwrap();
    assert!(created.is_mfa_enforced);
    let (status, _) = admin
        .call::<CreateTenant, TenantSummary>(&[("name", "Hooli again"), ("slug", "hooli")])
        .await
        .unwrap_err();
    assert_eq!(status, 409);
    let id = created.id.to_string();
    let off: TenantSummary = admin
        .call::<SetTenantMfa, _>(&[("tenant_id", &id), ("is_mfa_enforced", "false")])
        .await
        .unwrap();
    assert!(!off.is_mfa_enforced);
    let tenants: Vec<TenantSummary> = admin.call::<ListTenants, _>(&[]).await.unwrap();
    assert!(tenants.iter().any(|t| t.slug == "hooli"));
    // The member counts are the stored ones; they agree with a count of the memberships.
    for tenant in &tenants {
        use app::server::entities::memberships;
        use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
        let members = memberships::Entity::find()
            .filter(memberships::Column::TenantId.eq(tenant.id))
            .count(&app.state.db)
            .await
            .unwrap();
        assert_eq!(tenant.member_count, members, "{}", tenant.slug);
    }
    let acme = tenants.iter().find(|t| t.slug == "acme").unwrap();
    assert!(acme.member_count > 1);
    let one: TenantSummary = admin
        .call::<GetTenant, _>(&[("tenant_id", &acme.id.to_string())])
        .await
        .unwrap();
    assert_eq!(&one, acme);

    let events: EventPage = admin.call::<ListEvents, _>(&[]).await.unwrap();
    assert!(
        events
            .events
            .iter()
            .any(|e| e.event_type == app::types::SecurityEventType::SignIn)
    );
    let audit: AuditPage = admin
        .call::<ListAudit, _>(&[("query[action]", "tenant.created")])
        .await
        .unwrap();
    assert_eq!(audit.entries.len(), 1);
    assert_eq!(audit.entries[0].actor_email.as_deref(), Some("admin@demo-msp.test"));

    let support = console(&app, "support@demo-msp.test").await;
    let (status, _) = support
        .call::<CreateTenant, TenantSummary>(&[("name", "Nope"), ("slug", "nope")])
        .await
        .unwrap_err();
    assert_eq!(status, 403);
}
