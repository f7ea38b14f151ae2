//! The users search goes through an index on both databases, and that index follows every
//! insert, change and deletion of a user.

use crate::helpers::*;
use app::server::entities::{memberships, mfa_factors, roles, tenants, users};
use app::server::services::directory::{SearchReach, compact_membership_counts, release_ended_holds, user_search};
use app::server::services::users::{new_account, new_membership};
use reqwest::Method;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QueryTrait, Set, Statement,
};
use std::collections::{HashMap, HashSet};

async fn search(app: &TestApp, token: &str, q: &str) -> Vec<String> {
    search_in(app, token, None, q).await
}

/// A search of every workspace, or of one (which PostgreSQL answers from another index).
async fn search_in(app: &TestApp, token: &str, tenant_id: Option<uuid::Uuid>, q: &str) -> Vec<String> {
    let scope = tenant_id.map(|id| format!("&tenantId={id}")).unwrap_or_default();
    let q = reqwest::Url::parse_with_params("http://search.invalid/", [("q", q)]).unwrap();
    let q = q.query().unwrap();
    let answer = api_call(app, Method::GET, token, &format!("/users?{q}&limit=200{scope}"), None).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let mut emails: Vec<String> = answer.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    emails.sort();
    emails.dedup();
    emails
}

/// The query plan of the search condition, across workspaces or in one, as the database explains
/// it. With `tenant` the workspace's own filter and the list's order are added; without it, the
/// point is which index serves the text (in a test's few rows PostgreSQL would rather walk the
/// workspace's btree).
async fn plan(app: &TestApp, q: &str, reach: SearchReach, tenant: Option<uuid::Uuid>) -> String {
    let db = &app.state.db;
    let backend = db.get_database_backend();
    let search = user_search(backend, Some(q), reach).unwrap().unwrap();
    let statement = match reach {
        SearchReach::AllWorkspaces => users::Entity::find().filter(search.condition).build(backend),
        SearchReach::OneWorkspace { .. } => {
            let mut select = memberships::Entity::find()
                .inner_join(users::Entity)
                .filter(search.condition);
            if let Some(tenant) = tenant {
                select = select
                    .filter(memberships::Column::TenantId.eq(tenant))
                    .order_by_asc(memberships::Column::UserEmail)
                    .order_by_asc(memberships::Column::Id);
            }
            select.build(backend)
        }
    };
    let values = statement.values.clone().map(|v| v.0).unwrap_or_default();
    let explain =
        |prefix: &str| Statement::from_sql_and_values(backend, format!("{prefix} {}", statement.sql), values.clone());
    match backend {
        DbBackend::Sqlite => {
            let rows = db.query_all_raw(explain("EXPLAIN QUERY PLAN")).await.unwrap();
            rows.iter()
                .map(|r| r.try_get_by_index::<String>(3).unwrap())
                .collect::<Vec<_>>()
                .join("\n")
        }
        _ => {
            // A handful of rows is cheaper to scan; forbid that to see which index it would take.
            let txn = sea_orm::TransactionTrait::begin(db).await.unwrap();
            txn.execute_unprepared("SET LOCAL enable_seqscan = off").await.unwrap();
            let rows = txn.query_all_raw(explain("EXPLAIN")).await.unwrap();
            rows.iter()
                .map(|r| r.try_get_by_index::<String>(0).unwrap())
                .collect::<Vec<_>>()
                .join("\n")
        }
    }
}

