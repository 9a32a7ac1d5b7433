//! `linevisor run` under a stand-in for systemd: a Unix datagram socket passed as NOTIFY_SOCKET
//! receives READY=1, WATCHDOG=1, RELOADING=1 and STOPPING=1 in order. One run also reads every
//! `[control]` key from its config: HTTPS with a certificate made here, tokens, journal.

#![cfg(unix)]

use std::io::{BufRead as _, BufReader};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills the instance if the test fails half-way.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("linevisor-sd-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// The service manager's end: collects notification datagrams.
struct Manager {
    socket: UnixDatagram,
    path: PathBuf,
    seen: Vec<String>,
}

impl Manager {
    fn new(dir: &Path) -> Self {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).expect("bind notify socket");
        // Only a guard against a hung child: every wait below ends on a message.
        socket
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        Self {
            socket,
            path,
            seen: Vec::new(),
        }
    }

    /// Receives until a datagram has a line equal to `want`; returns that datagram.
    fn wait_for(&mut self, want: &str) -> String {
        let mut buf = vec![0u8; 4096];
        loop {
            let n = self
                .socket
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("no {want} (got {:?}): {e}", self.seen));
            let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
            self.seen.push(msg.clone());
            if msg.lines().any(|l| l == want) {
                return msg;
            }
        }
    }
}

fn spawn(args: &[&str], manager: &Manager, dir: &Path) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_linevisor"))
        .args(args)
        .current_dir(dir)
        .env("NOTIFY_SOCKET", &manager.path)
        // 400 ms: pings every 200 ms.
        .env("WATCHDOG_USEC", "400000")
        .env_remove("WATCHDOG_PID")
        .env_remove("LINEVISOR_TOKENS_FILE")
        .env_remove("LINEVISOR_JOURNAL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn linevisor run");
    Running(child)
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill {sig} failed");
}

/// Waits for the exit and returns the status code and everything written on stderr.
fn finish(mut running: Running) -> (Option<i32>, String) {
    let mut err = String::new();
    if let Some(e) = running.0.stderr.take() {
        for line in BufReader::new(e).lines() {
            err.push_str(&line.unwrap_or_default());
            err.push('\n');
        }
    }
    let code = running.0.wait().expect("wait").code();
    (code, err)
}

#[test]
fn demo_line_notifies_ready_watchdog_and_stopping() {
    let dir = scratch("demo");
    let mut sd = Manager::new(&dir);
    let running = spawn(&["run", "--logs", "--listen", "127.0.0.1:0"], &sd, &dir);

    let ready = sd.wait_for("READY=1");
    // The demo's drive count is the demo's business; the shape of the line is ours.
    let status = ready
        .lines()
        .find(|l| l.starts_with("STATUS="))
        .unwrap_or("");
    assert!(status.starts_with("STATUS=line demo: "), "{ready}");
    assert!(status.contains(" drives on "), "{ready}");
    assert!(status.contains("; API on http://127.0.0.1:"), "{ready}");
    sd.wait_for("WATCHDOG=1");
    // No config file: SIGHUP is ignored (no RELOADING=1), and it must not kill the process.
    signal(&running.0, "-HUP");
    signal(&running.0, "-TERM");
    let stopping = sd.wait_for("STOPPING=1");
    assert!(
        stopping.contains("STATUS=line demo: stopping"),
        "{stopping}"
    );
    let (code, err) = finish(running);
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("SIGHUP ignored"), "{err}");
    assert!(
        !sd.seen.iter().any(|m| m.contains("RELOADING=1")),
        "{:?}",
        sd.seen
    );
    let order: Vec<&str> = sd
        .seen
        .iter()
        .filter_map(|m| m.lines().find(|l| *l == "READY=1" || *l == "STOPPING=1"))
        .collect();
    assert_eq!(order, ["READY=1", "STOPPING=1"]);
}

const LINE: &str = r#"
[line]
name = "secured"

[[bus]]
id = "sim"
type = "simulated"
protocol = "modbus"

[[drive]]
id = "axis-1"
bus = "sim"
address = 1
profile = { name = "linevisor-sim-servo", version = "1.0" }

[control]
listen = "127.0.0.1:0"
tokens_file = "secrets/tokens.toml"
tls_cert = "tls/gateway.crt"
tls_key = "tls/gateway.key"
journal = "var/journal.jsonl"
journal_max_bytes = 65536
journal_keep = 2
"#;

