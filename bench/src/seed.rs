//! Fills a database for the list benchmarks with bulk inserts: TENANTS customer workspaces,
//! USERS people (one membership each, realistic statuses, roles and factors) and EVENTS
//! security events over 90 days. Run `latchkey demo` on the database first: it makes the
//! operator organisation and the built-in roles.
//!
//! Usage: `latchkey-bench seed DATABASE_URL USERS TENANTS EVENTS`

use app::domain::SupportReference;
use app::server::entities::{memberships, mfa_factors, roles, security_events, tenants, users};
use chrono::{Duration, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, TransactionTrait};
use std::time::Instant;
use uuid::Uuid;

const FIRST_NAMES: [&str; 16] = [
    "Ada", "Bob", "Carmen", "Dmitri", "Elif", "Farah", "Gustav", "Hana", "Ivan", "Jun", "Kemal", "Lena", "Mateo",
    "Nia", "Omar", "Priya",
];
const LAST_NAMES: [&str; 16] = [
    "Lovelace", "Builder", "Ortiz", "Volkov", "Yilmaz", "Haddad", "Berg", "Sato", "Petrov", "Park", "Demir", "Fischer",
    "Rossi", "Okafor", "Nasser", "Iyer",
];
/// Security event types and how often each occurs, per 100.
const EVENT_MIX: [(&str, u64); 8] = [
    ("sign_in", 55),
    ("login_failed", 20),
    ("invalid_code", 8),
    ("account_lock", 4),
    ("cooldown_activated", 3),
    ("password_reset", 4),
    ("mfa_enrolled", 4),
    ("totp_replay", 2),
];

/// A cheap deterministic mix, so two runs seed the same data.
fn mix(n: u64) -> u64 {
    let mut x = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

pub fn main(mut args: impl Iterator<Item = String>) {
    let mut next = |name: &str| args.next().unwrap_or_else(|| panic!("missing argument: {name}"));
    let url = next("DATABASE_URL");
    let users: u64 = next("USERS").parse().expect("USERS");
    let tenants: u64 = next("TENANTS").parse().expect("TENANTS");
    let events: u64 = next("EVENTS").parse().expect("EVENTS");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    if let Err(error) = runtime.block_on(seed(&url, users, tenants, events)) {
        eprintln!("seed: {error}");
        std::process::exit(1);
    }
}

/// The seeding connection. On SQLite, one connection with a 512 MiB page cache that does not
/// sync each commit: with the default 2 MiB cache every insert into the five million events'
/// indexes read pages back from the file (the events took 3,267 s, beside a build; with this,
/// 418 s on a quiet machine). A crash while seeding means seeding again: durability buys nothing.
async fn connect_for_seeding(url: &str) -> Result<sea_orm::DatabaseConnection, String> {
    let db = server::db::connect_and_migrate(url).await.map_err(err)?;
    if db.get_database_backend() != DbBackend::Sqlite {
        return Ok(db);
    }
    db.close().await.map_err(err)?;
    let mut options = sea_orm::ConnectOptions::new(url.to_owned());
    options.sqlx_logging(false).max_connections(1).min_connections(1);
    options.map_sqlx_sqlite_opts(|o| {
        o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Off)
            .pragma("cache_size", "-524288")
            .pragma("temp_store", "memory")
    });
    sea_orm::Database::connect(options).await.map_err(err)
}

