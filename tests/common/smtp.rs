//! A real SMTP server for a test: `tests/smtp/server.py` (aiosmtpd) on 127.0.0.1, one per test, stopped when
//! dropped. It accepts every recipient but `transient-*` (451) and `reject-*` (550), and keeps each message as
//! a JSON file, decoded by Python's email package; [`SmtpServer::messages`] reads them.
//!
//! aiosmtpd is installed on first use when Python does not have it: into a folder of the target dir (pip's
//! `--target`, so no system or user site-packages is touched, and it works where the system Python refuses
//! `pip install`), found through `PYTHONPATH`.

use serde::Deserialize;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const AIOSMTPD: &str = "aiosmtpd==1.4.6";

/// One message as the server received it.
#[derive(Debug, Clone, Deserialize)]
pub struct Mail {
    pub mail_from: String,
    pub rcpt_tos: Vec<String>,
    /// Decoded and unfolded.
    pub headers: Vec<(String, String)>,
    pub parts: Vec<Part>,
    /// The message as sent (MIME, encoded).
    pub data: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Part {
    pub content_type: String,
    /// Decoded (quoted-printable, base64, charset).
    pub content: String,
}

impl Mail {
    /// The first header of that name (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The content of the first part of that type (`text/plain`, `text/html`).
    pub fn part(&self, content_type: &str) -> Option<&str> {
        self.parts.iter().find(|p| p.content_type == content_type).map(|p| p.content.as_str())
    }

    /// The one recipient of the envelope (the hub sends each recipient a message of their own).
    pub fn to(&self) -> &str {
        assert_eq!(self.rcpt_tos.len(), 1, "one recipient per message: {:?}", self.rcpt_tos);
        &self.rcpt_tos[0]
    }
}

pub struct SmtpServer {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    /// Starts a server on a free port and waits until it accepts connections.
    pub fn start() -> SmtpServer {
        let pythonpath = python_path();
        let dir = tempfile::tempdir().expect("tempdir");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/server.py");
        let mut cmd = Command::new("python3");
        cmd.arg(&script).arg("0").arg(dir.path().join("mail"));
        if let Some(p) = pythonpath {
            cmd.env("PYTHONPATH", p);
        }
        // stdin is the server's lifeline: it stops when the pipe closes, even if this process dies unannounced.
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 must be installed to run the email tests");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("stdout");
        BufReader::new(stdout).read_line(&mut line).expect("the SMTP server's first line");
        let port: u16 = match line.trim().parse() {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                panic!("the SMTP server did not start (it printed {line:?}; its errors are above)");
            }
        };
        let server = SmtpServer { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the SMTP server on port {port} does not accept connections");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    /// What `HUB_SMTP_URL` says to reach it.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// How many messages have been received so far (without reading them).
    pub fn count(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("mail")).map_or(0, |entries| {
            entries.filter_map(Result::ok).filter(|e| e.path().extension().is_some_and(|x| x == "json")).count()
        })
    }

    /// Every message received so far, in the order received.
    pub fn messages(&self) -> Vec<Mail> {
        let dir = self.dir.path().join("mail");
        let Ok(entries) = std::fs::read_dir(&dir) else { return Vec::new() };
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(f).expect("a message file");
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", f.display()))
            })
            .collect()
    }

    /// Waits until at least `n` messages have come or `within` has passed; returns them as they are then.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Mail> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.messages();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where aiosmtpd is, when Python does not have it itself: installed there once per target dir.
fn python_path() -> Option<PathBuf> {
    static PATH: OnceLock<Option<PathBuf>> = OnceLock::new();
    PATH.get_or_init(|| {
        let has = |path: Option<&Path>| {
            let mut cmd = Command::new("python3");
            cmd.args(["-c", "import aiosmtpd"]).stdout(Stdio::null()).stderr(Stdio::null());
            if let Some(p) = path {
                cmd.env("PYTHONPATH", p);
            }
            cmd.status().is_ok_and(|s| s.success())
        };
        if has(None) {
            return None;
        }
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-aiosmtpd-1.4.6");
        if !has(Some(&target)) {
            let status = Command::new("python3")
                .args(["-m", "pip", "install", "-q", "--disable-pip-version-check", "--target"])
                .arg(&target)
                .arg(AIOSMTPD)
                .status()
                .expect("python3 must be installed to run the email tests");
            assert!(status.success() && has(Some(&target)), "could not install {AIOSMTPD} with pip");
        }
        Some(target)
    })
    .clone()
}
