//! Several `latchkey serve` processes on one PostgreSQL behind nginx (Debian's package) on
//! loopback. Checks what must hold across processes (sign-in failures lock after five, the
//! resend throttle, a session made on one process works on the others), then reports
//! throughput by process count: correct-password sign-ins and `GET /api/v1/users/me`.
//!
//! Usage: `latchkey-bench scaleout BINARY POSTGRES_URL [SECONDS]`, on a database that
//! `latchkey-bench seed` filled.

use crate::load::{PASSWORD, WORKSPACE, password_only_accounts, sign_in_load};
use crate::serve::{Serve, api_token, free_port, tenant_id, wait_ready};
use app::api::{GetMyAccount, RequestPasswordReset, SignIn};
use leptos::server_fn::ServerFn;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The load signs in the first this many password-only accounts; the checks use the rest.
const CHECKED: usize = 150;

/// nginx in front of `ports`, round robin, on a port of its own; stopped when dropped.
struct Nginx {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Nginx {
    fn start(ports: &[u16]) -> Self {
        let dir = std::env::temp_dir().join(format!("latchkey-nginx-{}-{}", std::process::id(), ports.len()));
        std::fs::create_dir_all(&dir).expect("nginx dir");
        let port = free_port();
        let upstreams: String = ports.iter().map(|p| format!("server 127.0.0.1:{p};\n")).collect();
        let d = dir.display();
        let conf = format!(
            "user root;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n\
             upstream latchkey {{\n{upstreams} keepalive 64;\n}}\n\
             server {{\n listen 127.0.0.1:{port};\n location / {{\n proxy_pass http://latchkey;\n\
             proxy_http_version 1.1;\n proxy_set_header Connection \"\";\n proxy_set_header Host $http_host;\n\
             proxy_set_header X-Forwarded-For $remote_addr;\n }}\n }}\n}}\n"
        );
        std::fs::write(dir.join("nginx.conf"), conf).expect("nginx.conf");
        let child = Command::new("nginx")
            .arg("-p")
            .arg(&dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx (apt-get install nginx-light)");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, dir, port }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// A server function call on the workspace's host at `base`: status, body and Set-Cookie.
async fn call(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    form: &[(&str, &str)],
    cookie: Option<&str>,
) -> (u16, Value, Option<String>) {
    let host = base
        .trim_start_matches("http://")
        .replace("127.0.0.1", &format!("{WORKSPACE}.localhost"));
    let mut request = http.post(format!("{base}{path}")).header("Host", host).form(form);
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let answer = request.send().await.expect("server function");
    let status = answer.status().as_u16();
    let session = answer
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("lk_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned());
    (status, answer.json().await.unwrap_or(Value::Null), session)
}

/// What must hold with three processes behind nginx; panics when it does not.
async fn check_across_processes(http: &reqwest::Client, front: &str, direct: &[String], accounts: &[String]) -> Value {
    // A lock and a reset request outlast a run: each run takes its own accounts.
    let pick = |n: usize| &accounts[(std::process::id() as usize + n) % accounts.len()];
    let (locked_one, reset_one, session_one) = (pick(0), pick(1), pick(2));
    // Sign-in failures, spread round robin over the processes, lock after five.
    let mut failures = Vec::new();
    for _ in 0..7 {
        let (status, body, _) = call(
            http,
            front,
            SignIn::PATH,
            &[("identifier", locked_one), ("password", "wrong-password")],
            None,
        )
        .await;
        failures.push(format!("{status} {}", body["reason"].as_str().unwrap_or_default()));
    }
    let (right, body, _) = call(
        http,
        front,
        SignIn::PATH,
        &[("identifier", locked_one), ("password", PASSWORD)],
        None,
    )
    .await;
    assert_ne!(
        right, 200,
        "the right password after 7 failures must not sign in: {body}"
    );
    let locked_after = failures.iter().position(|f| f.contains("locked")).map(|i| i + 1);
    assert_eq!(locked_after, Some(5), "the fifth failure locks: {failures:?}");

    // The resend throttle: one code request per identifier and minute, whichever process.
    let mut resends = Vec::new();
    for _ in 0..3 {
        let (status, _, _) = call(
            http,
            front,
            RequestPasswordReset::PATH,
            &[("identifier", reset_one)],
            None,
        )
        .await;
        resends.push(status);
    }
    assert_eq!(resends, [200, 429, 429], "resends across processes");

    // A session made on one process works on every other.
    let (status, body, cookie) = call(
        http,
        &direct[0],
        SignIn::PATH,
        &[("identifier", session_one), ("password", PASSWORD)],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let cookie = cookie.expect("a session cookie");
    for base in &direct[1..] {
        let (status, body, _) = call(http, base, GetMyAccount::PATH, &[], Some(&cookie)).await;
        assert_eq!(status, 200, "{base}: {body}");
        assert_eq!(body["profile"]["email"].as_str(), Some(session_one.as_str()), "{base}");
    }
    json!({
        "failure_answers": failures,
        "locked_after_failures": locked_after,
        "right_password_after_lock": right,
        "resend_answers": resends,
        "session_works_on_processes": direct.len(),
    })
}

/// `GET /api/v1/users/me` per second through `base` for `seconds`, with wrk.
fn cheap_per_second(base: &str, token: &str, seconds: u64) -> f64 {
    let output = Command::new("wrk")
        .args(["-t2", "-c16", &format!("-d{seconds}s"), "-H"])
        .arg(format!("Authorization: Bearer {token}"))
        .arg(format!("{base}/api/v1/users/me"))
        .output()
        .expect("wrk");
    let text = String::from_utf8_lossy(&output.stdout);
    let non_2xx: u64 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Non-2xx or 3xx responses:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    assert_eq!(non_2xx, 0, "{text}");
    text.lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("wrk printed no rate: {text}"))
}

pub fn main(mut args: impl Iterator<Item = String>) {
    let mut next = |name: &str| args.next().unwrap_or_else(|| panic!("missing argument: {name}"));
    let binary = PathBuf::from(next("BINARY"));
    let database_url = next("POSTGRES_URL");
    let seconds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(15);
    let token = api_token(&binary, &database_url);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let http = reqwest::Client::new();
    let mut rows = Vec::new();
    let mut checks = Value::Null;
    let mut accounts = Vec::new();
    for processes in 1..=3 {
        let (servers, ports) = start(&binary, &database_url, processes);
        runtime.block_on(async {
            for port in &ports {
                wait_ready(&http, *port).await;
            }
        });
        let nginx = Nginx::start(&ports);
        let front = format!("http://127.0.0.1:{}", nginx.port);
        if accounts.is_empty() {
            accounts = runtime.block_on(async {
                let tenant = tenant_id(&http, ports[0], &token, WORKSPACE).await;
                password_only_accounts(&http, &front, &token, &tenant).await
            });
        }
        if processes == 3 {
            let direct: Vec<String> = ports.iter().map(|p| format!("http://127.0.0.1:{p}")).collect();
            checks = runtime.block_on(check_across_processes(&http, &front, &direct, &accounts[CHECKED..]));
        }
        let host = format!("{WORKSPACE}.localhost:{}", nginx.port);
        let load = sign_in_load(&front, &host, &accounts[..CHECKED], seconds).expect("wrk");
        let cheap = cheap_per_second(&front, &token, seconds.min(10));
        println!(
            "{processes} process(es) behind nginx: {:.1} sign-ins/s ({} × 200, {} × 429, {} other), {:.0} GET /users/me per s",
            load.per_second,
            load.count(200),
            load.count(429),
            load.unexpected(),
            cheap
        );
        rows.push(json!({ "processes": processes, "sign_in": load.to_json(), "users_me_per_s": cheap }));
        drop(nginx);
        drop(servers);
    }
    println!("across 3 processes: {checks}");
    println!("{}", json!({ "by_processes": rows, "checks": checks }));
}

fn start(binary: &Path, database_url: &str, count: usize) -> (Vec<Serve>, Vec<u16>) {
    let ports: Vec<u16> = (0..count).map(|_| free_port()).collect();
    let servers = ports.iter().map(|p| Serve::start(binary, database_url, *p)).collect();
    (servers, ports)
}
