//! Release `latchkey serve` processes for the benchmarks that talk HTTP to a prepared database.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// One `latchkey serve` on `port` with the API rate limit out of the way; killed when dropped.
pub struct Serve(Child);

impl Serve {
    pub fn start(binary: &Path, database_url: &str, port: u16) -> Self {
        let child = Command::new(binary)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--api-rate-limit",
                "1000000",
            ])
            .env("LATCHKEY_DATABASE_URL", database_url)
            .env("LATCHKEY_BASE_DOMAIN", "localhost")
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .expect("start latchkey serve");
        Self(child)
    }
}

impl Serve {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// Waits until `/readyz` on `port` says ready; panics after 10 s.
pub async fn wait_ready(http: &reqwest::Client, port: u16) {
    for _ in 0..200 {
        let answer = http.get(format!("http://127.0.0.1:{port}/readyz")).send().await;
        if answer.is_ok_and(|r| r.status() == 200) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server on port {port} did not become ready");
}

/// The id of the workspace `slug`, from `GET /api/v1/tenants`.
pub async fn tenant_id(http: &reqwest::Client, port: u16, token: &str, slug: &str) -> String {
    let tenants: serde_json::Value = http
        .get(format!("http://127.0.0.1:{port}/api/v1/tenants"))
        .bearer_auth(token)
        .send()
        .await
        .expect("tenants")
        .json()
        .await
        .expect("tenants json");
    tenants["tenants"]
        .as_array()
        .and_then(|list| list.iter().find(|t| t["slug"] == slug))
        .and_then(|t| t["id"].as_str())
        .unwrap_or_else(|| panic!("no workspace {slug} in this database"))
        .to_owned()
}

/// A new API token of the demo operator's Administrator, minted with `latchkey token create`.
pub fn api_token(binary: &Path, database_url: &str) -> String {
    let output = Command::new(binary)
        .args(["token", "create", "--email", "admin@demo-msp.test"])
        .env("LATCHKEY_DATABASE_URL", database_url)
        .output()
        .expect("latchkey token create");
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(
        token.starts_with("lk_"),
        "no token: is the database seeded with `latchkey demo`?"
    );
    token
}

/// The resident memory of process `pid`, in KiB.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// Samples a process's resident memory every 50 ms until [`PeakRss::finish`].
pub struct PeakRss {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    sampler: tokio::task::JoinHandle<()>,
}

impl PeakRss {
    pub fn sample(pid: u32) -> Self {
        let (stop, peak) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicU64::new(0)));
        let sampler = {
            let (stop, peak) = (stop.clone(), peak.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    peak.fetch_max(rss_kib(pid).unwrap_or(0), Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
        };
        Self { stop, peak, sampler }
    }

    /// The highest RSS seen, in KiB.
    pub async fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.sampler.await.ok();
        self.peak.load(Ordering::Relaxed)
    }
}

/// CPU time used so far, in clock ticks (1/100 s on Linux): by one process with all its threads,
/// by every PostgreSQL process, and by the whole machine, busy and in all.
#[derive(Clone, Copy, Debug, Default)]
pub struct CpuTicks {
    pub server: u64,
    pub postgres: u64,
    pub machine_busy: u64,
    pub machine_all: u64,
}

/// utime + stime of a `/proc/<pid>/stat` line, and the command name.
fn process_ticks(stat: &str) -> Option<(&str, u64)> {
    let (open, close) = (stat.find('(')?, stat.rfind(')')?);
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    // After the name: state is field 3 of the line, utime 14 and stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((&stat[open + 1..close], utime + stime))
}

impl CpuTicks {
    pub fn read(server_pid: u32) -> Self {
        let stat = |pid: &str| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
        let server = stat(&server_pid.to_string())
            .and_then(|s| process_ticks(&s).map(|(_, t)| t))
            .unwrap_or(0);
        let postgres = std::fs::read_dir("/proc")
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .filter_map(|e| stat(&e.file_name().to_string_lossy()))
                    .filter_map(|s| {
                        process_ticks(&s)
                            .filter(|(name, _)| *name == "postgres")
                            .map(|(_, t)| t)
                    })
                    .sum()
            })
            .unwrap_or(0);
        // The first line of /proc/stat: user nice system idle iowait irq softirq steal ...
        let machine: Vec<u64> = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| s.lines().next().map(str::to_owned))
            .map(|line| line.split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect())
            .unwrap_or_default();
        let all: u64 = machine.iter().take(8).sum();
        let idle = machine.get(3).copied().unwrap_or(0) + machine.get(4).copied().unwrap_or(0);
        Self {
            server,
            postgres,
            machine_busy: all.saturating_sub(idle),
            machine_all: all,
        }
    }

    /// What was used between `self` (earlier) and `later`.
    pub fn until(self, later: Self) -> Self {
        Self {
            server: later.server.saturating_sub(self.server),
            postgres: later.postgres.saturating_sub(self.postgres),
            machine_busy: later.machine_busy.saturating_sub(self.machine_busy),
            machine_all: later.machine_all.saturating_sub(self.machine_all),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::process_ticks;

    #[test]
    fn reads_a_stat_line_whose_name_has_spaces_and_parentheses() {
        let line = "4242 (tokio (rt) x) S 1 4242 4242 0 -1 4194560 1200 0 0 0 250 31 0 0 20 0 9 0 100 0 0";
        assert_eq!(process_ticks(line), Some(("tokio (rt) x", 281)));
    }
}
