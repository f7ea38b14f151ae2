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