#[tokio::test]
async fn user_search_uses_an_index_that_follows_every_change() {
    let app = spawn_app().await;
    let admin = api_token(&app, "admin@demo-msp.test", "admin").await;
    let acme = app.tenant_id("acme").await;

    let everywhere = plan(&app, "quill", SearchReach::AllWorkspaces, None).await;
    let one_workspace = plan(&app, "quill", SearchReach::OneWorkspace { small: false }, None).await;
    match app.state.db.get_database_backend() {
        DbBackend::Sqlite => {
            assert!(everywhere.contains("VIRTUAL TABLE INDEX"), "{everywhere}");
            assert!(one_workspace.contains("VIRTUAL TABLE INDEX"), "{one_workspace}");
            // A small workspace is compared row by row, from the index that carries the text.
            let small = plan(&app, "quill", SearchReach::OneWorkspace { small: true }, Some(acme)).await;
            assert!(
                small.contains("idx_memberships_tenant_email_search") && !small.contains("VIRTUAL TABLE"),
                "{small}"
            );
        }
        _ => {
            assert!(
                everywhere.contains("users_email_trgm") && everywhere.contains("users_display_name_trgm"),
                "{everywhere}"
            );
            assert!(
                one_workspace.contains("idx_memberships_tenant_search"),
                "{one_workspace}"
            );
        }
    }

    // Demo users were indexed by the migration; a new one by the insert trigger.
    assert_eq!(search(&app, &admin, "BUILDER").await, ["bob@acme.test"]);
    assert_eq!(search_in(&app, &admin, Some(acme), "BUILDER").await, ["bob@acme.test"]);
    assert_eq!(search(&app, &admin, "quill").await, Vec::<String>::new());
    let invite = serde_json::json!({ "email": "zq@acme.test", "displayName": "Zelda Quill", "tenantId": acme });
    assert_eq!(
        api_call(&app, Method::POST, &admin, "/users", Some(invite))
            .await
            .status,
        201
    );
    assert_eq!(search(&app, &admin, "quill").await, ["zq@acme.test"]);
    assert_eq!(search_in(&app, &admin, Some(acme), "quill").await, ["zq@acme.test"]);
    assert_eq!(search_in(&app, &admin, Some(acme), "zq@").await, ["zq@acme.test"]);
    assert_eq!(
        search(&app, &admin, "ZELDA Q").await,
        ["zq@acme.test"],
        "case and spaces"
    );
    assert_eq!(
        search(&app, &admin, "\"quill").await,
        Vec::<String>::new(),
        "quotes are literal"
    );

    // A change of name or email moves the entry.
    let zelda = users::Entity::find()
        .filter(users::Column::Email.eq("zq@acme.test"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap();
    let mut renamed: users::ActiveModel = zelda.into();
    renamed.display_name = Set("Zelda Featherstone".into());
    renamed.email = Set("zf@acme.test".into());
    let renamed = renamed.update(&app.state.db).await.unwrap();
    assert_eq!(search(&app, &admin, "quill").await, Vec::<String>::new());
    assert_eq!(search(&app, &admin, "feather").await, ["zf@acme.test"]);
    assert_eq!(search(&app, &admin, "zf@").await, ["zf@acme.test"]);
    assert_eq!(search_in(&app, &admin, Some(acme), "quill").await, Vec::<String>::new());
    assert_eq!(search_in(&app, &admin, Some(acme), "zq@").await, Vec::<String>::new());
    assert_eq!(search_in(&app, &admin, Some(acme), "feather").await, ["zf@acme.test"]);
    assert_eq!(search_in(&app, &admin, Some(acme), "zf@").await, ["zf@acme.test"]);
    // A username alone changes it too; a match never spans two fields.
    let mut named: users::ActiveModel = renamed.into();
    named.username = Set(Some("zeldaf".into()));
    named.update(&app.state.db).await.unwrap();
    assert_eq!(search_in(&app, &admin, Some(acme), "zeldaf").await, ["zf@acme.test"]);
    assert_eq!(
        search_in(&app, &admin, Some(acme), "zeldafzel").await,
        Vec::<String>::new()
    );

    // Deleted, gone from the index too.
    let deleted = api_call(&app, Method::DELETE, &admin, "/users/by-email/zf@acme.test", None).await;
    assert!(deleted.status < 300, "{}", deleted.body);
    assert_eq!(search(&app, &admin, "feather").await, Vec::<String>::new());
    if app.state.db.get_database_backend() == DbBackend::Sqlite {
        let db = &app.state.db;
        let mut counts = Vec::new();
        for sql in ["SELECT count(*) FROM users_search", "SELECT count(*) FROM users"] {
            let row = db
                .query_one_raw(Statement::from_string(DbBackend::Sqlite, sql))
                .await
                .unwrap()
                .unwrap();
            counts.push(row.try_get_by_index::<i64>(0).unwrap());
        }
        assert_eq!(counts[0], counts[1], "no entry without its user");
    }

    // Two characters are too few for a trigram index: still found, by comparing every row.
    assert!(
        search(&app, &admin, "pa")
            .await
            .contains(&"pat@partner.test".to_owned())
    );
}

/// Names are matched in any case, in any alphabet: SQLite's own `lower()` and `LIKE` fold only
/// ASCII letters, so a search that does not go through the trigram table must not rely on them.
#[tokio::test]
async fn names_outside_ascii_are_found_in_either_case() {
    let app = spawn_app().await;
    let admin = api_token(&app, "admin@demo-msp.test", "admin").await;
    let acme = app.tenant_id("acme").await;
    for (email, name) in [("eu@acme.test", "Élodie Ünal"), ("so@acme.test", "Σοφία Öztürk")] {
        let invite = serde_json::json!({ "email": email, "displayName": name, "tenantId": acme });
        let answer = api_call(&app, Method::POST, &admin, "/users", Some(invite)).await;
        assert_eq!(answer.status, 201, "{}", answer.body);
    }

    for q in ["élodie", "ÉLODIE", "ünal", "ÜNAL", "Él", "Ün", "e ü"] {
        assert_eq!(search(&app, &admin, q).await, ["eu@acme.test"], "every workspace, {q}");
        assert_eq!(
            search_in(&app, &admin, Some(acme), q).await,
            ["eu@acme.test"],
            "acme, {q}"
        );
    }
    for q in ["σοφία", "ΣΟΦΊΑ", "öz", "ÖZTÜRK", "Σ"] {
        assert_eq!(search(&app, &admin, q).await, ["so@acme.test"], "every workspace, {q}");
        assert_eq!(
            search_in(&app, &admin, Some(acme), q).await,
            ["so@acme.test"],
            "acme, {q}"
        );
    }
    // Letters are not confused with others, and pattern characters stay literal.
    for q in ["elodie", "unal", "é*", "[é]", "ü?", "%ü"] {
        assert_eq!(
            search(&app, &admin, q).await,
            Vec::<String>::new(),
            "every workspace, {q}"
        );
        assert_eq!(
            search_in(&app, &admin, Some(acme), q).await,
            Vec::<String>::new(),
            "acme, {q}"
        );
    }
}

/// What a users list filter keeps: the membership, its user, and whether the user has a
/// confirmed second factor.
type Keep = Box<dyn Fn(&memberships::Model, &users::Model, bool) -> bool>;

/// The status counts every list page shows, counted the slow way: each kept membership's status
/// in effect now.
async fn counted(app: &TestApp, tenant_id: Option<uuid::Uuid>, keep: &Keep) -> serde_json::Value {
    let db = &app.state.db;
    let users: HashMap<uuid::Uuid, users::Model> = users::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|u| (u.id, u))
        .collect();
    let enrolled: HashSet<uuid::Uuid> = mfa_factors::Entity::find()
        .filter(mfa_factors::Column::ConfirmedAt.is_not_null())
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|f| f.user_id)
        .collect();
    let mut counts = app::types::StatusCounts::default();
    let now = app::server::Clock::now(&app.clock);
    for membership in memberships::Entity::find().all(db).await.unwrap() {
        let user = &users[&membership.user_id];
        if tenant_id.is_none_or(|id| id == membership.tenant_id) && keep(&membership, user, enrolled.contains(&user.id))
        {
            counts.add(membership.status_at(now), 1);
        }
    }
    serde_json::to_value(counts).unwrap()
}