async fn seed(url: &str, user_count: u64, tenant_count: u64, event_count: u64) -> Result<(), String> {
    let db = connect_for_seeding(url).await?;
    // Rows per INSERT: the bound parameters must stay under SQLite's 32,766 and PostgreSQL's 65,535.
    let chunk: u64 = match db.get_database_backend() {
        DbBackend::Sqlite => 2_000,
        _ => 4_000,
    };
    let builtin = roles::Entity::find()
        .filter(roles::Column::IsBuiltin.eq(true))
        .all(&db)
        .await
        .map_err(err)?;
    let role = |key: &str| {
        builtin
            .iter()
            .find(|r| r.key.as_deref() == Some(key))
            .map(|r| r.id)
            .ok_or_else(|| format!("no built-in role {key}: run `latchkey demo` on this database first"))
    };
    let (member, administrator, support) = (role("member")?, role("administrator")?, role("support")?);
    // One real argon2id hash for everybody: hashing a million passwords would take hours.
    let password_hash = app::server::passwords::hash_blocking("Bench-password-2026").map_err(err)?;
    let now = Utc::now();
    let started = Instant::now();

    let tenant_ids: Vec<Uuid> = (0..tenant_count).map(|_| Uuid::now_v7()).collect();
    let tenant_rows = tenant_ids.iter().enumerate().map(|(i, id)| tenants::ActiveModel {
        id: sea_orm::Set(*id),
        slug: sea_orm::Set(format!("bench-{i:05}")),
        name: sea_orm::Set(format!("Bench Company {i}")),
        kind: sea_orm::Set("customer".into()),
        sign_in_mode: sea_orm::Set("password".into()),
        is_mfa_enforced: sea_orm::Set(i.is_multiple_of(4)),
        policy_overrides: sea_orm::Set(serde_json::json!({})),
        status: sea_orm::Set("active".into()),
        sso_issuer: sea_orm::Set(None),
        sso_client_id: sea_orm::Set(None),
        sso_client_secret_enc: sea_orm::Set(None),
        sso_allowed_domains: sea_orm::Set(None),
        sso_jit_provisioning: sea_orm::Set(false),
        sso_requires_mfa: sea_orm::Set(true),
        created_at: sea_orm::Set(now),
        updated_at: sea_orm::Set(now),
    });
    tenants::Entity::insert_many(tenant_rows.collect::<Vec<_>>())
        .exec(&db)
        .await
        .map_err(err)?;
    let tenants_done = started.elapsed();

    let mut user_ids = Vec::with_capacity(user_count as usize);
    let mut start = 0;
    while start < user_count {
        let end = Ord::min(start + chunk, user_count);
        let txn = db.begin().await.map_err(err)?;
        let (mut people, mut members, mut factors) = (Vec::new(), Vec::new(), Vec::new());
        for n in start..end {
            let r = mix(n);
            let id = Uuid::now_v7();
            user_ids.push(id);
            let tenant = tenant_ids[(n % tenant_count) as usize];
            let (first, last) = (FIRST_NAMES[(r % 16) as usize], LAST_NAMES[((r >> 4) % 16) as usize]);
            let created = now - Duration::minutes((r % 525_600) as i64);
            // 84% active, 6% pending, 4% locked, 1% cooldown, 5% disabled.
            let (status, cooldown_until) = match (r >> 8) % 100 {
                0..=83 => ("active", None),
                84..=89 => ("pending", None),
                // Locked without an end, as Latchkey locks a membership (an administrator, or
                // three MFA cooldowns): a seeded end would pass an hour later and leave 40,000
                // rows stored as locked but read as Active, which no real use makes.
                90..=93 => ("locked", None),
                94 => ("active", Some(now + Duration::minutes(10))),
                _ => ("disabled", None),
            };
            let email = format!("{}.{}{n}@t{}.bench.test", first, last, n % tenant_count).to_lowercase();
            people.push(users::ActiveModel {
                id: sea_orm::Set(id),
                email: sea_orm::Set(email.clone()),
                username: sea_orm::Set(r.is_multiple_of(3).then(|| format!("{}{n}", first.to_lowercase()))),
                display_name: sea_orm::Set(format!("{first} {last} {n}")),
                secondary_email: sea_orm::Set(None),
                phone: sea_orm::Set(None),
                password_hash: sea_orm::Set((status != "pending").then(|| password_hash.clone())),
                password_changed_at: sea_orm::Set((status != "pending").then_some(created)),
                must_change_password: sea_orm::Set(false),
                created_at: sea_orm::Set(created),
                updated_at: sea_orm::Set(created),
            });
            let role_id = match (r >> 16) % 100 {
                0..=2 => administrator,
                3..=4 => support,
                _ => member,
            };
            members.push(memberships::ActiveModel {
                id: sea_orm::Set(Uuid::now_v7()),
                user_id: sea_orm::Set(id),
                user_email: sea_orm::Set(email),
                tenant_id: sea_orm::Set(tenant),
                role_id: sea_orm::Set(role_id),
                status: sea_orm::Set(status.into()),
                locked_reason: sea_orm::Set((status == "locked").then(|| "3 MFA cooldowns within 24 hours".into())),
                locked_until: sea_orm::Set(None),
                cooldown_until: sea_orm::Set(cooldown_until),
                mfa_failed_attempts: sea_orm::Set(0),
                mfa_enrollment_required: sea_orm::Set(false),
                created_at: sea_orm::Set(created),
                updated_at: sea_orm::Set(created),
            });
            // 40% have an authenticator app.
            if (r >> 24) % 10 < 4 && status != "pending" {
                factors.push(mfa_factors::ActiveModel {
                    id: sea_orm::Set(Uuid::now_v7()),
                    user_id: sea_orm::Set(id),
                    kind: sea_orm::Set("totp".into()),
                    label: sea_orm::Set("Authenticator app".into()),
                    // Not a usable secret: nobody signs in with a seeded factor.
                    secret_enc: sea_orm::Set(Some(r.to_le_bytes().to_vec())),
                    phone: sea_orm::Set(None),
                    last_used_step: sea_orm::Set(None),
                    confirmed_at: sea_orm::Set(Some(created)),
                    created_at: sea_orm::Set(created),
                    enrolled_tenant_id: sea_orm::Set(Some(tenant)),
                });
            }
        }
        users::Entity::insert_many(people).exec(&txn).await.map_err(err)?;
        memberships::Entity::insert_many(members)
            .exec(&txn)
            .await
            .map_err(err)?;
        if !factors.is_empty() {
            mfa_factors::Entity::insert_many(factors)
                .exec(&txn)
                .await
                .map_err(err)?;
        }
        txn.commit().await.map_err(err)?;
        start = end;
        if start % 100_000 < chunk {
            eprintln!("seed: {start} users ({:.0} s)", started.elapsed().as_secs_f64());
        }
    }
    let users_done = started.elapsed();

    let event_chunk = chunk;
    let mut start = 0;
    while start < event_count {
        let end = Ord::min(start + event_chunk, event_count);
        let txn = db.begin().await.map_err(err)?;
        let rows: Vec<_> = (start..end)
            .map(|n| {
                let r = mix(n ^ 0xE7E7);
                let mut pick = r % 100;
                let event_type = EVENT_MIX
                    .iter()
                    .find(|(_, share)| {
                        let hit = pick < *share;
                        pick = pick.saturating_sub(*share);
                        hit
                    })
                    .map_or("sign_in", |(t, _)| t);
                let user = user_ids[((r >> 8) % user_ids.len() as u64) as usize];
                // An odd multiplier is a bijection modulo 2^40: references never collide.
                let reference = SupportReference::from_bits(n.wrapping_mul(0x9E37_79B9_7F4B) & 0xFF_FFFF_FFFF);
                security_events::ActiveModel {
                    id: sea_orm::Set(Uuid::now_v7()),
                    reference: sea_orm::Set(reference.as_str().to_owned()),
                    event_type: sea_orm::Set(event_type.into()),
                    user_id: sea_orm::Set(Some(user)),
                    tenant_id: sea_orm::Set(Some(tenant_ids[(r % tenant_count) as usize])),
                    identifier: sea_orm::Set(None),
                    occurred_at: sea_orm::Set(now - Duration::seconds((r >> 20) as i64 % (90 * 86_400))),
                    ip: sea_orm::Set(Some(format!("10.{}.{}.{}", r % 256, (r >> 8) % 256, (r >> 16) % 256))),
                    user_agent: sea_orm::Set(Some("Mozilla/5.0 (bench)".into())),
                    detail: sea_orm::Set(None),
                }
            })
            .collect();
        security_events::Entity::insert_many(rows)
            .exec(&txn)
            .await
            .map_err(err)?;
        txn.commit().await.map_err(err)?;
        start = end;
        if start % 1_000_000 < event_chunk {
            eprintln!("seed: {start} events ({:.0} s)", started.elapsed().as_secs_f64());
        }
    }
    let total = started.elapsed();
    // What the delivery worker does in service, once rather than for every chunk.
    app::server::services::directory::compact_membership_counts(&db)
        .await
        .map_err(|e| format!("{e:?}"))?;
    // Fresh planner statistics, as a database in service has: without them PostgreSQL plans
    // the lists for an empty table.
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        // The fold above deleted a row per membership and wrote the folded rows after them, so
        // a plain VACUUM cannot shrink the file: the all-workspaces counts then read 66 MB for
        // 4,008 rows (15 ms). A service that imports users in bulk needs the same.
        db.execute_unprepared("VACUUM FULL membership_counts")
            .await
            .map_err(err)?;
    }
    // On PostgreSQL also a VACUUM, as autovacuum would do in service: it moves the search
    // indexes' pending entries (GIN's fast-update list, unsorted) into the index proper. Without
    // it the all-workspaces search read that list on every query (33 ms; 7 ms after).
    let analyze = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => "VACUUM ANALYZE",
        _ => "ANALYZE",
    };
    db.execute_unprepared(analyze).await.map_err(err)?;
    let json = serde_json::json!({
        "tenants": tenant_count,
        "users": user_count,
        "events": event_count,
        "tenants_s": tenants_done.as_secs_f64(),
        "users_s": (users_done - tenants_done).as_secs_f64(),
        "events_s": (total - users_done).as_secs_f64(),
        "users_per_s": user_count as f64 / (users_done - tenants_done).as_secs_f64(),
        "events_per_s": event_count as f64 / (total - users_done).as_secs_f64().max(1e-9),
    });
    println!(
        "seeded {tenant_count} tenants, {user_count} users (with memberships and factors) in {:.1} s, {event_count} security events in {:.1} s",
        (users_done - tenants_done).as_secs_f64(),
        (total - users_done).as_secs_f64()
    );
    println!("{json}");
    Ok(())
}
