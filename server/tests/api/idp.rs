//! The OpenID provider the SSO tests sign in through: `end2end/idp/oidc-idp.mjs`, built on the
//! certified `oidc-provider` npm package, started once per test binary on loopback. It exits
//! when this process does (its stdin closes).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

pub struct Idp {
    pub issuer: String,
    _process: Child,
}

/// A client registered at the provider (dynamic client registration), for one workspace host.
pub struct IdpClient {
    pub client_id: String,
    pub client_secret: String,
}

static IDP: OnceLock<Idp> = OnceLock::new();

pub fn idp() -> &'static Idp {
    IDP.get_or_init(|| {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let node_path = std::env::var("NODE_PATH").unwrap_or_else(|_| {
            format!(
                "{}/.cache/latchkey/node/node_modules",
                std::env::var("HOME").unwrap_or_default()
            )
        });
        let mut process = Command::new("node")
            .arg(root.join("end2end/idp/oidc-idp.mjs"))
            .env("NODE_PATH", node_path)
            .env("IDP_PORT", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the test identity provider (node); scripts/setup.sh installs oidc-provider");
        let stdout = process.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        reader.read_line(&mut line).expect("read the IdP's ready line");
        // Keep draining its output: a closed pipe would kill it at its next write.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let issuer = line
            .trim()
            .strip_prefix("IDP_READY ")
            .unwrap_or_else(|| panic!("the test IdP did not start: {line:?}"))
            .to_owned();
        Idp {
            issuer,
            _process: process,
        }
    })
}

impl Idp {
    pub async fn register(&self, redirect_uri: &str) -> IdpClient {
        let answer: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/reg", self.issuer))
            .json(&serde_json::json!({
                "redirect_uris": [redirect_uri],
                "token_endpoint_auth_method": "client_secret_basic",
                "grant_types": ["authorization_code"],
                "response_types": ["code"],
            }))
            .send()
            .await
            .expect("register at the IdP")
            .json()
            .await
            .expect("registration answer");
        IdpClient {
            client_id: answer["client_id"].as_str().expect("client_id").to_owned(),
            client_secret: answer["client_secret"].as_str().expect("client_secret").to_owned(),
        }
    }

    /// From now on the provider tampers with this client's ID tokens: `wrong_audience`,
    /// `expired`, `bad_signature`, or `normal`.
    pub async fn set_mode(&self, client: &IdpClient, mode: &str) {
        let status = reqwest::Client::new()
            .post(format!("{}/__test/mode", self.issuer))
            .json(&serde_json::json!({ "clientId": client.client_id, "mode": mode }))
            .send()
            .await
            .expect("set IdP mode")
            .status();
        assert_eq!(status.as_u16(), 204);
    }
}