fn contains(user: &users::Model, text: &str) -> bool {
    user.email.contains(text)
        || user.username.as_deref().is_some_and(|u| u.contains(text))
        || user.display_name.to_lowercase().contains(text)
}

async fn member_role(app: &TestApp) -> uuid::Uuid {
    roles::Entity::find()
        .filter(roles::Column::Key.eq("member"))
        .one(&app.state.db)
        .await
        .unwrap()
        .unwrap()
        .id
}

/// Every scope's counts, unfiltered (read from `membership_counts`) and with each filter that
/// makes them counted instead: the MFA states, a role, and searches that take the index (three
/// characters or more) and that do not.
async fn assert_counts_hold(app: &TestApp, token: &str, when: &str) {
    let db = &app.state.db;
    let tenants: Vec<uuid::Uuid> = tenants::Entity::find()
        .all(db)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    let member = member_role(app).await;
    let filters: Vec<(String, Keep)> = vec![
        (String::new(), Box::new(|_, _, _| true)),
        ("&mfa=enrolled".into(), Box::new(|_, _, enrolled| enrolled)),
        ("&mfa=not_enrolled".into(), Box::new(|_, _, enrolled| !enrolled)),
        (
            format!("&roleId={member}"),
            Box::new(move |m, _, _| m.role_id == member),
        ),
        ("&q=acme".into(), Box::new(|_, u, _| contains(u, "acme"))),
        ("&q=ar".into(), Box::new(|_, u, _| contains(u, "ar"))),
    ];
    for scope in std::iter::once(None).chain(tenants.into_iter().map(Some)) {
        for (filter, keep) in &filters {
            let path = match scope {
                Some(id) => format!("/users?tenantId={id}&limit=1{filter}"),
                None => format!("/users?limit=1{filter}"),
            };
            let page = api_call(app, Method::GET, token, &path, None).await;
            assert_eq!(page.status, 200, "{}", page.body);
            assert_eq!(page.body["counts"], counted(app, scope, keep).await, "{when}: {path}");
        }
    }
}

