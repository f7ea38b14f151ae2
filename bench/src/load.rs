//! Sign-in at the hashing limit: wrk (Debian's package) drives correct-password sign-ins over
//! loopback while this process times cheap requests (`GET /api/v1/users/me` and a users-list
//! page) and samples the server's resident memory. Prints the figures and a JSON line.
//!
//! Usage: `latchkey-bench load BINARY DATABASE_URL [SECONDS]`, on a database that
//! `latchkey-bench seed` filled. `sign_in_load` is also what the scale-out run drives through
//! nginx.

use crate::serve::{CpuTicks, PeakRss, Serve, api_token, free_port, rss_kib, tenant_id, wait_ready};
use app::api::SignIn;
use leptos::server_fn::ServerFn;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The seeded workspace the load signs in to: bench-00001 does not enforce MFA, so a correct
/// password ends in a session.
pub const WORKSPACE: &str = "bench-00001";
pub const PASSWORD: &str = "Bench-password-2026";
/// Open connections of the load (`BENCH_SIGNIN_CONNECTIONS`, default 8): no more than the
/// hashing queue of one process holds (2 running and 8 waiting on 2 cores). With 16, the
/// overflow's 429s come back at once, thousands a second, and take the CPU from the hashing.
fn connections() -> usize {
    std::env::var("BENCH_SIGNIN_CONNECTIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(8)
}

pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// What wrk reported for one run of sign-ins.
#[derive(Debug, Clone)]
pub struct SignInLoad {
    pub per_second: f64,
    pub statuses: Vec<(u16, u64)>,
    pub socket_errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// The body of the first answer other than 200 each wrk thread saw.
    pub refusals: Vec<String>,
}

impl SignInLoad {
    pub fn count(&self, status: u16) -> u64 {
        self.statuses.iter().filter(|(s, _)| *s == status).map(|(_, n)| n).sum()
    }

    /// Answers that are neither a session nor the designed 429.
    pub fn unexpected(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| *s != 200 && *s != 429)
            .map(|(_, n)| n)
            .sum::<u64>()
            + self.socket_errors
    }

    pub fn to_json(&self) -> Value {
        json!({
            "per_s": self.per_second,
            "statuses": self.statuses.iter().map(|(s, n)| (s.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
            "socket_errors": self.socket_errors,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "refusals": self.refusals,
        })
    }
}

/// The wrk script: each request signs a different account of `emails` in, with its own
/// device, and the answers are counted by status across wrk's threads.
fn wrk_script(emails: &[String], host: &str) -> String {
    let list = emails
        .iter()
        .map(|e| format!("\"{}\"", e.replace('@', "%40")))
        .collect::<Vec<_>>()
        .join(",");
    format!(
        r#"local emails = {{{list}}}
local threads = {{}}
local counter = 0
-- A global, not a local: done() reads each thread's copy through thread:get.
statuses = {{}}
function setup(thread)
  counter = counter + 1
  thread:set("offset", counter * 7919)
  table.insert(threads, thread)
end
function init(args)
  n = offset
  statuses = {{}}
end
function request()
  n = n + 1
  local body = "identifier=" .. emails[(n % #emails) + 1] .. "&password={PASSWORD}"
  return wrk.format("POST", "{path}", {{["Host"] = "{host}", ["Content-Type"] = "application/x-www-form-urlencoded"}}, body)
end
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status ~= 200 and not shown then
    shown = true
    io.write(string.format("refused %d %s\n", status, body))
  end
end
function done(summary, latency, requests)
  local all = {{}}
  for _, thread in ipairs(threads) do
    local counted = thread:get("statuses")
    for status, n in pairs(counted) do all[status] = (all[status] or 0) + n end
  end
  for status, n in pairs(all) do io.write(string.format("status %d %d\n", status, n)) end
  local e = summary.errors
  io.write(string.format("socket_errors %d\n", e.connect + e.read + e.write + e.timeout))
  io.write(string.format("requests %d\nseconds %f\n", summary.requests, summary.duration / 1e6))
  io.write(string.format("p50_ms %f\np99_ms %f\n", latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
"#,
        path = SignIn::PATH,
    )
}

/// Correct-password sign-ins for `seconds` through `base` (`http://127.0.0.1:PORT`), on `host`.
pub fn sign_in_load(base: &str, host: &str, emails: &[String], seconds: u64) -> Result<SignInLoad, String> {
    let script = std::env::temp_dir().join(format!("latchkey-signin-{}.lua", std::process::id()));
    std::fs::write(&script, wrk_script(emails, host)).map_err(|e| e.to_string())?;
    let output = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{}", connections()),
            &format!("-d{seconds}s"),
            "--timeout",
            "10s",
            "-s",
        ])
        .arg(&script)
        .arg(base)
        .output()
        .map_err(|e| format!("wrk (apt-get install wrk): {e}"))?;
    std::fs::remove_file(&script).ok();
    let text = String::from_utf8_lossy(&output.stdout);
    let field = |name: &str| {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(name)
                    .map(|v| v.trim().parse::<f64>().unwrap_or(f64::NAN))
            })
            .ok_or_else(|| format!("wrk printed no {name}: {text}"))
    };
    let mut statuses: Vec<(u16, u64)> = text
        .lines()
        .filter_map(|l| {
            let mut parts = l.strip_prefix("status ")?.split_whitespace();
            Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
        })
        .collect();
    statuses.sort();
    Ok(SignInLoad {
        per_second: statuses
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, n)| *n as f64)
            .sum::<f64>()
            / field("seconds ")?,
        statuses,
        socket_errors: field("socket_errors ")? as u64,
        p50_ms: field("p50_ms ")?,
        p99_ms: field("p99_ms ")?,
        refusals: text
            .lines()
            .filter_map(|l| l.strip_prefix("refused "))
            .map(str::to_owned)
            .collect(),
    })
}

