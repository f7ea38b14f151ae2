//! Prints the walking skeleton's figures: argon2id hash time and the sign-in bound it implies,
//! the size of what the browser downloads, and the server's resident memory when idle.
//!
//! Usage: `bash bench/run.sh` (builds the release server and web app first).

use app::server::passwords::HashMemory;
use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod enumeration;
mod lists;
mod load;
mod scaleout;
mod seed;
mod serve;
mod soak;

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn gzip_len(bytes: &[u8]) -> usize {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip").len()
}

fn web_assets(dist: &Path) -> Vec<(String, usize, usize)> {
    let mut assets: Vec<_> = std::fs::read_dir(dist)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .collect::<Vec<PathBuf>>()
        })
        .unwrap_or_default()
        .into_iter()
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "wasm" || e == "js" || e == "css" || e == "html")
        })
        .map(|p| {
            let bytes = std::fs::read(&p).expect("read asset");
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                bytes.len(),
                gzip_len(&bytes),
            )
        })
        .collect();
    assets.sort();
    assets
}

/// A release server on a random port with the demo data, stopped when dropped.
struct Server {
    child: std::process::Child,
    port: u16,
    dir: PathBuf,
    binary: PathBuf,
    db: String,
}

impl Server {
    fn start(binary: &Path) -> Result<Self, String> {
        let dir = std::env::temp_dir().join(format!(
            "latchkey-bench-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let db = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = listener.local_addr().map_err(|e| e.to_string())?.port();
        drop(listener);
        let command = |args: &[&str]| {
            let mut command = Command::new(binary);
            command
                .args(args)
                .env("LATCHKEY_DATABASE_URL", &db)
                .env("LATCHKEY_BASE_DOMAIN", format!("localhost:{port}"))
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null());
            command
        };
        command(&["demo"]).status().map_err(|e| e.to_string())?;
        let child = command(&["serve", "--listen", &format!("127.0.0.1:{port}")])
            .spawn()
            .map_err(|e| e.to_string())?;
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() && started.elapsed() < Duration::from_secs(20)
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self {
            child,
            port,
            dir,
            binary: binary.to_owned(),
            db,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

fn idle_rss(binary: &Path) -> Result<u64, String> {
    let server = Server::start(binary)?;
    std::thread::sleep(Duration::from_secs(2));
    serve::rss_kib(server.child.id()).ok_or_else(|| "could not read the server's RSS".into())
}

/// One argon2id hash with today's parameters on this machine, median of 15, in ms. Like the
/// server's hashing threads, it hashes in memory already allocated, so the bound derived from
/// it is the server's own.
fn argon2id_hash_ms() -> f64 {
    let mut memory = HashMemory::default();
    memory.hash("warm-up password").expect("hash");
    let samples: Vec<f64> = (0..15)
        .map(|_| {
            let start = Instant::now();
            memory.hash("benchmark password 2026").expect("hash");
            start.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    median(samples)
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    match args.peek().map(String::as_str) {
        Some("soak") => {
            args.next();
            return soak::main(args);
        }
        Some("seed") => {
            args.next();
            return seed::main(args);
        }
        Some("lists") => {
            args.next();
            return lists::main(args);
        }
        Some("scaleout") => {
            args.next();
            return scaleout::main(args);
        }
        Some("load") => {
            args.next();
            return load::main(args, argon2id_hash_ms());
        }
        _ => {}
    }
    let server = PathBuf::from(args.next().unwrap_or_else(|| "target/release/latchkey".into()));
    let dist = PathBuf::from(args.next().unwrap_or_else(|| "dist".into()));

    let hash_ms = argon2id_hash_ms();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let bound = cores as f64 * 1000.0 / hash_ms;

    println!("figure                               value");
    println!("argon2id hash (m=19 MiB, t=2, p=1)   {hash_ms:.1} ms (median of 15)");
    println!("password sign-in bound               {bound:.0} per second ({cores} cores / hash time)");
    let assets = web_assets(&dist);
    // Every page loads the shell; the screens' modules and shared chunks come as they are shown
    // (the Users page's first load is measured in Chromium by bench/first-row.cjs), and the
    // strength-meter worker only on pages that set a password.
    let (mut shell, mut screens, mut worker) = ((0, 0), (0, 0), (0, 0));
    for (name, raw, gz) in &assets {
        println!(
            "{name:<36} {:.1} KB raw, {:.1} KB gzip",
            *raw as f64 / 1000.0,
            *gz as f64 / 1000.0
        );
        let part = if name.starts_with("strength-worker") {
            &mut worker
        } else if name.starts_with("split_") || name.starts_with("chunk_") {
            &mut screens
        } else {
            &mut shell
        };
        part.0 += raw;
        part.1 += gz;
    }
    for (figure, (raw, gz)) in [
        ("web app shell (every first load)", shell),
        ("screens, every one (on demand)", screens),
        ("strength-meter worker (on demand)", worker),
    ] {
        println!(
            "{figure:<36} {:.1} KB raw, {:.1} KB gzip",
            raw as f64 / 1000.0,
            gz as f64 / 1000.0
        );
    }
    let rss = idle_rss(&server);
    match &rss {
        Ok(kib) => println!("server RSS idle (SQLite, demo data)  {:.1} MB", *kib as f64 / 1024.0),
        Err(e) => println!("server RSS idle                      not measured: {e}"),
    }
    // Several freshly seeded servers: each allows one reset request per account and minute.
    let mut samples = Vec::new();
    let enumeration = (0..6).try_for_each(|_| {
        let running = Server::start(&server)?;
        let token = serve::api_token(&running.binary, &running.db);
        enumeration::merge(&mut samples, enumeration::measure(running.port, &token)?);
        Ok::<(), String>(())
    });
    let enumeration = match enumeration {
        Ok(()) => {
            let timings: Vec<_> = samples.into_iter().map(enumeration::Samples::timing).collect();
            for t in &timings {
                println!(
                    "{:<36} known {:.1} ms, unknown {:.1} ms median ({} each): {:+.1}%",
                    t.page,
                    t.known_ms,
                    t.unknown_ms,
                    t.samples,
                    t.difference_percent()
                );
            }
            serde_json::to_value(
                timings
                    .iter()
                    .map(|t| serde_json::json!({ "page": t.page, "known_ms": t.known_ms, "unknown_ms": t.unknown_ms, "samples": t.samples, "difference_percent": t.difference_percent() }))
                    .collect::<Vec<_>>(),
            )
            .ok()
        }
        Err(e) => {
            println!("enumeration timing                   not measured: {e}");
            None
        }
    };
    let json = serde_json::json!({
        "enumeration_timing": enumeration,
        "argon2id_hash_ms": hash_ms,
        "sign_in_bound_per_s": bound,
        "cores": cores,
        "web_shell_bytes": shell.0,
        "web_shell_gzip_bytes": shell.1,
        "web_screens_bytes": screens.0,
        "web_screens_gzip_bytes": screens.1,
        "strength_worker_bytes": worker.0,
        "strength_worker_gzip_bytes": worker.1,
        "server_idle_rss_kib": rss.ok(),
    });
    println!("{json}");
}