#[tokio::test]
async fn stored_status_counts_follow_every_change_and_survive_folding() {
    let app = spawn_app().await;
    let admin = api_token(&app, "admin@demo-msp.test", "admin").await;
    let acme = app.tenant_id("acme").await;
    let bob = app.user_id("bob@acme.test").await;
    let dave = app.user_id("dave@acme.test").await;
    // Bob has a confirmed authenticator; Dave one he never confirmed, which the MFA filter ignores.
    let now = app::server::Clock::now(&app.clock);
    for (user_id, confirmed_at) in [(bob, Some(now)), (dave, None)] {
        mfa_factors::ActiveModel {
            id: Set(uuid::Uuid::now_v7()),
            user_id: Set(user_id),
            kind: Set("totp".into()),
            label: Set("Authenticator app".into()),
            secret_enc: Set(None),
            phone: Set(None),
            last_used_step: Set(None),
            confirmed_at: Set(confirmed_at),
            created_at: Set(now),
            enrolled_tenant_id: Set(Some(acme)),
        }
        .insert(&app.state.db)
        .await
        .unwrap();
    }
    assert_counts_hold(&app, &admin, "as migrated").await;

    let invite = serde_json::json!({ "email": "new@acme.test", "displayName": "New Person", "tenantId": acme });
    let invited = api_call(&app, Method::POST, &admin, "/users", Some(invite)).await;
    assert_eq!(invited.status, 201, "{}", invited.body);
    let body = Some(serde_json::json!({ "tenantId": acme }));
    let locked = api_call(&app, Method::POST, &admin, &format!("/users/{bob}/lock"), body.clone()).await;
    assert_eq!(locked.status, 200, "{}", locked.body);
    let unlocked = api_call(&app, Method::POST, &admin, &format!("/users/{dave}/unlock"), body).await;
    assert_eq!(unlocked.status, 200, "{}", unlocked.body);
    let removed = api_call(&app, Method::DELETE, &admin, "/users/by-email/frank@acme.test", None).await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    let created = api_call(
        &app,
        Method::POST,
        &admin,
        "/tenants",
        Some(serde_json::json!({ "name": "Brief", "slug": "brief" })),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_counts_hold(&app, &admin, "changes not folded yet").await;

    // The MFA filter follows factors confirmed, moved and removed, and new memberships.
    let db = &app.state.db;
    let factors = mfa_factors::Entity::find().all(db).await.unwrap();
    let factor_of = |user| factors.iter().find(|f| f.user_id == user).unwrap().clone();
    let mut confirmed: mfa_factors::ActiveModel = factor_of(dave).into();
    confirmed.confirmed_at = Set(Some(now));
    confirmed.update(db).await.unwrap();
    assert_counts_hold(&app, &admin, "a factor confirmed").await;
    let brief = app.tenant_id("brief").await;
    let dave_account = users::Entity::find_by_id(dave).one(db).await.unwrap().unwrap();
    new_membership(
        (&dave_account, brief),
        member_role(&app).await,
        app::types::MembershipStatus::Active,
        now,
    )
    .insert(db)
    .await
    .unwrap();
    assert_counts_hold(&app, &admin, "a member with a factor joined").await;
    mfa_factors::Entity::delete_by_id(factor_of(bob).id)
        .exec(db)
        .await
        .unwrap();
    assert_counts_hold(&app, &admin, "a factor removed").await;
    let mut moved: mfa_factors::ActiveModel = factor_of(dave).into();
    moved.user_id = Set(bob);
    moved.update(db).await.unwrap();
    assert_counts_hold(&app, &admin, "a factor moved to another user").await;

    compact_membership_counts(&app.state.db).await.unwrap();
    compact_membership_counts(&app.state.db).await.unwrap();
    assert_counts_hold(&app, &admin, "folded").await;
    let backend = app.state.db.get_database_backend();
    let rows = app
        .state
        .db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*), COUNT(DISTINCT tenant_id || status) FROM membership_counts WHERE NOT pending",
        ))
        .await
        .unwrap();
    let (all, groups): (i64, i64) = (
        rows[0].try_get_by_index(0).unwrap(),
        rows[0].try_get_by_index(1).unwrap(),
    );
    assert_eq!(all, groups, "one folded row per workspace and status");

    // Ends that pass move lockouts and cooldowns to Active without a write. A lock with an end
    // is not one Latchkey writes (an earlier version's, or a seeded one); a cooldown is.
    let db = &app.state.db;
    let acme_members = memberships::Entity::find()
        .filter(memberships::Column::TenantId.eq(acme))
        .filter(memberships::Column::Status.eq("active"))
        .all(db)
        .await
        .unwrap();
    let (timed_lock, running) = (&acme_members[0], &acme_members[1]);
    let mut lock: memberships::ActiveModel = timed_lock.clone().into();
    lock.status = Set("locked".into());
    lock.locked_reason = Set(Some("Too many attempts".into()));
    lock.locked_until = Set(Some(now + chrono::Duration::hours(1)));
    lock.update(db).await.unwrap();
    app.clock.advance(chrono::Duration::days(2));
    let later = app::server::Clock::now(&app.clock);
    let mut cooldown: memberships::ActiveModel = running.clone().into();
    cooldown.status = Set("cooldown".into());
    cooldown.cooldown_until = Set(Some(later + chrono::Duration::hours(1)));
    cooldown.update(db).await.unwrap();
    assert_counts_hold(&app, &admin, "after the lockouts ended").await;
    let ended = || {
        memberships::Entity::find()
            .filter(memberships::ended_hold(later))
            .count(db)
    };
    let ended_before = ended().await.unwrap();
    assert!(
        ended_before >= 2,
        "the demo's cooldown and the timed lock have ended: {ended_before}"
    );

    let released = release_ended_holds(db, later).await.unwrap();
    assert_eq!(released, ended_before);
    assert_eq!(ended().await.unwrap(), 0);
    assert_eq!(
        release_ended_holds(db, later).await.unwrap(),
        0,
        "nothing is left to release"
    );
    let unlocked = memberships::Entity::find_by_id(timed_lock.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (unlocked.status.as_str(), unlocked.locked_until, unlocked.locked_reason),
        ("active", None, None)
    );
    let still = memberships::Entity::find_by_id(running.id)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(still.status, "cooldown", "a running cooldown is kept");
    assert_counts_hold(&app, &admin, "ended holds released").await;
    compact_membership_counts(db).await.unwrap();
    assert_counts_hold(&app, &admin, "ended holds released and folded").await;
}

