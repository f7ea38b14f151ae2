//! Runs every migration up, down and up again, on SQLite (always) and on PostgreSQL (when
//! `LATCHKEY_TEST_PG_URL` is set, e.g. `postgres://postgres@127.0.0.1:5432`; the test creates and
//! drops a database with a random name there).

use migration::{Migrator, MigratorTrait, SchemaManager};
use sea_orm_migration::sea_orm::{ConnectionTrait, Database, DatabaseConnection, DbBackend};

const TABLES: &[&str] = &[
    "tenants",
    "roles",
    "users",
    "memberships",
    "mfa_factors",
    "recovery_codes",
    "one_time_secrets",
    "sessions",
    "sign_in_throttles",
    "security_events",
    "audit_log",
    "outbox",
    "api_tokens",
    "instance_secrets",
    "send_throttles",
    "reset_requests",
];

async fn assert_tables(db: &DatabaseConnection, present: bool) {
    let manager = SchemaManager::new(db);
    for table in TABLES {
        assert_eq!(
            manager.has_table(*table).await.unwrap(),
            present,
            "table {table} present = {}",
            !present
        );
    }
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
            db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// Portable inserts (string literals cast implicitly on PostgreSQL), then checks the defaults
/// and the ON DELETE actions.
async fn exercise(db: &DatabaseConnection) {
    let t = "11111111-1111-4111-8111-111111111111";
    let r = "22222222-2222-4222-8222-222222222222";
    let u = "33333333-3333-4333-8333-333333333333";
    let admin = "44444444-4444-4444-8444-444444444444";
    let now = "2026-11-23 10:00:00+00:00";
    for sql in [
        format!(
            "INSERT INTO tenants (id, slug, name, kind, policy_overrides, status, created_at, updated_at) \
             VALUES ('{t}', 'acme', 'Acme', 'customer', '{{}}', 'active', '{now}', '{now}')"
        ),
        format!(
            "INSERT INTO roles (id, tenant_id, key, name, scope, permissions, created_at) \
             VALUES ('{r}', NULL, 'member', 'Member', 'tenant', '[]', '{now}')"
        ),
        format!(
            "INSERT INTO users (id, email, display_name, created_at, updated_at) \
             VALUES ('{u}', 'ann@example.com', 'Ann', '{now}', '{now}')"
        ),
        format!(
            "INSERT INTO users (id, email, display_name, created_at, updated_at) \
             VALUES ('{admin}', 'root@example.com', 'Root', '{now}', '{now}')"
        ),
        format!(
            "INSERT INTO memberships (id, user_id, user_email, tenant_id, role_id, status, created_at, updated_at) \
             VALUES ('55555555-5555-4555-8555-555555555555', '{u}', 'ann@example.com', '{t}', '{r}', 'active', '{now}', '{now}')"
        ),
        format!(
            "INSERT INTO sessions (id, token_hash, user_id, tenant_id, created_at, last_seen_at, \
             idle_expires_at, absolute_expires_at, impersonator_user_id) \
             VALUES ('66666666-6666-4666-8666-666666666666', 'h1', '{u}', '{t}', '{now}', '{now}', '{now}', '{now}', '{admin}')"
        ),
        format!(
            "INSERT INTO security_events (id, reference, event_type, user_id, tenant_id, occurred_at) \
             VALUES ('77777777-7777-4777-8777-777777777777', '7F3K-Q2M9', 'login_failed', '{u}', '{t}', '{now}')"
        ),
        format!(
            "INSERT INTO audit_log (id, actor_user_id, action, target_type, occurred_at) \
             VALUES ('88888888-8888-4888-8888-888888888888', '{admin}', 'user.lock', 'user', '{now}')"
        ),
        format!(
            "INSERT INTO sign_in_throttles (key, tenant_id, updated_at) \
             VALUES ('u:{t}:ann@example.com', '{t}', '{now}')"
        ),
    ] {
        db.execute_unprepared(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    // Defaults.
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM tenants WHERE sign_in_mode = 'password' AND is_mfa_enforced = false"
        )
        .await,
        1
    );
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM memberships WHERE mfa_failed_attempts = 0").await,
        1
    );
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM sign_in_throttles WHERE failures = 0 AND in_flight = 0 AND lock_count = 0"
        )
        .await,
        1
    );

    // A changed email reaches the user's memberships, the users list's sort key.
    db.execute_unprepared(&format!(
        "UPDATE users SET email = 'ann.new@example.com' WHERE id = '{u}'"
    ))
    .await
    .unwrap();
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM memberships WHERE user_email = 'ann.new@example.com'"
        )
        .await,
        1
    );

    // One membership per user and tenant.
    assert!(
        db.execute_unprepared(&format!(
            "INSERT INTO memberships (id, user_id, tenant_id, role_id, status, created_at, updated_at) \
             VALUES ('99999999-9999-4999-8999-999999999999', '{u}', '{t}', '{r}', 'active', '{now}', '{now}')"
        ))
        .await
        .is_err()
    );
    // A role in use cannot be deleted.
    assert!(
        db.execute_unprepared(&format!("DELETE FROM roles WHERE id = '{r}'"))
            .await
            .is_err()
    );

    // Deleting the impersonator deletes the impersonation session, and nulls the audit actor.
    db.execute_unprepared(&format!("DELETE FROM users WHERE id = '{admin}'"))
        .await
        .unwrap();
    assert_eq!(count(db, "SELECT COUNT(*) FROM sessions").await, 0);
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM audit_log WHERE actor_user_id IS NULL").await,
        1
    );

    // Deleting the user cascades to memberships and nulls the event's user.
    db.execute_unprepared(&format!("DELETE FROM users WHERE id = '{u}'"))
        .await
        .unwrap();
    assert_eq!(count(db, "SELECT COUNT(*) FROM memberships").await, 0);
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM security_events WHERE user_id IS NULL").await,
        1
    );

    // Deleting the tenant removes its custom roles (and their memberships) together.
    db.execute_unprepared(&format!(
        "INSERT INTO users (id, email, display_name, created_at, updated_at) \
         VALUES ('{u}', 'ann@example.com', 'Ann', '{now}', '{now}')"
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO roles (id, tenant_id, name, scope, permissions, created_at) \
         VALUES ('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', '{t}', 'Custom', 'tenant', '[]', '{now}')"
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO memberships (id, user_id, tenant_id, role_id, status, created_at, updated_at) \
         VALUES ('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', '{u}', '{t}', \
         'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', 'pending', '{now}', '{now}')"
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!("DELETE FROM tenants WHERE id = '{t}'"))
        .await
        .unwrap();
    assert_eq!(count(db, "SELECT COUNT(*) FROM roles").await, 1);
    assert_eq!(count(db, "SELECT COUNT(*) FROM memberships").await, 0);
}

