//! `pence serve` as a process, for the tests that run nodes as separate processes (crash
//! tests, several nodes on one database).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PENCE: &str = env!("CARGO_BIN_EXE_pence");

pub struct Node {
    pub child: Child,
    pub url: String,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `pence serve` on port 0 with the settings in `config`; the URL and, on a new database, the
/// key and service id.
pub fn start(db: &str, config: &std::path::Path) -> (Node, Vec<String>) {
    let mut child = Command::new(PENCE)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(["--database", db, "--config", config.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            let done = line.starts_with("Try:") || line.starts_with("Database:");
            lines.push(line);
            if done {
                break;
            }
        }
    }
    let url = lines
        .iter()
        .find_map(|l| l.strip_prefix("Pence is running at "))
        .unwrap_or_else(|| panic!("no URL in {lines:?}"))
        .to_string();
    (Node { child, url }, lines)
}

pub fn field(lines: &[String], prefix: &str) -> String {
    lines
        .iter()
        .find_map(|l| l.trim().strip_prefix(prefix).map(|s| s.trim().to_string()))
        .unwrap_or_else(|| panic!("no {prefix:?} in {lines:?}"))
}

pub fn pence(db: &str, args: &[&str]) -> String {
    let out = Command::new(PENCE)
        .args(args)
        .env("PENCE_DATABASE_URL", db)
        .env_remove("PENCE_CONFIG")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}