/// Every page of `path`, followed through `nextCursor`: the emails in order.
async fn all_pages(app: &TestApp, token: &str, path: &str) -> Vec<String> {
    let mut emails = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page_path = match &cursor {
            Some(c) => format!("{path}&cursor={c}"),
            None => path.to_owned(),
        };
        let page = api_call(app, Method::GET, token, &page_path, None).await;
        assert_eq!(page.status, 200, "{page_path}: {}", page.body);
        for user in page.body["users"].as_array().unwrap() {
            emails.push(user["email"].as_str().unwrap().to_owned());
        }
        match page.body["nextCursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return emails,
        }
    }
}

/// On SQLite the stored counts choose the plan (a common status walks the email index, a small
/// workspace is searched row by row); whichever is taken, the rows are exactly those of the
/// slow way, in order, across pages.
#[tokio::test]
async fn lists_answer_the_same_rows_whichever_plan_the_counts_choose() {
    let app = spawn_app().await;
    let admin = api_token(&app, "admin@demo-msp.test", "admin").await;
    let db = &app.state.db;
    let workspaces = tenants::Entity::find().all(db).await.unwrap();
    let member = app::server::entities::roles::Entity::find()
        .filter(app::server::entities::roles::Column::Key.eq("member"))
        .one(db)
        .await
        .unwrap()
        .unwrap();
    let now = app::server::Clock::now(&app.clock);
    // Locked is most of the memberships now: n² > (page + 1) × total picks the email walk.
    for n in 0..120u32 {
        let user = new_account(&format!("held{n:03}@plan.test"), None, format!("Held Person {n}"), now)
            .insert(db)
            .await
            .unwrap();
        let workspace = workspaces[n as usize % workspaces.len()].id;
        let mut held = new_membership((&user, workspace), member.id, app::types::MembershipStatus::Locked, now);
        held.locked_reason = Set(Some("too_many_failures".into()));
        // Every third lockout has ended: stored Locked, in effect Active.
        held.locked_until = Set(Some(if n % 3 == 0 {
            now - chrono::Duration::minutes(1)
        } else {
            now + chrono::Duration::hours(1)
        }));
        held.insert(db).await.unwrap();
    }
    let memberships = memberships::Entity::find()
        .find_also_related(users::Entity)
        .all(db)
        .await
        .unwrap();
    let slow_way = |status: app::types::MembershipStatus, tenant: Option<uuid::Uuid>, text: &str| {
        let mut emails: Vec<String> = memberships
            .iter()
            .filter(|(m, _)| m.status_at(now) == status && tenant.is_none_or(|t| t == m.tenant_id))
            .filter_map(|(_, u)| u.as_ref())
            .filter(|u| {
                u.email.contains(text)
                    || u.username.as_deref().is_some_and(|name| name.contains(text))
                    || u.display_name.to_lowercase().contains(text)
            })
            .map(|u| u.email.clone())
            .collect();
        emails.sort();
        emails
    };
    use app::types::MembershipStatus::{Active, Locked, Pending};
    let locked = all_pages(&app, &admin, "/users?status=locked&limit=7").await;
    assert!(locked.len() > 80, "the 80 held now and the demo's");
    assert_eq!(locked, slow_way(Locked, None, ""));
    let active = all_pages(&app, &admin, "/users?status=active&limit=7").await;
    assert_eq!(active, slow_way(Active, None, ""));

    let acme = app.tenant_id("acme").await;
    // In one workspace a status with n² ≤ (page + 1) × members is read from the status index and
    // sorted, a commoner one found by walking the email index: small and large pages take both.
    for status in [Locked, Active, Pending] {
        for limit in [3, 20] {
            let path = format!("/users?tenantId={acme}&status={status}&limit={limit}");
            assert_eq!(
                all_pages(&app, &admin, &path).await,
                slow_way(status, Some(acme), ""),
                "{path}"
            );
        }
    }
    for text in ["held", "builder", "person 1"] {
        for status in [Locked, Active] {
            let path = format!(
                "/users?tenantId={acme}&status={status}&q={}&limit=3",
                text.replace(' ', "%20")
            );
            assert_eq!(
                all_pages(&app, &admin, &path).await,
                slow_way(status, Some(acme), text),
                "{path}"
            );
        }
    }
}

/// A generic plan of the users list is slow (it assumes a tenth of the table behind any
/// LIMIT), so every PostgreSQL connection of the pool plans each statement with its values.
#[tokio::test]
async fn postgresql_connections_plan_each_statement_with_its_values() {
    let app = spawn_app().await;
    let db = &app.state.db;
    if db.get_database_backend() != DbBackend::Postgres {
        return;
    }
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, "SHOW plan_cache_mode"))
        .await
        .unwrap()
        .unwrap();
    let mode: String = row.try_get("", "plan_cache_mode").unwrap();
    assert_eq!(mode, "force_custom_plan");
}