/// Memberships made before the `membership_email` migration get their user's email from it.
async fn backfills_membership_emails(db: &DatabaseConnection) {
    let before = Migrator::migrations()
        .iter()
        .position(|m| m.name().ends_with("_membership_email"))
        .expect("the membership_email migration") as u32;
    Migrator::up(db, Some(before))
        .await
        .expect("up to the one before membership_email");
    let now = "2026-11-23 10:00:00+00:00";
    for sql in [
        format!(
            "INSERT INTO tenants (id, slug, name, kind, policy_overrides, status, created_at, updated_at) \
             VALUES ('c1111111-1111-4111-8111-111111111111', 'old', 'Old', 'customer', '{{}}', 'active', '{now}', '{now}')"
        ),
        format!(
            "INSERT INTO roles (id, tenant_id, key, name, scope, permissions, created_at) \
             VALUES ('c2222222-2222-4222-8222-222222222222', NULL, 'old', 'Old', 'tenant', '[]', '{now}')"
        ),
        format!(
            "INSERT INTO users (id, email, display_name, created_at, updated_at) \
             VALUES ('c3333333-3333-4333-8333-333333333333', 'old@example.com', 'Old', '{now}', '{now}')"
        ),
        format!(
            "INSERT INTO memberships (id, user_id, tenant_id, role_id, status, created_at, updated_at) \
             VALUES ('c5555555-5555-4555-8555-555555555555', 'c3333333-3333-4333-8333-333333333333', \
             'c1111111-1111-4111-8111-111111111111', 'c2222222-2222-4222-8222-222222222222', 'active', '{now}', '{now}')"
        ),
    ] {
        db.execute_unprepared(&sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    Migrator::up(db, None).await.expect("the last migration");
    assert_eq!(
        count(
            db,
            "SELECT COUNT(*) FROM memberships WHERE user_email = 'old@example.com'"
        )
        .await,
        1
    );
    for sql in [
        "DELETE FROM users WHERE id = 'c3333333-3333-4333-8333-333333333333'",
        "DELETE FROM tenants WHERE id = 'c1111111-1111-4111-8111-111111111111'",
        "DELETE FROM roles WHERE id = 'c2222222-2222-4222-8222-222222222222'",
    ] {
        db.execute_unprepared(sql).await.unwrap();
    }
}

async fn up_down_up(db: &DatabaseConnection) {
    backfills_membership_emails(db).await;
    assert_tables(db, true).await;
    assert!(Migrator::get_pending_migrations(db).await.unwrap().is_empty());
    exercise(db).await;

    Migrator::down(db, None).await.expect("down");
    assert_tables(db, false).await;
    assert_eq!(Migrator::get_applied_migrations(db).await.unwrap().len(), 0);

    Migrator::up(db, None).await.expect("second up");
    assert_tables(db, true).await;
    exercise(db).await;
}

#[tokio::test]
async fn sqlite_up_down_up() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("latchkey.db").display());
    let db = Database::connect(&url).await.unwrap();
    assert_eq!(db.get_database_backend(), DbBackend::Sqlite);
    up_down_up(&db).await;
    db.close().await.unwrap();
}

#[tokio::test]
async fn postgres_up_down_up() {
    let Ok(base) = std::env::var("LATCHKEY_TEST_PG_URL") else {
        eprintln!("LATCHKEY_TEST_PG_URL not set: PostgreSQL migration test skipped");
        return;
    };
    let base = base.trim_end_matches('/').to_owned();

    // A random name without a random-number crate: time, pid and std's random hasher keys.
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.write_u32(std::process::id());
    let name = format!("latchkey_test_{:016x}", h.finish());

    let admin = Database::connect(format!("{base}/postgres")).await.unwrap();
    admin
        .execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();

    let db = Database::connect(format!("{base}/{name}")).await.unwrap();
    assert_eq!(db.get_database_backend(), DbBackend::Postgres);
    let result = tokio::spawn({
        let db = db.clone();
        async move { up_down_up(&db).await }
    })
    .await;
    db.close().await.unwrap();

    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name}"))
        .await
        .unwrap();
    admin.close().await.unwrap();

    if let Err(e) = result {
        std::panic::resume_unwind(e.into_panic());
    }
}