/// Active accounts of `workspace` with no second factor: a correct password signs them in.
pub async fn password_only_accounts(http: &reqwest::Client, base: &str, token: &str, tenant: &str) -> Vec<String> {
    let page: Value = http
        .get(format!(
            "{base}/api/v1/users?tenantId={tenant}&status=active&mfa=not_enrolled&limit=200"
        ))
        .bearer_auth(token)
        .send()
        .await
        .expect("users")
        .json()
        .await
        .expect("users json");
    let emails: Vec<String> = page["users"]
        .as_array()
        .map(|users| {
            users
                .iter()
                .filter_map(|u| u["email"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert!(!emails.is_empty(), "no password-only accounts in {tenant}: {page}");
    emails
}

/// Times `GET` of each path in turn, one at a time, until `stop`; answers the latencies in ms.
pub async fn probe(http: reqwest::Client, urls: Vec<String>, token: String, stop: Arc<AtomicBool>) -> Vec<Vec<f64>> {
    let mut samples = vec![Vec::new(); urls.len()];
    while !stop.load(Ordering::Relaxed) {
        for (i, url) in urls.iter().enumerate() {
            let started = Instant::now();
            let answer = http.get(url).bearer_auth(&token).send().await.expect("probe");
            let status = answer.status();
            answer.bytes().await.ok();
            assert!(status.is_success(), "{url}: {status}");
            samples[i].push(started.elapsed().as_secs_f64() * 1000.0);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for s in &mut samples {
        s.sort_by(f64::total_cmp);
    }
    samples
}

/// Hashes per second with `threads` threads hashing at once for `seconds`, each in its own
/// memory as the server's hashing threads do. Below `threads / one hash's time` when the
/// hashes' memory (19 MiB each) no longer fits the shared caches together.
pub fn parallel_hashes_per_s(threads: usize, seconds: f64) -> f64 {
    let started = Instant::now();
    let counts: Vec<_> = (0..threads)
        .map(|_| {
            std::thread::spawn(move || {
                let mut memory = app::server::passwords::HashMemory::default();
                let mut hashes = 0u64;
                while started.elapsed().as_secs_f64() < seconds {
                    memory.hash("parallel benchmark password").expect("hash");
                    hashes += 1;
                }
                hashes
            })
        })
        .collect();
    let hashes: u64 = counts.into_iter().map(|t| t.join().expect("hashing thread")).sum();
    hashes as f64 / started.elapsed().as_secs_f64()
}

pub fn main(mut args: impl Iterator<Item = String>, hash_ms: f64) {
    let mut next = |name: &str| args.next().unwrap_or_else(|| panic!("missing argument: {name}"));
    let binary = PathBuf::from(next("BINARY"));
    let database_url = next("DATABASE_URL");
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(20);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let bound = cores as f64 * 1000.0 / hash_ms;
    let parallel = parallel_hashes_per_s(cores, 5.0);
    let token = api_token(&binary, &database_url);
    let port = free_port();
    let server = Serve::start(&binary, &database_url, port);
    let pid = server.pid();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let base = format!("http://127.0.0.1:{port}");
    let (load, probed, idle, busy, idle_rss, peak_rss, cpu) = runtime.block_on(async {
        let http = reqwest::Client::new();
        wait_ready(&http, port).await;
        let tenant = tenant_id(&http, port, &token, WORKSPACE).await;
        let emails = password_only_accounts(&http, &base, &token, &tenant).await;
        let urls = vec![
            format!("{base}/api/v1/users/me"),
            format!("{base}/api/v1/users?tenantId={tenant}&limit=50"),
        ];
        // Warm up as a server that has run a while is warm: the first use of each pooled
        // database connection for a query prepares it and fills that PostgreSQL process's
        // catalog caches (tens of ms). Sixteen at once open as many connections as the load
        // and the probes use together.
        const AT_ONCE: usize = 16;
        const ROUNDS: usize = 5;
        let started = Instant::now();
        let warm_ups: Vec<_> = (0..AT_ONCE)
            .map(|_| {
                let (http, urls, token) = (http.clone(), urls.clone(), token.clone());
                tokio::spawn(async move {
                    for _ in 0..ROUNDS {
                        for url in &urls {
                            http.get(url).bearer_auth(&token).send().await.expect("warm-up");
                        }
                    }
                })
            })
            .collect();
        for warm_up in warm_ups {
            warm_up.await.expect("warm-up");
        }
        eprintln!(
            "warm-up: {} requests, {AT_ONCE} at a time, in {:.0} ms",
            AT_ONCE * ROUNDS * urls.len(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
        let idle_rss = rss_kib(pid).unwrap_or(0);

        let stop = Arc::new(AtomicBool::new(false));
        let baseline = tokio::spawn(probe(http.clone(), urls.clone(), token.clone(), stop.clone()));
        tokio::time::sleep(Duration::from_secs(5)).await;
        stop.store(true, Ordering::Relaxed);
        let idle = baseline.await.expect("probe");

        // Throughput first, alone; then the same load again with the cheap requests timed.
        let host = format!("{WORKSPACE}.localhost:{port}");
        let before = CpuTicks::read(pid);
        let alone = {
            let (base, emails, host) = (base.clone(), emails.clone(), host.clone());
            tokio::task::spawn_blocking(move || sign_in_load(&base, &host, &emails, seconds))
                .await
                .expect("wrk")
        };
        let cpu = before.until(CpuTicks::read(pid));
        // Sign-ins wrk gave up on at its end still run to completion on the server: let them
        // finish, or they would hold places in the hashing queue when the next run starts.
        tokio::time::sleep(Duration::from_secs(3)).await;
        let stop = Arc::new(AtomicBool::new(false));
        let peak = PeakRss::sample(pid);
        let busy = tokio::spawn(probe(http.clone(), urls, token.clone(), stop.clone()));
        let probed = {
            let (base, emails) = (base.clone(), emails.clone());
            tokio::task::spawn_blocking(move || sign_in_load(&base, &host, &emails, seconds))
                .await
                .expect("wrk")
        };
        stop.store(true, Ordering::Relaxed);
        let busy = busy.await.expect("probe");
        (alone, probed, idle, busy, idle_rss, peak.finish().await, cpu)
    });
    drop(server);
    let load = load.unwrap_or_else(|e| panic!("{e}"));
    let probed = probed.unwrap_or_else(|e| panic!("{e}"));
    let names = ["GET /api/v1/users/me", "GET /api/v1/users (one workspace)"];
    println!("case                                         value");
    println!(
        "argon2id hash                                {hash_ms:.1} ms; bound {bound:.0} sign-ins/s on {cores} cores"
    );
    println!(
        "argon2id hashes, {cores} threads at once            {parallel:.0}/s (sign-ins reach {:.0}% of this)",
        load.per_second / parallel * 100.0
    );
    println!(
        "correct-password sign-ins, {:>2} connections     {:.1}/s = {:.0}% of the bound; p50 {:.0} ms, p99 {:.0} ms",
        connections(),
        load.per_second,
        load.per_second / bound * 100.0,
        load.p50_ms,
        load.p99_ms
    );
    println!(
        "answers                                      {} × 200, {} × 429, {} other",
        load.count(200),
        load.count(429),
        load.unexpected()
    );
    // Clock ticks of /proc are 1/100 s on Linux.
    let per_sign_in_ms = |ticks: u64| ticks as f64 * 10.0 / load.count(200).max(1) as f64;
    let other = cpu.machine_busy.saturating_sub(cpu.server + cpu.postgres);
    let idle_share = 1.0 - cpu.machine_busy as f64 / cpu.machine_all.max(1) as f64;
    println!(
        "CPU per sign-in                              server {:.1} ms (one hash {hash_ms:.1}), PostgreSQL {:.1} ms, the rest (wrk, kernel) {:.1} ms; machine idle {:.0}%",
        per_sign_in_ms(cpu.server),
        per_sign_in_ms(cpu.postgres),
        per_sign_in_ms(other),
        idle_share * 100.0
    );
    println!(
        "the same, while the requests below are timed  {:.1}/s; {} × 200, {} × 429, {} other",
        probed.per_second,
        probed.count(200),
        probed.count(429),
        probed.unexpected()
    );
    for refusal in load.refusals.iter().chain(&probed.refusals) {
        println!("a refused sign-in                             {refusal}");
    }
    let mut cheap = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (quiet, loaded) = (&idle[i], &busy[i]);
        println!(
            "{name:<44} idle p50 {:.1} / p99 {:.1} ms; under load p50 {:.1} / p99 {:.1} ms ({} samples)",
            percentile(quiet, 0.5),
            percentile(quiet, 0.99),
            percentile(loaded, 0.5),
            percentile(loaded, 0.99),
            loaded.len()
        );
        cheap.push(json!({
            "request": name,
            "idle_p50_ms": percentile(quiet, 0.5), "idle_p99_ms": percentile(quiet, 0.99),
            "load_p50_ms": percentile(loaded, 0.5), "load_p99_ms": percentile(loaded, 0.99),
            "samples": loaded.len(),
        }));
    }
    println!(
        "server RSS                                   {:.1} MB before, {:.1} MB peak under load",
        idle_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0
    );
    let json = json!({
        "database": database_url.split(':').next(),
        "hash_ms": hash_ms,
        "connections": connections(),
        "bound_per_s": bound,
        "parallel_hashes_per_s": parallel,
        "share_of_parallel_hashes": load.per_second / parallel,
        "sign_in": load.to_json(),
        "sign_in_while_probed": probed.to_json(),
        "share_of_bound": load.per_second / bound,
        "cheap_requests": cheap,
        "cpu_per_sign_in_ms": {
            "server": per_sign_in_ms(cpu.server),
            "postgres": per_sign_in_ms(cpu.postgres),
            "rest": per_sign_in_ms(other),
            "machine_idle_share": idle_share,
        },
        "rss_idle_kib": idle_rss,
        "rss_peak_kib": peak_rss,
    });
    println!("{json}");
}
