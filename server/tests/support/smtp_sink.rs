//! A test SMTP server (scripts/smtp_sink.py, aiosmtpd) shared by the test binaries.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// An SMTP server that files each message it receives as a `.eml` file.
pub struct SmtpSink {
    child: Child,
    pub port: u16,
    pub folder: tempfile::TempDir,
}

impl SmtpSink {
    pub fn start() -> Self {
        let python = std::env::var("LATCHKEY_TEST_PYTHON").unwrap_or_else(|_| {
            format!(
                "{}/.cache/latchkey/py/bin/python",
                std::env::var("HOME").unwrap_or_default()
            )
        });
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let folder = tempfile::tempdir().unwrap();
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/smtp_sink.py");
        let mut child = Command::new(&python)
            .args([script, &port.to_string(), folder.path().to_str().unwrap()])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {python} (scripts/setup.sh installs aiosmtpd): {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready", "SMTP sink did not start");
        Self { child, port, folder }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Message-IDs that arrived again after a copy was stored (the sink keeps one per id).
    pub fn duplicates(&self) -> Vec<String> {
        std::fs::read_to_string(self.folder.path().join("duplicates.txt"))
            .map(|text| text.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    /// The messages received so far, oldest first, as raw RFC 5322 text.
    pub fn messages(&self) -> Vec<String> {
        let mut paths: Vec<_> = std::fs::read_dir(self.folder.path())
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        paths.sort();
        paths.into_iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
