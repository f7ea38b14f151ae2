use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use std::time::Duration;

/// Connects and brings the schema up to date. The migrations are the schema's only source.
pub async fn connect_and_migrate(url: &str) -> Result<DatabaseConnection, DbErr> {
    let db = connect(url).await?;
    Migrator::up(&db, None).await?;
    Ok(db)
}

pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    // sqlx pings every connection it hands out by default: a round trip before each query. Only
    // a connection that sat idle a while may have been dropped by the server or a proxy; one
    // dropped while busy fails its query as unreachable (503) and is discarded.
    options
        .sqlx_logging(false)
        .test_before_acquire_if_idle_for(Duration::from_secs(30));
    if url.starts_with("sqlite:") {
        // One file, many readers, one writer: a small pool, and writers wait for each other
        // instead of failing with "database is locked".
        options
            .max_connections(8)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10));
        options.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
        });
    } else {
        // While PostgreSQL is down every connection attempt fails at once and sqlx retries until
        // this timeout: a short one turns an outage into quick 503s instead of hung requests.
        options
            .max_connections(32)
            .min_connections(2)
            .acquire_timeout(Duration::from_secs(3));
        // sqlx prepares every statement once per connection; after five runs PostgreSQL may
        // switch a statement to one generic plan for all parameters. The users list's best plan
        // depends on them (the LIMIT, the status, the cursor): the generic plan of a first page
        // assumes a tenth of the table and starts parallel workers (20 ms instead of 4; a status
        // filter 88 ms instead of 3, at a million users). Planning each run costs well under a
        // millisecond.
        options.map_sqlx_postgres_opts(|o| o.options([("plan_cache_mode", "force_custom_plan")]));
    }
    Database::connect(options).await
}
