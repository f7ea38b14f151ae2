//! Response times of the public pages for existing and unknown accounts: a difference an
//! attacker could measure would enumerate accounts. Known and unknown requests alternate, so
//! drift in the machine's load falls on both sides alike.

use app::api::{GetInvite, RequestPasswordReset, SignIn};
use leptos::server_fn::ServerFn;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

pub struct Timing {
    pub page: &'static str,
    pub known_ms: f64,
    pub unknown_ms: f64,
    pub samples: usize,
}

impl Timing {
    pub fn difference_percent(&self) -> f64 {
        (self.known_ms - self.unknown_ms) / self.unknown_ms * 100.0
    }
}

/// Acme's demo accounts, in every status; each takes four wrong passwords before its lock.
const KNOWN: [&str; 7] = [
    "owner@acme.test",
    "bob@acme.test",
    "carol@acme.test",
    "dave@acme.test",
    "erin@acme.test",
    "frank@acme.test",
    "pat@partner.test",
];

fn post_form(port: u16, path: &str, body: &str) -> Result<f64, String> {
    post_form_on("acme", port, path, body)
}

fn post_form_on(workspace: &str, port: u16, path: &str, body: &str) -> Result<f64, String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {workspace}.localhost:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let started = Instant::now();
    stream.write_all(request.as_bytes()).map_err(|e| e.to_string())?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).map_err(|e| e.to_string())?;
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    if !answer.starts_with(b"HTTP/1.1 ") {
        return Err("no HTTP answer".into());
    }
    Ok(elapsed)
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn encode(text: &str) -> String {
    text.replace('@', "%40")
}

/// Response times in milliseconds of one page, known accounts against unknown ones.
pub struct Samples {
    pub page: &'static str,
    pub known: Vec<f64>,
    pub unknown: Vec<f64>,
}

impl Samples {
    pub fn timing(self) -> Timing {
        Timing {
            page: self.page,
            samples: self.known.len(),
            known_ms: median(self.known),
            unknown_ms: median(self.unknown),
        }
    }
}

/// Adds one server's samples to those of earlier ones, page by page.
pub fn merge(into: &mut Vec<Samples>, more: Vec<Samples>) {
    for samples in more {
        match into.iter_mut().find(|s| s.page == samples.page) {
            Some(existing) => {
                existing.known.extend(samples.known);
                existing.unknown.extend(samples.unknown);
            }
            None => into.push(samples),
        }
    }
}

/// A live access link of a new invitee of acme, made through the REST API: its token.
fn real_link_token(port: u16, api_token: &str) -> Result<String, String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let http = reqwest::Client::new();
        let api = format!("http://127.0.0.1:{port}/api/v1");
        let call = |request: reqwest::RequestBuilder| async move {
            let response = request.bearer_auth(api_token).send().await.map_err(|e| e.to_string())?;
            response.json::<serde_json::Value>().await.map_err(|e| e.to_string())
        };
        let tenants = call(http.get(format!("{api}/tenants"))).await?;
        let acme = tenants["tenants"]
            .as_array()
            .and_then(|list| list.iter().find(|t| t["slug"] == "acme"))
            .and_then(|t| t["id"].as_str())
            .ok_or("no acme in the demo data")?
            .to_owned();
        let invite = serde_json::json!({ "email": "timing@acme.test", "displayName": "Timing", "tenantId": acme });
        let invited = call(http.post(format!("{api}/users")).json(&invite)).await?;
        let user = invited["userId"].as_str().ok_or("the invite failed")?;
        let link = call(
            http.post(format!("{api}/users/{user}/access-link"))
                .json(&serde_json::json!({ "tenantId": acme })),
        )
        .await?;
        let url = link["url"].as_str().ok_or("no access link")?;
        Ok(url.split_once("#token=").ok_or("no token in the link")?.1.to_owned())
    })
}

/// Sign-in with a wrong password, "Forgot password" and an invite or access link, known against
/// unknown, on one freshly seeded server (the resend throttle allows one reset request per
/// identifier and minute).
pub fn measure(port: u16, api_token: &str) -> Result<Vec<Samples>, String> {
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for round in 0..4 {
        for (i, email) in KNOWN.iter().enumerate() {
            let body = |who: &str| format!("identifier={}&password=Not-the-password-{round}", encode(who));
            known.push(post_form(port, SignIn::PATH, &body(email))?);
            unknown.push(post_form(
                port,
                SignIn::PATH,
                &body(&format!("ghost{round}x{i}@acme.test")),
            )?);
        }
    }
    let sign_in = Samples {
        page: "sign-in, wrong password",
        known,
        unknown,
    };
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for (i, email) in KNOWN.iter().enumerate() {
        known.push(post_form(
            port,
            RequestPasswordReset::PATH,
            &format!("identifier={}", encode(email)),
        )?);
        let ghost = format!("identifier=ghost-reset{i}%40acme.test");
        unknown.push(post_form(port, RequestPasswordReset::PATH, &ghost)?);
    }
    let recovery = Samples {
        page: "forgot password, first request",
        known,
        unknown,
    };
    // A real link on another workspace's host is worth exactly as much as a made-up one.
    let real = real_link_token(port, api_token)?;
    let made_up = "A".repeat(real.len());
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        known.push(post_form_on("globex", port, GetInvite::PATH, &format!("token={real}"))?);
        unknown.push(post_form_on(
            "globex",
            port,
            GetInvite::PATH,
            &format!("token={made_up}"),
        )?);
    }
    let link = Samples {
        page: "invite/access link, other host",
        known,
        unknown,
    };
    Ok(vec![sign_in, recovery, link])
}