#[test]
fn control_keys_from_the_config_https_tokens_journal_and_reload() {
    let dir = scratch("secured");
    let conf = dir.join("conf");
    for sub in ["secrets", "tls", "var"] {
        std::fs::create_dir_all(conf.join(sub)).expect("dir");
    }
    std::fs::write(conf.join("line.toml"), LINE).expect("config");
    std::fs::write(
        conf.join("secrets/tokens.toml"),
        "[[token]]\nname = \"maint\"\nvalue = \"admin-token-0123456789\"\nrole = \"admin\"\n",
    )
    .expect("tokens");
    std::fs::set_permissions(
        conf.join("secrets/tokens.toml"),
        std::os::unix::fs::PermissionsExt::from_mode(0o640),
    )
    .expect("chmod");
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("cert");
    std::fs::write(conf.join("tls/gateway.crt"), ck.cert.pem()).expect("cert");
    std::fs::write(conf.join("tls/gateway.key"), ck.signing_key.serialize_pem()).expect("key");

    let mut sd = Manager::new(&dir);
    // Started from another folder: every [control] path is relative to the config file.
    let running = spawn(&["run", "--logs", "conf/line.toml"], &sd, &dir);
    let ready = sd.wait_for("READY=1");
    assert!(
        ready.contains("STATUS=line secured: 1 drive on 1 bus; API on https://127.0.0.1:"),
        "{ready}"
    );
    signal(&running.0, "-HUP");
    let reloading = sd.wait_for("RELOADING=1");
    assert!(reloading.contains("MONOTONIC_USEC="), "{reloading}");
    sd.wait_for("READY=1");
    signal(&running.0, "-TERM");
    sd.wait_for("STOPPING=1");
    let (code, err) = finish(running);
    assert_eq!(code, Some(0), "{err}");
    assert!(
        err.contains("linevisor: API on https://127.0.0.1:"),
        "{err}"
    );
    assert!(err.contains("SIGHUP: re-reading"), "{err}");
    let journal = std::fs::read_to_string(conf.join("var/journal.jsonl")).expect("journal");
    assert!(journal.contains("\"kind\":\"started\""), "{journal}");
    assert!(journal.contains("\"kind\":\"stopped\""), "{journal}");
}

#[test]
fn a_bad_certificate_refuses_to_start_before_ready() {
    let dir = scratch("badcert");
    std::fs::create_dir_all(dir.join("tls")).expect("dir");
    let text = LINE
        .replace("tokens_file = \"secrets/tokens.toml\"\n", "")
        .replace("journal = \"var/journal.jsonl\"\n", "")
        .replace("journal_max_bytes = 65536\njournal_keep = 2\n", "");
    std::fs::write(dir.join("line.toml"), text).expect("config");
    std::fs::write(dir.join("tls/gateway.crt"), "not a certificate\n").expect("cert");
    std::fs::write(dir.join("tls/gateway.key"), "not a key\n").expect("key");
    let mut sd = Manager::new(&dir);
    let running = spawn(&["run", "--logs", "line.toml"], &sd, &dir);
    let (code, err) = finish(running);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains("tls/gateway.crt: no certificate in PEM"),
        "{err}"
    );
    // Only the "starting" status went out, never READY=1.
    sd.socket.set_nonblocking(true).expect("nonblocking");
    let mut buf = [0u8; 4096];
    while let Ok(n) = sd.socket.recv(&mut buf) {
        sd.seen
            .push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(!sd.seen.is_empty(), "no STATUS= at all");
    assert!(
        sd.seen.iter().all(|m| !m.contains("READY=1")),
        "{:?}",
        sd.seen
    );
}

#[test]
fn an_unreachable_notify_socket_is_not_fatal() {
    let dir = scratch("nosocket");
    let child = Command::new(env!("CARGO_BIN_EXE_linevisor"))
        .args([
            "run",
            "--logs",
            "--listen",
            "127.0.0.1:0",
            "--duration",
            "1",
        ])
        .env("NOTIFY_SOCKET", dir.join("nobody-listens.sock"))
        .env_remove("WATCHDOG_USEC")
        .env_remove("LINEVISOR_TOKENS_FILE")
        .env_remove("LINEVISOR_JOURNAL")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let (code, err) = finish(Running(child));
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("cannot notify systemd"), "{err}");
}
