//! Response times of the users lists and the MFA error log over HTTP, against a database that
//! `latchkey-bench seed` filled: one workspace and all, first page and a deep keyset page, with
//! search and filters. Prints p50 and p95 per case and a JSON line.
//!
//! Usage: `latchkey-bench lists BINARY DATABASE_URL`

use crate::load::percentile;
use crate::serve::{PeakRss, Serve, api_token, free_port, rss_kib, tenant_id, wait_ready};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Instant;

const SAMPLES: usize = 30;
/// Pages followed through `nextCursor` before timing the deep page.
const DEEP_PAGES: usize = 40;

pub fn main(mut args: impl Iterator<Item = String>) {
    let mut next = |name: &str| args.next().unwrap_or_else(|| panic!("missing argument: {name}"));
    let binary = PathBuf::from(next("BINARY"));
    let database_url = next("DATABASE_URL");
    let token = api_token(&binary, &database_url);
    let port = free_port();
    let server = Serve::start(&binary, &database_url, port);
    let pid = server.pid();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let http = reqwest::Client::new();
        let api = format!("http://127.0.0.1:{port}/api/v1");
        let get = |path: String| {
            let request = http.get(format!("{api}{path}")).bearer_auth(&token);
            async move {
                let response = request.send().await.expect("request");
                let status = response.status();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                assert!(status.is_success(), "{status}: {body}");
                body
            }
        };
        wait_ready(&http, port).await;
        let tenant = tenant_id(&http, port, &token, "bench-00000").await;
        // The deep page: follow the cursor of the all-workspaces list.
        let mut cursor = String::new();
        for _ in 0..DEEP_PAGES {
            let page = get(format!("/users?limit=50&cursor={cursor}")).await;
            cursor = page["nextCursor"].as_str().unwrap_or_default().to_owned();
        }
        let week_ago = (chrono::Utc::now() - chrono::Duration::days(7)).to_rfc3339();
        let week_ago = week_ago.replace('+', "%2B");
        let cases: Vec<(&str, String)> = vec![
            ("one workspace, first page", format!("/users?tenantId={tenant}")),
            (
                "one workspace, search 'lovelace'",
                format!("/users?tenantId={tenant}&q=lovelace"),
            ),
            (
                "one workspace, locked with MFA",
                format!("/users?tenantId={tenant}&status=locked&mfa=enrolled"),
            ),
            ("all workspaces, first page", "/users".into()),
            ("all workspaces, search 'volkov1234'", "/users?q=volkov1234".into()),
            ("all workspaces, status locked", "/users?status=locked".into()),
            (
                "all workspaces, deep keyset page",
                format!("/users?limit=50&cursor={cursor}"),
            ),
            ("MFA error log, first page", "/events".into()),
            (
                "MFA error log, invalid codes, last 7 days",
                format!("/events?type=invalid_code&from={week_ago}"),
            ),
            (
                "MFA error log, one workspace, lockouts",
                format!("/events?type=account_lock&tenantId={tenant}"),
            ),
        ];
        println!("{:<44} {:>9} {:>9}", "list", "p50 ms", "p95 ms");
        let mut figures = Vec::new();
        for (name, path) in cases {
            for _ in 0..3 {
                get(path.clone()).await;
            }
            let mut samples = Vec::with_capacity(SAMPLES);
            for _ in 0..SAMPLES {
                let started = Instant::now();
                get(path.clone()).await;
                samples.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            samples.sort_by(f64::total_cmp);
            let (p50, p95) = (percentile(&samples, 0.5), percentile(&samples, 0.95));
            println!("{name:<44} {p50:>9.1} {p95:>9.1}");
            figures.push(json!({ "list": name, "p50_ms": p50, "p95_ms": p95 }));
        }
        let export = if std::env::var_os("BENCH_SKIP_EXPORT").is_some() {
            Value::Null
        } else {
            export_csv(&http, &api, &token, pid).await
        };
        println!("{}", json!({ "lists": figures, "csv_export": export }));
    });
}

/// `GET /api/v1/users.csv` of every workspace, read to the end: rows per second and how far
/// the server's resident memory grew meanwhile (it streams, a page at a time).
async fn export_csv(http: &reqwest::Client, api: &str, token: &str, pid: u32) -> Value {
    let before = rss_kib(pid).unwrap_or(0);
    let peak = PeakRss::sample(pid);
    let started = Instant::now();
    let mut answer = http
        .get(format!("{api}/users.csv"))
        .bearer_auth(token)
        .send()
        .await
        .expect("export");
    assert!(answer.status().is_success(), "{}", answer.status());
    let (mut lines, mut bytes) = (0u64, 0u64);
    while let Some(chunk) = answer.chunk().await.expect("export body") {
        lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        bytes += chunk.len() as u64;
    }
    let seconds = started.elapsed().as_secs_f64();
    let peak = peak.finish().await;
    let rows = lines.saturating_sub(1);
    let growth_mb = peak.saturating_sub(before) as f64 / 1024.0;
    println!(
        "CSV export of every user: {rows} rows, {:.0} MB in {seconds:.1} s = {:.0} rows/s; server RSS {:.1} MB before, grew {growth_mb:.1} MB at most",
        bytes as f64 / 1e6,
        rows as f64 / seconds,
        before as f64 / 1024.0
    );
    json!({ "rows": rows, "bytes": bytes, "seconds": seconds, "rows_per_s": rows as f64 / seconds,
            "rss_before_kib": before, "rss_growth_mb": growth_mb })
}
