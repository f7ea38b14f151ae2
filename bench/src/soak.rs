//! Soak with a database outage: mixed REST traffic spread over several `latchkey serve`
//! processes on one PostgreSQL, which is stopped and started again midway. Reports what the
//! clients saw second by second, what `/readyz` said, how long recovery took, and checks that
//! every write answered before, during and after the outage is still there.
//!
//! Usage (bench/soak.sh sets this up with a private PostgreSQL):
//! `latchkey-bench soak BINARY DATABASE_URL SECONDS PROCESSES OUTAGE_SECONDS "PG STOP" "PG START"`

use crate::serve::{Serve, free_port, tenant_id, wait_ready};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENTS: usize = 12;

fn run(binary: &PathBuf, database_url: &str, args: &[&str]) -> Result<String, String> {
    let output = Command::new(binary)
        .args(args)
        .env("LATCHKEY_DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .output()
        .map_err(|e| e.to_string())?;
    if !output.status.success() {
        return Err(format!(
            "latchkey {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

fn shell(command: &str) -> Result<(), String> {
    let status = Command::new("sh")
        .args(["-c", command])
        .stdout(Stdio::null())
        .status()
        .map_err(|e| e.to_string())?;
    status
        .success()
        .then_some(())
        .ok_or_else(|| format!("`{command}` failed"))
}

/// One second of what the clients saw.
#[derive(Default, Clone, Copy)]
struct Second {
    ok: u32,
    unavailable: u32,
    other_5xx: u32,
    other: u32,
    refused: u32,
    slowest_ms: u32,
}

#[derive(Default)]
struct Observed {
    seconds: BTreeMap<u64, Second>,
    /// Invites answered 201: (email, user id, second).
    written: Vec<(String, String, u64)>,
    /// Error codes in 503 bodies.
    unavailable_codes: BTreeMap<String, u32>,
    /// `/readyz` per process: (second, status).
    ready: Vec<Vec<(f64, u16)>>,
}

async fn client_loop(
    client_index: usize,
    ports: Vec<u16>,
    token: String,
    tenant_id: String,
    started: Instant,
    until: Duration,
    observed: Arc<Mutex<Observed>>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .expect("client");
    let mut n = 0usize;
    while started.elapsed() < until {
        n += 1;
        let port = ports[(client_index + n) % ports.len()];
        let base = format!("http://127.0.0.1:{port}/api/v1");
        let email = format!("soak-{client_index}-{n}@soak.example.test");
        let request = match n % 4 {
            0 => http.get(format!("{base}/users/me")),
            1 => http.get(format!("{base}/users?tenantId={tenant_id}")),
            2 => http.get(format!("{base}/audit")),
            _ => http.post(format!("{base}/users")).json(
                &json!({ "email": email, "displayName": format!("Soak {client_index} {n}"), "tenantId": tenant_id }),
            ),
        };
        let sent = Instant::now();
        let result = request.bearer_auth(&token).send().await;
        let second = started.elapsed().as_secs();
        let elapsed_ms = sent.elapsed().as_millis() as u32;
        let mut written = None;
        let mut code = None;
        let status = match result {
            Ok(response) => {
                let status = response.status().as_u16();
                let body: Value = response.json().await.unwrap_or(Value::Null);
                if status == 201 {
                    written = Some((email, body["userId"].as_str().unwrap_or_default().to_owned()));
                } else if status == 503 {
                    code = Some(body["error"]["code"].as_str().unwrap_or("(no code)").to_owned());
                }
                Some(status)
            }
            Err(_) => None,
        };
        let mut observed = observed.lock().unwrap();
        let bucket = observed.seconds.entry(second).or_default();
        bucket.slowest_ms = bucket.slowest_ms.max(elapsed_ms);
        match status {
            Some(200..=299) => bucket.ok += 1,
            Some(503) => bucket.unavailable += 1,
            Some(500..=599) => bucket.other_5xx += 1,
            Some(_) => bucket.other += 1,
            None => bucket.refused += 1,
        }
        if let Some((email, id)) = written {
            observed.written.push((email, id, second));
        }
        if let Some(code) = code {
            *observed.unavailable_codes.entry(code).or_default() += 1;
        }
    }
}

async fn readiness_loop(index: usize, port: u16, started: Instant, until: Duration, observed: Arc<Mutex<Observed>>) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    while started.elapsed() < until {
        let status = http
            .get(format!("http://127.0.0.1:{port}/readyz"))
            .send()
            .await
            .map_or(0, |r| r.status().as_u16());
        observed.lock().unwrap().ready[index].push((started.elapsed().as_secs_f64(), status));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub fn main(mut args: impl Iterator<Item = String>) {
    let mut next = |name: &str| args.next().unwrap_or_else(|| panic!("missing argument: {name}"));
    let binary = PathBuf::from(next("BINARY"));
    let database_url = next("DATABASE_URL");
    let seconds: u64 = next("SECONDS").parse().expect("SECONDS");
    let processes: usize = next("PROCESSES").parse().expect("PROCESSES");
    let outage: u64 = next("OUTAGE_SECONDS").parse().expect("OUTAGE_SECONDS");
    let (pg_stop, pg_start) = (next("PG STOP"), next("PG START"));

    run(&binary, &database_url, &["demo"]).expect("demo data");
    let token = run(
        &binary,
        &database_url,
        &["token", "create", "--email", "admin@demo-msp.test"],
    )
    .expect("token")
    .trim()
    .to_owned();
    let ports: Vec<u16> = (0..processes).map(|_| free_port()).collect();
    let _fleet: Vec<Serve> = ports
        .iter()
        .map(|port| Serve::start(&binary, &database_url, *port))
        .collect();

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async move {
        let http = reqwest::Client::new();
        for port in &ports {
            wait_ready(&http, *port).await;
        }
        let tenant_id = tenant_id(&http, ports[0], &token, "acme").await;

        let observed = Arc::new(Mutex::new(Observed {
            ready: vec![Vec::new(); processes],
            ..Default::default()
        }));
        let started = Instant::now();
        let until = Duration::from_secs(seconds);
        let mut tasks = Vec::new();
        for c in 0..CLIENTS {
            tasks.push(tokio::spawn(client_loop(
                c,
                ports.clone(),
                token.clone(),
                tenant_id.clone(),
                started,
                until,
                observed.clone(),
            )));
        }
        for (i, port) in ports.iter().enumerate() {
            tasks.push(tokio::spawn(readiness_loop(i, *port, started, until, observed.clone())));
        }

        tokio::time::sleep(Duration::from_secs(seconds / 2)).await;
        let stopped_at = started.elapsed().as_secs_f64();
        tokio::task::spawn_blocking(move || shell(&pg_stop))
            .await
            .unwrap()
            .expect("stop PostgreSQL");
        tokio::time::sleep(Duration::from_secs(outage)).await;
        tokio::task::spawn_blocking(move || shell(&pg_start))
            .await
            .unwrap()
            .expect("start PostgreSQL");
        let back_at = started.elapsed().as_secs_f64();
        for task in tasks {
            task.await.unwrap();
        }

        // Every write that was answered 201 must still be readable, from any process.
        let observed = Arc::try_unwrap(observed).ok().unwrap().into_inner().unwrap();
        let mut lost = Vec::new();
        for (i, (email, id, _)) in observed.written.iter().enumerate() {
            let port = ports[i % ports.len()];
            let found = http
                .get(format!("http://127.0.0.1:{port}/api/v1/users/{id}"))
                .bearer_auth(&token)
                .send()
                .await
                .ok()
                .filter(|r| r.status() == 200);
            let email_matches = match found {
                Some(response) => response
                    .json::<Value>()
                    .await
                    .ok()
                    .is_some_and(|u| u["email"] == email.as_str()),
                None => false,
            };
            if !email_matches {
                lost.push(email.clone());
            }
        }
        report(&observed, processes, stopped_at, back_at, &lost);
    });
}

fn report(observed: &Observed, processes: usize, stopped_at: f64, back_at: f64, lost: &[String]) {
    println!("second  2xx  503  other-5xx  other  refused  slowest-ms");
    for (second, s) in &observed.seconds {
        let mark = if (*second as f64) + 1.0 > stopped_at && (*second as f64) < back_at {
            "  <- PostgreSQL down"
        } else {
            ""
        };
        println!(
            "{second:>6} {:>4} {:>4} {:>10} {:>6} {:>8} {:>11}{mark}",
            s.ok, s.unavailable, s.other_5xx, s.other, s.refused, s.slowest_ms
        );
    }
    let total = |f: fn(&Second) -> u32| observed.seconds.values().map(f).sum::<u32>();
    // Per process: when /readyz first said 503 after the stop, and when it said 200 again.
    let mut readiness = Vec::new();
    for (i, samples) in observed.ready.iter().enumerate() {
        let first_unready = samples.iter().find(|(t, s)| *t >= stopped_at && *s != 200).map(|p| p.0);
        let ready_again = samples.iter().find(|(t, s)| *t >= back_at && *s == 200).map(|p| p.0);
        let recovery = ready_again.map(|t| t - back_at);
        println!(
            "process {i}: /readyz not ready {} s after the stop, ready again {} s after the start",
            first_unready.map_or("never".into(), |t| format!("{:.1}", t - stopped_at)),
            recovery.map_or("never".into(), |t| format!("{t:.1}")),
        );
        readiness.push(json!({ "process": i, "unready_after_stop_s": first_unready.map(|t| t - stopped_at), "ready_after_start_s": recovery }));
    }
    let last_failure = observed
        .seconds
        .iter()
        .filter(|(_, s)| s.unavailable + s.other_5xx + s.refused > 0)
        .map(|(second, _)| *second)
        .max();
    println!(
        "PostgreSQL stopped at {stopped_at:.1} s, started at {back_at:.1} s; last failed request in second {}",
        last_failure.map_or("-".into(), |s| s.to_string())
    );
    println!(
        "requests: {} ok, {} answered 503 (codes {:?}), {} other 5xx, {} other, {} refused connections",
        total(|s| s.ok),
        total(|s| s.unavailable),
        observed.unavailable_codes,
        total(|s| s.other_5xx),
        total(|s| s.other),
        total(|s| s.refused)
    );
    println!(
        "writes answered 201: {}, of them lost: {}",
        observed.written.len(),
        lost.len()
    );
    let json = json!({
        "processes": processes,
        "postgres_stopped_at_s": stopped_at,
        "postgres_started_at_s": back_at,
        "ok": total(|s| s.ok),
        "unavailable_503": total(|s| s.unavailable),
        "unavailable_codes": observed.unavailable_codes,
        "other_5xx": total(|s| s.other_5xx),
        "other": total(|s| s.other),
        "refused": total(|s| s.refused),
        "last_failed_second": last_failure,
        "readiness": readiness,
        "writes": observed.written.len(),
        "writes_lost": lost.len(),
    });
    println!("{json}");
    if !lost.is_empty() || total(|s| s.other_5xx) > 0 {
        std::process::exit(1);
    }
}
